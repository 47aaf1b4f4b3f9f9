/**
 * Lambda's SQS event source mapping, locally: pollers long-poll the queue through the real
 * SQS client (SigV4 and all), gather a batch (batchSize, maximum batching window, 6 MB),
 * invoke the handler with the exact Lambda SQS event and a context whose remaining time
 * runs down from the function timeout, then delete what succeeded. With
 * ReportBatchItemFailures the ids in `batchItemFailures` stay; a throw, a timeout or an
 * invalid response leaves the whole batch, which reappears after the visibility timeout
 * (and reaches the dead-letter queue after maxReceiveCount, by the queue's own redrive).
 *
 * Time (batching window, function timeout) is the SQS stand-in's clock.
 */
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext, sqsRecord } from './lambda';
import { sleep } from './http';
import type { CredentialRegistry } from './sigv4';
import type { QueueInfo, SqsStandIn } from './sqs';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void | unknown>;

export interface EventSourceMappingOptions {
  sqs: SqsStandIn;
  /** Signs the pollers' requests (a key for the queue's account is made in it). */
  registry: CredentialRegistry;
  /** Queue name, URL or ARN. */
  queue: string;
  handler: SqsHandler;
  /** 1 … 10,000; default 10. */
  batchSize?: number;
  /** 0 … 300 s of gathering before invoking a partial batch; default 0. */
  maximumBatchingWindowSeconds?: number;
  /** Default 60 s (clock time). */
  functionTimeoutSeconds?: number;
  /** Default true, as the contract's stack sets it. */
  reportBatchItemFailures?: boolean;
  /** Concurrent poll-and-invoke loops (Lambda's MaximumConcurrency, 2 … 1000); default 2. */
  maximumConcurrency?: number;
  functionName?: string;
}

export type InvocationOutcome = 'success' | 'partial' | 'error' | 'timeout' | 'invalid-response';

export interface InvocationRecord {
  id: number;
  poller: number;
  messageIds: string[];
  receiveCounts: number[];
  /** Clock ms. */
  startedAt: number;
  endedAt?: number;
  outcome?: InvocationOutcome;
  /** Ids left on the queue (reported failures, or the whole batch). */
  failedIds: string[];
  /** Set when this invocation ran at the same time as a duplicate of its batch. */
  duplicateOf?: number;
  error?: string;
}

export interface EventSourceMapping {
  readonly queue: QueueInfo;
  readonly invocations: readonly InvocationRecord[];
  /** Invocations running now. */
  running(): number;
  /** Most invocations that ran at once. */
  maxConcurrent(): number;
  /** The next `times` batches go to two invocations at once (different receipt handles, as SQS can do). */
  duplicateNextBatches(times?: number): void;
  /** Resolve when the queue is empty (nothing visible, in flight or delayed) and no invocation runs. */
  drain(opts?: { timeoutMs?: number }): Promise<void>;
  /** Resolve when `condition` holds (checked every 10 real ms), or reject after `timeoutMs`. */
  waitFor(condition: () => boolean, opts?: { timeoutMs?: number; what?: string }): Promise<void>;
  /** Stop polling, abort long polls, wait for running invocations. */
  stop(): Promise<void>;
}

const MAX_PAYLOAD = 6 * 1024 * 1024;

function toRecord(m: Message, q: QueueInfo): SQSRecord {
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [k, v] of Object.entries(m.MessageAttributes ?? {})) {
    messageAttributes[k] = {
      stringValue: v.StringValue,
      binaryValue: v.BinaryValue === undefined ? undefined : Buffer.from(v.BinaryValue).toString('base64'),
      stringListValues: [],
      binaryListValues: [],
      dataType: v.DataType as string,
    };
  }
  return sqsRecord(
    {
      messageId: m.MessageId,
      receiptHandle: m.ReceiptHandle,
      body: m.Body as string,
      attributes: m.Attributes as unknown as SQSRecord['attributes'],
      messageAttributes,
      md5OfMessageAttributes: m.MD5OfMessageAttributes,
    },
    q.arn,
  );
}

