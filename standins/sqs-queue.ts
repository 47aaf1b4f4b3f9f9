/**
 * One standard SQS queue's semantics, apart from the wire: delays, visibility timeouts
 * (the 12-hour ceiling per receive), receive counts, redrive to a dead-letter queue after
 * maxReceiveCount receives, receipt handles that change on every receive, and retention.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { StandInClock } from './clock';

export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  /** Base64 on the JSON wire. */
  BinaryValue?: string;
}

export interface QueueInfo {
  name: string;
  url: string;
  arn: string;
  accountId: string;
  region: string;
}

export interface QueueSettings {
  visibilityTimeoutSeconds: number;
  delaySeconds: number;
  retentionSeconds: number;
  receiveWaitTimeSeconds: number;
  maximumMessageSize: number;
  /** Dead-letter queue ARN and maxReceiveCount. */
  redrive?: { deadLetterTargetArn: string; maxReceiveCount: number };
  /** What DeleteMessage does with a receipt handle older than the latest receive (SQS: "might not" delete). */
  staleHandleDelete: 'delete' | 'ignore';
}

export interface StoredMessage {
  id: string;
  body: string;
  md5OfBody: string;
  messageAttributes: Record<string, MessageAttributeValue>;
  md5OfMessageAttributes?: string;
  systemAttributes: Record<string, MessageAttributeValue>;
  md5OfMessageSystemAttributes?: string;
  senderId: string;
  sentAt: number;
  /** Clock ms from which receives may return it (delay, visibility timeout). */
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  /** The latest receive: its handle and when (for the 12 h ceiling). */
  receipt?: { handle: string; receivedAt: number };
  deadLetterSourceArn?: string;
}

export type MessageState = 'visible' | 'in-flight' | 'delayed';

export class SqsError extends Error {
  constructor(
    /** Shape name, e.g. `ReceiptHandleIsInvalid`; `__type` is `com.amazonaws.sqs#<code>`. */
    readonly code: string,
    message: string,
    /** The query-protocol code SQS sends in x-amzn-query-error. */
    readonly queryCode: string = code,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Max total visibility per receive: 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/** SQS's MD5 of message attributes: sorted names, each length-prefixed name, type, transport byte, value. */
export function md5OfAttributes(attrs: Record<string, MessageAttributeValue>): string | undefined {
  const names = Object.keys(attrs).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const lp = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, b);
  };
  for (const name of names) {
    const v = attrs[name];
    lp(Buffer.from(name, 'utf8'));
    lp(Buffer.from(v.DataType, 'utf8'));
    if (v.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      lp(Buffer.from(v.BinaryValue, 'base64'));
    } else {
      parts.push(Buffer.from([1]));
      lp(Buffer.from(v.StringValue ?? '', 'utf8'));
    }
  }
  return createHash('md5').update(Buffer.concat(parts)).digest('hex');
}

export class SqsQueue {
  readonly messages = new Map<string, StoredMessage>();
  readonly createdAt: number;
  lastModifiedAt: number;
  private waiters = new Set<() => void>();

  constructor(
    readonly info: QueueInfo,
    public settings: QueueSettings,
    private readonly clock: StandInClock,
  ) {
    this.createdAt = this.lastModifiedAt = clock.now();
  }

  stateOf(m: StoredMessage, now = this.clock.now()): MessageState {
    if (m.visibleAt <= now) return 'visible';
    return m.receipt ? 'in-flight' : 'delayed';
  }

  counts(now = this.clock.now()): Record<MessageState, number> {
    const c = { visible: 0, 'in-flight': 0, delayed: 0 };
    this.expire(now);
    for (const m of this.messages.values()) c[this.stateOf(m, now)]++;
    return c;
  }

