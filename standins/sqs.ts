/**
 * Amazon SQS (standard queues) over AWS JSON 1.0 with `X-Amz-Target: AmazonSQS.<Op>`, as
 * @aws-sdk/client-sqs speaks it, SigV4 checked, IAM actions per key. Errors carry both the
 * JSON `__type` and the query-compatible `x-amzn-query-error` header real SQS sends.
 *
 * Time comes from a StandInClock, so tests can run visibility timeouts and delays fast
 * (`new StandInClock({ scale: 100 })`) or jump them (`clock.advance(ms)`).
 */
import { AwsError, createJsonService, type JsonCall, type JsonOperation } from './aws-json';
import { StandInClock } from './clock';
import { FaultQueue } from './fault-queue';
import { closeServer, listenLoopback, sleep } from './http';
import type { CredentialRegistry } from './sigv4';
import { SqsError, SqsQueue, type MessageAttributeValue, type MessageState, type QueueInfo, type QueueSettings, type StoredMessage } from './sqs-queue';
import { receiveOutput, type ReceiveFilter } from './sqs-receive';

export { md5OfAttributes, SqsError, type MessageAttributeValue, type QueueInfo, type StoredMessage } from './sqs-queue';

export type SqsOperation =
  | 'GetQueueUrl' | 'GetQueueAttributes' | 'SendMessage' | 'SendMessageBatch' | 'ReceiveMessage'
  | 'DeleteMessage' | 'DeleteMessageBatch' | 'ChangeMessageVisibility' | 'ChangeMessageVisibilityBatch' | 'PurgeQueue';

export type SqsFault =
  | { kind: 'internal'; status?: 500 | 503 }
  | { kind: 'delay'; ms: number }
  /** The next ReceiveMessage that returns messages leaves them visible: the receive after gets them again. */
  | { kind: 'duplicate' };

export interface SqsFaultTarget {
  times?: number;
  operation?: SqsOperation;
  /** Queue name. */
  queue?: string;
}

export interface CreateQueueOptions {
  region?: string;
  accountId?: string;
  visibilityTimeoutSeconds?: number;
  delaySeconds?: number;
  /** Default 4 days, as SQS. */
  retentionSeconds?: number;
  receiveWaitTimeSeconds?: number;
  /** Dead-letter queue (name or ARN of a queue created before) and maxReceiveCount. */
  deadLetter?: { queue: string; maxReceiveCount: number };
  staleHandleDelete?: QueueSettings['staleHandleDelete'];
}

export interface QueuedMessage extends StoredMessage {
  state: MessageState;
}

export interface SqsStats {
  requests: number;
  operations: Partial<Record<SqsOperation, number>>;
  sent: number;
  received: number;
  deleted: number;
  movedToDeadLetter: number;
  emptyReceives: number;
  faultsApplied: number;
}

export interface SqsStandIn {
  url: string;
  clock: StandInClock;
  createQueue(name: string, opts?: CreateQueueOptions): QueueInfo;
  /** By name, URL or ARN. */
  queue(ref: string): QueueInfo | undefined;
  /** Send directly (no SigV4), e.g. a notification S3 would send. */
  sendMessage(queue: string, body: string, opts?: { delaySeconds?: number; messageAttributes?: Record<string, MessageAttributeValue> }): QueuedMessage;
  /** Every message with its state, in queue order. */
  messages(queue: string): QueuedMessage[];
  counts(queue: string): Record<MessageState, number> & { total: number };
  purge(queue: string): void;
  injectFault(fault: SqsFault & SqsFaultTarget): void;
  pendingFaults(): number;
  clearFaults(): void;
  stats(): SqsStats;
  resetStats(): void;
  /**
   * End waiting ReceiveMessage calls (of one key, or all) with no messages, at once. A client
   * that aborts its long poll closes the socket only a little later; a poller that stops calls this
   * so no message goes to a receiver that is no longer there.
   */
  endLongPolls(accessKeyId?: string): void;
  /** Empty every queue; faults and stats cleared. */
  reset(): void;
  close(): Promise<void>;
}

export interface SqsOptions {
  registry: CredentialRegistry;
  clock?: StandInClock;
  defaultRegion?: string;
  defaultAccountId?: string;
}

const emptyStats = (): SqsStats => ({ requests: 0, operations: {}, sent: 0, received: 0, deleted: 0, movedToDeadLetter: 0, emptyReceives: 0, faultsApplied: 0 });

