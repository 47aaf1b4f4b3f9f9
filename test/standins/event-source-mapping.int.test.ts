import type { SQSEvent } from 'aws-lambda';
import { StandInClock } from '../../standins/clock';
import { startEventSourceMapping, type EventSourceMapping, type EventSourceMappingOptions } from '../../standins/event-source-mapping';
import { sleep } from '../../standins/http';
import { sqsEvent } from '../../standins/lambda';
import { CredentialRegistry } from '../../standins/sigv4';
import { startSqs, type SqsStandIn } from '../../standins/sqs';

describe('SQS event source mapping stand-in', () => {
  const registry = new CredentialRegistry();
  // 50 clock ms per real ms: a 20 s long poll takes 0.4 s, a 30 s visibility timeout 0.6 s.
  const clock = new StandInClock({ scale: 50 });
  let sqs: SqsStandIn;
  let esm: EventSourceMapping | undefined;

  const start = (o: Partial<EventSourceMappingOptions> & Pick<EventSourceMappingOptions, 'handler'>) =>
    (esm = startEventSourceMapping({ sqs, registry, queue: 'work', ...o }));

  beforeAll(async () => {
    sqs = await startSqs({ registry, clock, defaultRegion: 'eu-west-1', defaultAccountId: '111122223333' });
    sqs.createQueue('work-dlq');
    sqs.createQueue('work', { visibilityTimeoutSeconds: 30, deadLetter: { queue: 'work-dlq', maxReceiveCount: 3 } });
  });
  afterEach(async () => {
    await esm?.stop();
    esm = undefined;
    sqs.reset();
  });
  afterAll(() => sqs.close());

  it('delivers every message once, in Lambda SQS events, and deletes what succeeded', async () => {
    const sent = Array.from({ length: 25 }, (_, i) => sqs.sendMessage('work', `m${i}`, { messageAttributes: { n: { DataType: 'Number', StringValue: String(i) } } }).id);
    const events: SQSEvent[] = [];
    const m = start({ handler: async (e) => void events.push(e) });
    await m.drain();
    const records = events.flatMap((e) => e.Records);
    expect(records.map((r) => r.messageId).sort()).toEqual([...sent].sort());
    expect(Math.max(...events.map((e) => e.Records.length))).toBeLessThanOrEqual(10);
    const r = records.find((x) => x.body === 'm3');
    expect(r).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:111122223333:work',
      awsRegion: 'eu-west-1',
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: { n: { stringValue: '3', dataType: 'Number', stringListValues: [], binaryListValues: [] } },
    });
    expect(Object.keys(r?.attributes ?? {}).sort()).toEqual(['ApproximateFirstReceiveTimestamp', 'ApproximateReceiveCount', 'SenderId', 'SentTimestamp']);
    expect(typeof r?.receiptHandle).toBe('string');
    expect(r?.md5OfBody).toMatch(/^[0-9a-f]{32}$/);
    expect(m.invocations.every((i) => i.outcome === 'success')).toBe(true);
  });

  it('keeps only the batchItemFailures, which come back after the visibility timeout', async () => {
    const ids = ['a', 'b', 'c'].map((b) => sqs.sendMessage('work', b).id);
    const seen: Array<[string, string]> = [];
    const m = start({
      handler: async (e) => {
        for (const r of e.Records) seen.push([r.body, r.attributes.ApproximateReceiveCount]);
        return { batchItemFailures: e.Records.filter((r) => r.body === 'b' && r.attributes.ApproximateReceiveCount === '1').map((r) => ({ itemIdentifier: r.messageId })) };
      },
    });
    await m.drain();
    expect(seen.filter(([b]) => b === 'b').map(([, n]) => n)).toEqual(['1', '2']);
    expect(seen.filter(([b]) => b !== 'b').map(([, n]) => n)).toEqual(['1', '1']);
    expect(m.invocations.find((i) => i.outcome === 'partial')?.failedIds).toEqual([ids[1]]);
  });

  it('fails the whole batch on a throw or an invalid response; maxReceiveCount sends it to the dead-letter queue', async () => {
    sqs.sendMessage('work', 'poison');
    sqs.sendMessage('work', 'bad-id');
    const m = start({
      handler: async (e) => {
        if (e.Records.some((r) => r.body === 'poison')) throw new Error('cannot read object');
        return { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] };
      },
      batchSize: 1,
    });
    await m.waitFor(() => sqs.counts('work-dlq').total === 2 && sqs.counts('work').total === 0, { what: 'both in the DLQ' });
    expect(m.invocations.filter((i) => i.outcome === 'error')).toHaveLength(3);
    expect(m.invocations.filter((i) => i.outcome === 'invalid-response')).toHaveLength(3);
    expect(m.invocations.find((i) => i.outcome === 'error')?.error).toBe('Error: cannot read object');
    expect(sqs.messages('work-dlq').map((x) => x.body).sort()).toEqual(['bad-id', 'poison']);
  });

  it('times an invocation out at the function timeout, with a context that runs down', async () => {
    sqs.sendMessage('work', 'slow');
    const remaining: number[] = [];
    const m = start({
      functionTimeoutSeconds: 10,
      handler: async (_e, ctx) => {
        remaining.push(ctx.getRemainingTimeInMillis());
        if (remaining.length === 1) await sleep(400); // 20 s of clock time
      },
    });
    await m.drain();
    expect(m.invocations.map((i) => i.outcome)).toEqual(['timeout', 'success']);
    expect(remaining[0]).toBeLessThanOrEqual(10_000);
    expect(remaining[0]).toBeGreaterThan(5_000);
  });

  it('runs up to maximumConcurrency invocations at once', async () => {
    for (let i = 0; i < 12; i++) sqs.sendMessage('work', `c${i}`);
    const m = start({ maximumConcurrency: 4, batchSize: 1, handler: () => sleep(60) });
    await m.drain();
    expect(m.maxConcurrent()).toBeGreaterThanOrEqual(2);
    expect(m.maxConcurrent()).toBeLessThanOrEqual(4);
    expect(new Set(m.invocations.map((i) => i.poller)).size).toBeGreaterThan(1);
  });

  it('hands one batch to two concurrent invocations when asked, with different receipt handles', async () => {
    const handles = new Map<string, string[]>();
    const m = start({
      maximumConcurrency: 1,
      handler: async (e) => {
        for (const r of e.Records) handles.set(r.messageId, [...(handles.get(r.messageId) ?? []), r.receiptHandle]);
        await sleep(50);
      },
    });
    m.duplicateNextBatches(1);
    const id = sqs.sendMessage('work', 'dup').id;
    await m.drain();
    expect(handles.get(id)).toHaveLength(2);
    expect(new Set(handles.get(id)).size).toBe(2);
    const [a, b] = m.invocations;
    expect(b.duplicateOf).toBe(a.id);
    expect(b.receiveCounts).toEqual([2]);
    expect(b.startedAt).toBeLessThan(a.endedAt as number);
  });

  it('re-receives only the duplicated batch: other queued messages keep their receive counts and stay out of the dead-letter queue', async () => {
    // maxReceiveCount is 3: four duplicated batches would have pushed the rest past it.
    const sent = Array.from({ length: 12 }, (_, i) => sqs.sendMessage('work', `q${i}`).id);
    const m = start({ maximumConcurrency: 1, batchSize: 2, handler: () => sleep(20) });
    m.duplicateNextBatches(4);
    await m.drain();
    expect(sqs.counts('work-dlq').total).toBe(0);
    const duplicated = m.invocations.filter((i) => i.duplicateOf !== undefined);
    expect(duplicated).toHaveLength(4);
    for (const d of duplicated) expect(d.messageIds).toEqual(m.invocations.find((i) => i.id === d.duplicateOf)?.messageIds);
    // Each message was received once, and a duplicated one once more: never by a re-receive loop.
    const firsts = m.invocations.filter((i) => i.duplicateOf === undefined);
    expect(firsts.flatMap((i) => i.messageIds).sort()).toEqual([...sent].sort());
    expect(firsts.flatMap((i) => i.receiveCounts).every((n) => n === 1)).toBe(true);
    expect(duplicated.flatMap((i) => i.receiveCounts).every((n) => n === 2)).toBe(true);
  });

  it('gathers up to batchSize within the batching window', async () => {
    const m = start({ batchSize: 50, maximumBatchingWindowSeconds: 5, maximumConcurrency: 1, handler: async () => undefined });
    for (let i = 0; i < 25; i++) sqs.sendMessage('work', `w${i}`);
    await m.drain();
    expect(m.invocations.map((i) => i.messageIds.length)).toEqual([25]);
  });
});

describe('sqsEvent', () => {
  it('builds the same record shape for direct handler calls', () => {
    const e = sqsEvent(['{"a":1}', { body: 'x', attributes: { ApproximateReceiveCount: '3' } }], 'arn:aws:sqs:eu-west-1:111122223333:work');
    expect(e.Records[0]).toMatchObject({ body: '{"a":1}', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:eu-west-1:111122223333:work', awsRegion: 'eu-west-1', attributes: { ApproximateReceiveCount: '1' } });
    expect(e.Records[1].attributes.ApproximateReceiveCount).toBe('3');
    expect(e.Records[0].md5OfBody).toBe('bb6cb5c68df4652941caf652a366f2d8');
  });
});