  add(input: {
    body: string;
    delaySeconds?: number;
    messageAttributes?: Record<string, MessageAttributeValue>;
    systemAttributes?: Record<string, MessageAttributeValue>;
    senderId: string;
    /** Redrive keeps the message id and send time. */
    id?: string;
    sentAt?: number;
    deadLetterSourceArn?: string;
  }): StoredMessage {
    const delay = input.delaySeconds ?? this.settings.delaySeconds;
    if (!Number.isInteger(delay) || delay < 0 || delay > 900) {
      throw new SqsError('InvalidParameterValue', `Value ${delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.`);
    }
    const bytes = Buffer.byteLength(input.body) + attributesSize(input.messageAttributes ?? {});
    if (bytes > this.settings.maximumMessageSize) {
      throw new SqsError('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${this.settings.maximumMessageSize} bytes.`);
    }
    if (input.body.length === 0) throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.', 'MissingParameter');
    const now = this.clock.now();
    const messageAttributes = input.messageAttributes ?? {};
    const systemAttributes = input.systemAttributes ?? {};
    const m: StoredMessage = {
      id: input.id ?? randomUUID(),
      body: input.body,
      md5OfBody: createHash('md5').update(input.body, 'utf8').digest('hex'),
      messageAttributes,
      md5OfMessageAttributes: md5OfAttributes(messageAttributes),
      systemAttributes,
      md5OfMessageSystemAttributes: md5OfAttributes(systemAttributes),
      senderId: input.senderId,
      sentAt: input.sentAt ?? now,
      visibleAt: now + delay * 1000,
      receiveCount: 0,
      deadLetterSourceArn: input.deadLetterSourceArn,
    };
    this.messages.set(m.id, m);
    this.notify();
    return m;
  }

  /**
   * Up to `max` visible messages, each made invisible for `visibilitySeconds`. Messages past
   * maxReceiveCount go to `moveToDlq` instead. `leaveVisible` models SQS handing a message to
   * two receivers at once (at-least-once delivery).
   */
  receive(max: number, visibilitySeconds: number, moveToDlq: (m: StoredMessage) => void, leaveVisible = false): StoredMessage[] {
    const now = this.clock.now();
    this.expire(now);
    const out: StoredMessage[] = [];
    for (const m of this.messages.values()) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      const redrive = this.settings.redrive;
      if (redrive && m.receiveCount >= redrive.maxReceiveCount) {
        this.messages.delete(m.id);
        moveToDlq(m);
        continue;
      }
      m.receiveCount++;
      m.firstReceiveAt ??= now;
      m.receipt = { handle: this.newHandle(m.id), receivedAt: now };
      if (!leaveVisible) m.visibleAt = now + visibilitySeconds * 1000;
      out.push(m);
    }
    // Received messages go to the back, so a redelivered one does not starve the rest. Ones left
    // visible stay where they are: the receive after gets them again first, as a duplicate.
    if (leaveVisible) return out;
    for (const m of out) {
      this.messages.delete(m.id);
      this.messages.set(m.id, m);
    }
    return out;
  }

  /** The message a handle names; throws ReceiptHandleIsInvalid when it is not one of this queue's. */
  resolveHandle(handle: string): { id: string; message?: StoredMessage; current: boolean } {
    let parsed: { q?: unknown; m?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(handle, 'base64url').toString('utf8').slice(32)) as typeof parsed;
    } catch {
      parsed = {};
    }
    if (parsed.q !== this.info.arn || typeof parsed.m !== 'string') {
      throw new SqsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`);
    }
    const message = this.messages.get(parsed.m);
    return { id: parsed.m, message, current: message?.receipt?.handle === handle };
  }

  /** DeleteMessage: succeeds for gone messages, as SQS does. */
  delete(handle: string): boolean {
    const { message, current } = this.resolveHandle(handle);
    if (!message) return false;
    if (!current && this.settings.staleHandleDelete === 'ignore') return false;
    this.messages.delete(message.id);
    return true;
  }

  changeVisibility(handle: string, seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_VISIBILITY_SECONDS) {
      throw new SqsError('InvalidParameterValue', `Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200 seconds.`);
    }
    const { message, current } = this.resolveHandle(handle);
    const now = this.clock.now();
    if (!message) {
      throw new SqsError(
        'InvalidParameterValue',
        `Value ${handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
      );
    }
    if (!current) throw new SqsError('InvalidParameterValue', `Value ${handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`);
    if (message.visibleAt <= now) throw new SqsError('MessageNotInflight', 'The message referred to is not in flight.', 'AWS.SimpleQueueService.MessageNotInflight');
    const receivedAt = (message.receipt as { receivedAt: number }).receivedAt;
    // Whole seconds since the receive, as SQS counts them.
    if (Math.floor((now - receivedAt) / 1000) + seconds > MAX_VISIBILITY_SECONDS) {
      throw new SqsError(
        'InvalidParameterValue',
        `Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds].`,
      );
    }
    message.visibleAt = now + seconds * 1000;
    if (seconds === 0) this.notify();
  }

  purge(): void {
    this.messages.clear();
  }

  /** Earliest clock time a not-yet-visible message becomes visible. */
  nextVisibleAt(): number | undefined {
    let next: number | undefined;
    const now = this.clock.now();
    for (const m of this.messages.values()) if (m.visibleAt > now && (next === undefined || m.visibleAt < next)) next = m.visibleAt;
    return next;
  }

  /** Resolves on the next add or visibility reset (long polls wait on it). */
  changed(): { promise: Promise<void>; cancel: () => void } {
    let fire!: () => void;
    const promise = new Promise<void>((resolve) => (fire = resolve));
    this.waiters.add(fire);
    return { promise, cancel: () => this.waiters.delete(fire) };
  }

  notify(): void {
    const w = this.waiters;
    this.waiters = new Set();
    for (const f of w) f();
  }

  private expire(now: number): void {
    for (const m of this.messages.values()) if (now - m.sentAt > this.settings.retentionSeconds * 1000) this.messages.delete(m.id);
  }

  private newHandle(id: string): string {
    // Random lead so every receive yields a different handle, then what the handle names.
    return Buffer.from(randomBytes(24).toString('base64') + JSON.stringify({ q: this.info.arn, m: id })).toString('base64url');
  }
}

function attributesSize(attrs: Record<string, MessageAttributeValue>): number {
  let n = 0;
  for (const [k, v] of Object.entries(attrs)) n += Buffer.byteLength(k) + Buffer.byteLength(v.DataType) + Buffer.byteLength(v.StringValue ?? '') + Buffer.from(v.BinaryValue ?? '', 'base64').length;
  return n;
}