export async function startSqs(opts: SqsOptions): Promise<SqsStandIn> {
  const clock = opts.clock ?? new StandInClock();
  const queues = new Map<string, SqsQueue>(); // by ARN
  const faults = new FaultQueue<SqsFault & SqsFaultTarget>();
  let stats = emptyStats();
  let baseUrl = '';
  const lastPurge = new Map<string, number>();
  const longPolls = new Set<{ accessKeyId: string; end: () => void }>();

  const find = (ref: string): SqsQueue | undefined => {
    if (queues.has(ref)) return queues.get(ref);
    for (const q of queues.values()) if (q.info.url === ref || q.info.name === ref) return q;
    return undefined;
  };
  const must = (ref: string) => {
    const q = find(ref);
    if (!q) throw new Error(`no queue ${ref}`);
    return q;
  };
  const toAws = (e: SqsError) =>
    new AwsError(`com.amazonaws.sqs#${e.code}`, e.message, e.status, { 'x-amzn-query-error': `${e.queryCode};Sender` });
  const noQueue = () => toAws(new SqsError('QueueDoesNotExist', 'The specified queue does not exist.', 'AWS.SimpleQueueService.NonExistentQueue'));

  function queueOf(call: JsonCall): SqsQueue {
    const url = call.input.QueueUrl;
    if (typeof url !== 'string') throw toAws(new SqsError('MissingParameter', 'The request must contain the parameter QueueUrl.', 'MissingParameter'));
    const q = [...queues.values()].find((x) => x.info.url === url);
    if (!q || q.info.region !== call.region) throw noQueue();
    return q;
  }

  /** `duplicate` faults wait for a receive that returns messages; the rest apply to the next matching request. */
  function takeFault(operation: SqsOperation, queue: string | undefined, duplicate = false): SqsFault | undefined {
    const f = faults.take((f) => (f.kind === 'duplicate') === duplicate && (!f.operation || f.operation === operation) && (!f.queue || f.queue === queue));
    if (f) stats.faultsApplied++;
    return f;
  }

  function moveToDlq(from: SqsQueue) {
    return (m: StoredMessage) => {
      const dlq = queues.get(from.settings.redrive?.deadLetterTargetArn ?? '');
      if (!dlq) return; // createQueue only accepts an existing dead-letter queue
      dlq.add({ body: m.body, messageAttributes: m.messageAttributes, systemAttributes: m.systemAttributes, senderId: m.senderId, id: m.id, sentAt: m.sentAt, delaySeconds: 0, deadLetterSourceArn: from.info.arn });
      stats.movedToDeadLetter++;
    };
  }

  const wrap = (e: unknown) => (e instanceof SqsError ? toAws(e) : e);
  const send = (q: SqsQueue, entry: Record<string, unknown>, senderId: string) => {
    const m = q.add({
      body: String(entry.MessageBody ?? ''),
      delaySeconds: entry.DelaySeconds as number | undefined,
      messageAttributes: entry.MessageAttributes as Record<string, MessageAttributeValue> | undefined,
      systemAttributes: entry.MessageSystemAttributes as Record<string, MessageAttributeValue> | undefined,
      senderId,
    });
    stats.sent++;
    return { MessageId: m.id, MD5OfMessageBody: m.md5OfBody, MD5OfMessageAttributes: m.md5OfMessageAttributes, MD5OfMessageSystemAttributes: m.md5OfMessageSystemAttributes };
  };
  function batch<T>(entries: unknown, each: (e: Record<string, unknown>) => T): { Successful: Array<T & { Id: string }>; Failed: unknown[] } {
    if (!Array.isArray(entries) || entries.length === 0) throw toAws(new SqsError('EmptyBatchRequest', 'There should be at least one entry in the request.', 'AWS.SimpleQueueService.EmptyBatchRequest'));
    if (entries.length > 10) throw toAws(new SqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`, 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest'));
    const ids = entries.map((e: { Id?: unknown }) => e.Id);
    if (new Set(ids).size !== ids.length) throw toAws(new SqsError('BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.', 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct'));
    const Successful: Array<T & { Id: string }> = [];
    const Failed: unknown[] = [];
    for (const e of entries as Array<Record<string, unknown>>) {
      try {
        Successful.push({ Id: String(e.Id), ...each(e) });
      } catch (err) {
        if (!(err instanceof SqsError)) throw err;
        Failed.push({ Id: String(e.Id), SenderFault: true, Code: err.queryCode, Message: err.message });
      }
    }
    return { Successful, Failed };
  }

  async function receiveMessage(call: JsonCall, q: SqsQueue): Promise<unknown> {
    const i = call.input;
    const max = (i.MaxNumberOfMessages as number | undefined) ?? 1;
    if (!Number.isInteger(max) || max < 1 || max > 10) {
      throw toAws(new SqsError('InvalidParameterValue', `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`));
    }
    const wait = (i.WaitTimeSeconds as number | undefined) ?? q.settings.receiveWaitTimeSeconds;
    if (!Number.isInteger(wait) || wait < 0 || wait > 20) {
      throw toAws(new SqsError('InvalidParameterValue', `Value ${wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.`));
    }
    const visibility = (i.VisibilityTimeout as number | undefined) ?? q.settings.visibilityTimeoutSeconds;
    if (!Number.isInteger(visibility) || visibility < 0 || visibility > 43_200) {
      throw toAws(new SqsError('InvalidParameterValue', `Value ${visibility} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200 seconds.`));
    }
    const deadline = clock.now() + wait * 1000;
    const gone = new AbortController();
    call.res.once('close', () => gone.abort());
    const poll = { accessKeyId: call.principal.accessKeyId, end: () => gone.abort() };
    longPolls.add(poll);
    call.res.once('close', () => longPolls.delete(poll));
    for (;;) {
      // A receiver that hung up (or whose key was deleted meanwhile) gets nothing: no message may vanish into a dead socket.
      if (gone.signal.aborted || call.req.socket.destroyed || !opts.registry.get(call.principal.accessKeyId)) return {};
      const duplicate = faults.pending() > 0 && q.counts().visible > 0 && takeFault('ReceiveMessage', q.info.name, true) !== undefined;
      const got = q.receive(max, visibility, moveToDlq(q), duplicate);
      if (got.length > 0 || clock.now() >= deadline) {
        stats.received += got.length;
        if (got.length === 0) stats.emptyReceives++;
        return receiveOutput(got, i as ReceiveFilter);
      }
      const change = q.changed();
      const timer = new AbortController();
      const onGone = () => timer.abort();
      gone.signal.addEventListener('abort', onGone, { once: true });
      await Promise.race([change.promise, clock.sleepUntil(Math.min(deadline, q.nextVisibleAt() ?? Infinity), timer.signal)]);
      change.cancel();
      timer.abort();
      gone.signal.removeEventListener('abort', onGone);
    }
  }

  const op = (action: string, fn: (call: JsonCall, q: SqsQueue) => unknown): JsonOperation => ({
    action,
    async handle(call) {
      const name = call.operation as SqsOperation;
      stats.operations[name] = (stats.operations[name] ?? 0) + 1;
      const q = name === 'GetQueueUrl' ? (undefined as unknown as SqsQueue) : queueOf(call);
      const fault = takeFault(name, q?.info.name);
      if (fault?.kind === 'delay') await sleep(fault.ms);
      if (fault?.kind === 'internal') throw new AwsError('InternalFailure', 'We encountered an internal error. Please try again.', fault.status ?? 500);
      try {
        return await fn(call, q);
      } catch (e) {
        throw wrap(e);
      }
    },
  });

  const server = createJsonService({
    registry: opts.registry,
    signingName: 'sqs',
    targetPrefix: 'AmazonSQS',
    jsonVersion: '1.0',
    onRequest: () => stats.requests++,
    operations: {
      GetQueueUrl: op('sqs:GetQueueUrl', (call) => {
        const owner = (call.input.QueueOwnerAWSAccountId as string | undefined) ?? call.principal.accountId;
        const q = [...queues.values()].find((x) => x.info.name === call.input.QueueName && x.info.accountId === owner && x.info.region === call.region);
        if (!q) throw noQueue();
        return { QueueUrl: q.info.url };
      }),
      SendMessage: op('sqs:SendMessage', (call, q) => send(q, call.input, call.principal.userId)),
      SendMessageBatch: op('sqs:SendMessage', (call, q) => batch(call.input.Entries, (e) => send(q, e, call.principal.userId))),
      ReceiveMessage: op('sqs:ReceiveMessage', receiveMessage),
      DeleteMessage: op('sqs:DeleteMessage', (call, q) => {
        if (q.delete(String(call.input.ReceiptHandle))) stats.deleted++;
        return {};
      }),
      DeleteMessageBatch: op('sqs:DeleteMessage', (call, q) =>
        batch(call.input.Entries, (e) => {
          if (q.delete(String(e.ReceiptHandle))) stats.deleted++;
          return {};
        }),
      ),
      ChangeMessageVisibility: op('sqs:ChangeMessageVisibility', (call, q) => {
        q.changeVisibility(String(call.input.ReceiptHandle), call.input.VisibilityTimeout as number);
        return {};
      }),
      ChangeMessageVisibilityBatch: op('sqs:ChangeMessageVisibility', (call, q) =>
        batch(call.input.Entries, (e) => {
          q.changeVisibility(String(e.ReceiptHandle), e.VisibilityTimeout as number);
          return {};
        }),
      ),
      GetQueueAttributes: op('sqs:GetQueueAttributes', (call, q) => ({ Attributes: queueAttributes(q, call.input.AttributeNames as string[] | undefined) })),
      PurgeQueue: op('sqs:PurgeQueue', (_call, q) => {
        const last = lastPurge.get(q.info.arn);
        if (last !== undefined && clock.now() - last < 60_000) {
          throw new SqsError('PurgeQueueInProgress', `Only one PurgeQueue operation on ${q.info.name} is allowed every 60 seconds.`, 'AWS.SimpleQueueService.PurgeQueueInProgress', 403);
        }
        lastPurge.set(q.info.arn, clock.now());
        q.purge();
        return {};
      }),
    },
  });
  const port = await listenLoopback(server);
  baseUrl = `http://127.0.0.1:${port}`;

  const resetStats = () => void (stats = emptyStats());
  const withState = (q: SqsQueue) => (m: StoredMessage): QueuedMessage => ({ ...m, state: q.stateOf(m) });

  return {
    url: baseUrl,
    clock,
    createQueue(name, c = {}) {
      const region = c.region ?? opts.defaultRegion ?? 'us-east-1';
      const accountId = c.accountId ?? opts.defaultAccountId ?? '111122223333';
      const arn = `arn:aws:sqs:${region}:${accountId}:${name}`;
      if (queues.has(arn)) throw new Error(`queue ${arn} exists`);
      if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) throw new Error(`invalid queue name ${name}`);
      let redrive: QueueSettings['redrive'];
      if (c.deadLetter) {
        const dlq = must(c.deadLetter.queue);
        redrive = { deadLetterTargetArn: dlq.info.arn, maxReceiveCount: c.deadLetter.maxReceiveCount };
      }
      const info: QueueInfo = { name, arn, region, accountId, url: `${baseUrl}/${accountId}/${name}` };
      queues.set(
        arn,
        new SqsQueue(info, {
          visibilityTimeoutSeconds: c.visibilityTimeoutSeconds ?? 30,
          delaySeconds: c.delaySeconds ?? 0,
          retentionSeconds: c.retentionSeconds ?? 345_600,
          receiveWaitTimeSeconds: c.receiveWaitTimeSeconds ?? 0,
          maximumMessageSize: 1_048_576,
          redrive,
          staleHandleDelete: c.staleHandleDelete ?? 'delete',
        }, clock),
      );
      return info;
    },
    queue: (ref) => find(ref)?.info,
    sendMessage(queue, body, s = {}) {
      const q = must(queue);
      const m = q.add({ body, delaySeconds: s.delaySeconds, messageAttributes: s.messageAttributes, senderId: 'AIDASTANDIN' });
      stats.sent++;
      return withState(q)(m);
    },
    messages: (queue) => {
      const q = must(queue);
      return [...q.messages.values()].map(withState(q));
    },
    counts(queue) {
      const c = must(queue).counts();
      return { ...c, total: c.visible + c['in-flight'] + c.delayed };
    },
    purge: (queue) => must(queue).purge(),
    endLongPolls(accessKeyId) {
      for (const p of longPolls) if (accessKeyId === undefined || p.accessKeyId === accessKeyId) p.end();
    },
    injectFault: (fault) => faults.inject(fault),
    pendingFaults: () => faults.pending(),
    clearFaults: () => faults.clear(),
    stats: () => structuredClone(stats),
    resetStats,
    reset() {
      for (const q of queues.values()) q.purge();
      lastPurge.clear();
      faults.clear();
      resetStats();
    },
    close: () => closeServer(server),
  };
}

function queueAttributes(q: SqsQueue, names: string[] = []): Record<string, string> {
  const c = q.counts();
  const s = q.settings;
  const all: Record<string, string | undefined> = {
    QueueArn: q.info.arn,
    ApproximateNumberOfMessages: String(c.visible),
    ApproximateNumberOfMessagesNotVisible: String(c['in-flight']),
    ApproximateNumberOfMessagesDelayed: String(c.delayed),
    CreatedTimestamp: String(Math.floor(q.createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(q.lastModifiedAt / 1000)),
    VisibilityTimeout: String(s.visibilityTimeoutSeconds),
    MaximumMessageSize: String(s.maximumMessageSize),
    MessageRetentionPeriod: String(s.retentionSeconds),
    DelaySeconds: String(s.delaySeconds),
    ReceiveMessageWaitTimeSeconds: String(s.receiveWaitTimeSeconds),
    RedrivePolicy: s.redrive && JSON.stringify(s.redrive),
    SqsManagedSseEnabled: 'true',
  };
  const want = names.includes('All') ? Object.keys(all) : names;
  return Object.fromEntries(want.filter((n) => all[n] !== undefined).map((n) => [n, all[n] as string]));
}