/** Ids to keep per Lambda's rules, or undefined when the response makes the whole batch fail. */
function failedIdsOf(response: unknown, ids: readonly string[]): string[] | undefined {
  if (response === undefined || response === null) return [];
  if (typeof response !== 'object' || Array.isArray(response)) return undefined;
  const list = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) return undefined;
  const out: string[] = [];
  for (const f of list) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !ids.includes(id)) return undefined;
    out.push(id);
  }
  return out;
}

export function startEventSourceMapping(opts: EventSourceMappingOptions): EventSourceMapping {
  const { sqs } = opts;
  const clock = sqs.clock;
  const queue = sqs.queue(opts.queue);
  if (!queue) throw new Error(`no queue ${opts.queue}`);
  const batchSize = opts.batchSize ?? 10;
  const windowMs = (opts.maximumBatchingWindowSeconds ?? 0) * 1000;
  if (batchSize < 1 || batchSize > 10_000) throw new Error('batchSize must be 1 … 10000');
  if (batchSize > 10 && windowMs < 1000) throw new Error('batchSize over 10 needs maximumBatchingWindowSeconds ≥ 1, as Lambda requires');
  const timeoutMs = (opts.functionTimeoutSeconds ?? 60) * 1000;
  const reportFailures = opts.reportBatchItemFailures ?? true;
  const concurrency = opts.maximumConcurrency ?? 2;

  const key = opts.registry.createUser(queue.accountId, 'lambda-event-source-mapping');
  const client = new SQSClient({ region: queue.region, endpoint: sqs.url, credentials: key, maxAttempts: 3 });
  const stopping = new AbortController();
  const invocations: InvocationRecord[] = [];
  let running = 0;
  let maxConcurrent = 0;
  /** Batches still to duplicate; whether a duplicate fault waits in the stand-in; receives of a batch again under way. */
  let duplicates = 0;
  let armed = false;
  let receivingAgain = 0;
  let nextId = 1;

  async function receive(max: number, waitSeconds: number): Promise<Message[]> {
    const out = await client.send(
      new ReceiveMessageCommand({ QueueUrl: queue!.url, MaxNumberOfMessages: max, WaitTimeSeconds: waitSeconds, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] }),
      { abortSignal: stopping.signal },
    );
    return out.Messages ?? [];
  }

  async function gather(): Promise<Message[]> {
    const batch: Message[] = [];
    let bytes = 0;
    let windowEnd = Infinity;
    while (!stopping.signal.aborted && batch.length < batchSize) {
      const left = windowEnd - clock.now();
      if (batch.length > 0 && left <= 0) break;
      const wait = batch.length === 0 ? 20 : Math.min(20, Math.ceil(left / 1000));
      const got = await receive(Math.min(10, batchSize - batch.length), wait);
      for (const m of got) {
        bytes += Buffer.byteLength(m.Body ?? '');
        batch.push(m);
      }
      if (batch.length > 0 && windowEnd === Infinity) windowEnd = clock.now() + windowMs;
      if (batch.length > 0 && (windowMs === 0 || bytes >= MAX_PAYLOAD)) break;
    }
    return batch;
  }

  async function invoke(id: number, poller: number, batch: Message[], duplicateOf?: number): Promise<InvocationRecord> {
    const rec: InvocationRecord = {
      id,
      poller,
      messageIds: batch.map((m) => m.MessageId as string),
      receiveCounts: batch.map((m) => Number(m.Attributes?.ApproximateReceiveCount)),
      startedAt: clock.now(),
      failedIds: [],
      duplicateOf,
    };
    invocations.push(rec);
    running++;
    maxConcurrent = Math.max(maxConcurrent, running);
    const event: SQSEvent = { Records: batch.map((m) => toRecord(m, queue!)) };
    const context = lambdaContext(timeoutMs, opts.functionName ?? 's3-forwarder', () => clock.now());
    const timer = new AbortController();
    try {
      const result = await Promise.race([
        Promise.resolve().then(() => opts.handler(event, context)).then((value) => ({ value })),
        clock.sleep(timeoutMs, timer.signal).then(() => 'timeout' as const),
      ]);
      if (result === 'timeout') {
        rec.outcome = 'timeout';
        rec.failedIds = rec.messageIds;
      } else {
        const failed = reportFailures ? failedIdsOf(result.value, rec.messageIds) : [];
        rec.outcome = failed === undefined ? 'invalid-response' : failed.length > 0 ? 'partial' : 'success';
        rec.failedIds = failed ?? rec.messageIds;
      }
    } catch (err) {
      rec.outcome = 'error';
      rec.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      rec.failedIds = rec.messageIds;
    } finally {
      timer.abort();
    }
    const done = batch.filter((m) => !rec.failedIds.includes(m.MessageId as string));
    for (let i = 0; i < done.length; i += 10) {
      const entries = done.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle }));
      await client.send(new DeleteMessageBatchCommand({ QueueUrl: queue!.url, Entries: entries })).catch(() => undefined);
    }
    rec.endedAt = clock.now();
    running--;
    return rec;
  }

  /** One duplicate fault at a time, and none while a batch is being received again (that receive would take it). */
  function arm(): void {
    if (duplicates === 0 || armed || receivingAgain > 0) return;
    duplicates--;
    armed = true;
    sqs.injectFault({ kind: 'duplicate', operation: 'ReceiveMessage', queue: queue!.name, times: 1 });
  }

  /**
   * SQS left (part of) this batch visible (a duplicate fault): receive those again while the
   * first copy is in flight, asking for no more than are visible, so no other message is
   * received (and counted towards its maxReceiveCount) on the way.
   */
  async function receiveAgain(batch: Message[]): Promise<Message[]> {
    const ids = new Set(batch.map((m) => m.MessageId));
    const again: Message[] = [];
    const visibleCopies = () => sqs.messages(queue!.name).filter((m) => ids.has(m.id) && m.state === 'visible').length - again.length;
    if (visibleCopies() <= 0) return again;
    armed = false;
    receivingAgain++;
    try {
      for (let want = visibleCopies(); want > 0; want = visibleCopies()) {
        const got = await receive(Math.min(10, want), 0);
        again.push(...got.filter((m) => ids.has(m.MessageId)));
        const others = got.filter((m) => !ids.has(m.MessageId)).map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 }));
        if (others.length > 0) await client.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queue!.url, Entries: others }));
        // Another poller took them, or others came first: stop rather than cycle through the queue.
        if (got.length === 0 || others.length > 0) break;
      }
    } finally {
      receivingAgain--;
      arm();
    }
    return again;
  }

  async function poll(poller: number): Promise<void> {
    while (!stopping.signal.aborted) {
      try {
        const batch = await gather();
        if (batch.length === 0) continue;
        const again = await receiveAgain(batch);
        const firstId = nextId++;
        await Promise.all([invoke(firstId, poller, batch), again.length > 0 ? invoke(nextId++, poller, again, firstId) : undefined]);
      } catch {
        if (stopping.signal.aborted) return;
        await sleep(50); // SQS unreachable or faulted: Lambda's pollers back off and retry
      }
    }
  }

  const loops = Array.from({ length: concurrency }, (_, i) => poll(i + 1));

  const waitFor: EventSourceMapping['waitFor'] = async (condition, w = {}) => {
    const until = Date.now() + (w.timeoutMs ?? 20_000);
    while (!condition()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${w.what ?? 'condition'}; queue ${JSON.stringify(sqs.counts(queue.name))}, running ${running}`);
      await sleep(10);
    }
  };

  return {
    queue,
    invocations,
    running: () => running,
    maxConcurrent: () => maxConcurrent,
    duplicateNextBatches(times = 1) {
      duplicates += times;
      arm();
    },
    drain: (d = {}) => waitFor(() => running === 0 && sqs.counts(queue.name).total === 0, { timeoutMs: d.timeoutMs, what: 'the queue to drain' }),
    waitFor,
    async stop() {
      stopping.abort();
      sqs.endLongPolls(key.accessKeyId);
      await Promise.allSettled(loops); // running invocations finish and delete what they did
      // Then its key goes, so a long poll still on its way to the stand-in receives nothing.
      opts.registry.remove(key.accessKeyId);
      client.destroy();
    },
  };
}
