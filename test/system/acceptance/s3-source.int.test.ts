/**
 * Acceptance, contract "Second source: trail files in S3", black box: functions/s3-forwarder/
 * handler.ts on SQS events (direct, and through the event source mapping stand-in with the queue
 * the contract names: visibility 6x the function timeout, maxReceiveCount 5), new trail files.
 */
import { gzipSync } from 'node:zlib';
import {
  StandInClock, cloudTrailSnsMessage, eventBridgeObjectCreated, insightRecords, lambdaContext, packTrailFile, s3EventMessage, s3EventRecord, s3TestEvent,
  snsWrappedS3Event, sqsRecord, startEventSourceMapping, trailLogKey, type CloudTrailRecord, type ObjectCreated, type StandIns, type TrailFile,
} from '../../../standins';
import { useStandIns } from '../../helpers/standins';
import { coldHandler, newRecords, uniqueName, withEnv, withLogs } from './support';

jest.setTimeout(60_000);

const clock = new StandInClock();
const env = useStandIns({ region: 'us-east-1', putDefaultSecret: false, sqsClock: clock });
let s: StandIns;
const BUCKET = 'acc-org-trail';
const PREFIX = 'acc trail+x';
const ORG = 'o-acc0123456';
const ACCOUNTS = ['210987654321', '123412341234'];
beforeAll(() => {
  s = env();
  s.s3.createBucket(BUCKET);
});

let queueSeq = 0;
/** A fresh connector (dnif only: the function role reads the bucket) and a queue set up as the stack does. */
function fresh(functionTimeoutSeconds = 60): { name: string; queue: string; dlq: string; arn: string } {
  s.reset();
  const name = uniqueName('s3');
  // The contract leaves open whether awsRegion is needed by this source; we keep it (the base schema lists it).
  const { awsAccessKeyId: _a, awsSecretAccessKey: _b, ...rest } = s.connector({ connectorName: name });
  s.putConnectorSecret(rest);
  const queue = `acc-files-${++queueSeq}`;
  const dlq = `${queue}-dlq`;
  s.sqs.createQueue(dlq);
  const info = s.sqs.createQueue(queue, { visibilityTimeoutSeconds: 6 * functionTimeoutSeconds, deadLetter: { queue: dlq, maxReceiveCount: 5 } });
  return { name, queue, dlq, arn: info.arn };
}

/** Trail files for the accounts, new records; one lacks recipientAccountId; an Insight file without eventName. */
function trailFiles(opts: { base?: number; perFile?: number } = {}): TrailFile[] {
  const base = opts.base ?? Date.UTC(2026, 10, 30, 9, 0, 0);
  const files: TrailFile[] = [];
  for (const [i, accountId] of ACCOUNTS.entries()) {
    for (const region of ['us-east-1', 'ap-northeast-1']) {
      const recs = newRecords(opts.perFile ?? 6, base + i * 60_000, base + i * 60_000 + 240_000, region, accountId);
      if (region === 'ap-northeast-1') delete (recs[0] as { recipientAccountId?: string }).recipientAccountId;
      const key = trailLogKey({ prefix: PREFIX, orgId: ORG, accountId, region, time: new Date(base + 300_000 + i * 60_000) });
      files.push(packTrailFile(key, accountId, region, recs));
    }
    const at = new Date(base + 600_000);
    const key = trailLogKey({ prefix: PREFIX, orgId: ORG, accountId, region: 'us-east-1', time: at, kind: 'CloudTrail-Insight' });
    files.push(packTrailFile(key, accountId, 'us-east-1', insightRecords(accountId, 'us-east-1', at), 'CloudTrail-Insight'));
  }
  return files;
}

/** Store files; returns what S3 would notify for each. */
function put(files: Array<{ key: string; body: Buffer | string }>): ObjectCreated[] {
  const created: ObjectCreated[] = [];
  const stop = s.s3.onObjectCreated((e) => created.push(e));
  for (const f of files) s.s3.putObject(BUCKET, f.key, f.body, { contentType: 'application/json', contentEncoding: 'gzip' });
  stop();
  return created;
}

const invoke = (arn: string, bodies: string[], ids?: string[]) =>
  withLogs(() =>
    coldHandler('s3Forwarder')({ Records: bodies.map((body, i) => sqsRecord({ body, messageId: ids?.[i] }, arn)) }, lambdaContext(60_000, 's3-forwarder')),
  );

/** Every body handed on to `queue` becomes the next invocation, until nothing is handed on. */
async function untilQuiet(q: { queue: string; arn: string }, first: string[]): Promise<{ failures: string[] }> {
  let bodies = first;
  const failures: string[] = [];
  for (let round = 0; round < 10 && bodies.length > 0; round++) {
    const ids = bodies.map((_, i) => `m-${round}-${i}`);
    const out = await invoke(q.arn, bodies, ids);
    if (out.error) throw out.error;
    failures.push(...(out.result as { batchItemFailures: Array<{ itemIdentifier: string }> }).batchItemFailures.map((f) => f.itemIdentifier));
    bodies = s.sqs.messages(q.queue).map((m) => m.body);
    s.sqs.purge(q.queue);
  }
  return { failures };
}

function expectDeliveredOnce(files: TrailFile[]): void {
  const expected = files.flatMap((f) => f.records.map((r) => ({ r, f })));
  const received = s.dnif.events();
  expect(received.map((e) => e.eventID).sort()).toEqual(expected.map((x) => x.r.eventID).sort());
  expect(s.dnif.duplicates).toBe(0);
  const byId = new Map(expected.map((x) => [x.r.eventID, x]));
  for (const e of received) {
    const { dnifForwarder, ...record } = e;
    const x = byId.get(String(e.eventID));
    if (!x) throw new Error('unexpected event');
    expect(record).toEqual(x.r);
    expect(dnifForwarder).toMatchObject({
      source: 's3',
      s3: { bucket: BUCKET, key: x.f.key },
      eventId: x.r.eventID,
      region: (x.r as CloudTrailRecord).awsRegion,
      accountId: (x.r as CloudTrailRecord).recipientAccountId ?? x.f.accountId,
      connectorName: expect.any(String),
      forwardedAt: expect.any(String),
    });
  }
}

describe('acceptance: S3 trail files source', () => {
  it('every message shape; keys URL-decoded (+ = space, %2B = +); CloudTrail and CloudTrail-Insight forwarded; digests, other keys, TestEvent, non-create events acknowledged', async () => {
    const q = fresh();
    const files = trailFiles();
    // A unicode prefix, a ~300 KB record, an empty file.
    const uni = trailLogKey({ prefix: 'dnif/ünï côde', accountId: ACCOUNTS[1], region: 'eu-north-1', time: new Date(Date.UTC(2026, 10, 30, 9, 30)) });
    const big = newRecords(3, Date.UTC(2026, 10, 30, 9, 20), Date.UTC(2026, 10, 30, 9, 25), 'eu-north-1', ACCOUNTS[1]);
    (big[1] as unknown as Record<string, unknown>).requestParameters = { document: 'é🚀'.repeat(100_000) };
    files.push(packTrailFile(uni, ACCOUNTS[1], 'eu-north-1', big));
    const emptyKey = trailLogKey({ prefix: PREFIX, orgId: ORG, accountId: ACCOUNTS[1], region: 'eu-north-1', time: new Date(Date.UTC(2026, 10, 30, 9, 35)) });
    files.push(packTrailFile(emptyKey, ACCOUNTS[1], 'eu-north-1', []));
    const created = put(files);
    const digestKey = `${PREFIX}/AWSLogs/${ORG}/${ACCOUNTS[0]}/CloudTrail-Digest/us-east-1/2026/11/30/${ACCOUNTS[0]}_CloudTrail-Digest_us-east-1_org_us-east-1_20261130T100000Z.json.gz`;
    const [digest, other, notGz] = put([
      { key: digestKey, body: gzipSync('{}') },
      { key: `${PREFIX}/AWSLogs/${ORG}/${ACCOUNTS[0]}/notes/readme.json.gz`, body: gzipSync('{"Records":[{"eventID":"x"}]}') },
      { key: `${PREFIX}/AWSLogs/${ORG}/${ACCOUNTS[0]}/CloudTrail/us-east-1/2026/11/30/file.json`, body: '{"Records":[{"eventID":"y"}]}' },
    ]);
    const shapes = [
      (e: ObjectCreated) => s3EventMessage(e),
      (e: ObjectCreated) => snsWrappedS3Event(e),
      (e: ObjectCreated) => eventBridgeObjectCreated(e),
      (e: ObjectCreated) => eventBridgeObjectCreated(e, { encodeKey: true }),
    ];
    const bodies = created.slice(4).map((e, i) => shapes[i % shapes.length](e));
    // One S3 notification naming two objects (Records is a list).
    bodies.push(s3EventMessage([created[2], created[3]]));
    // CloudTrail's own SNS notification naming the first two files (s3ObjectKey is a list).
    bodies.push(cloudTrailSnsMessage(BUCKET, [created[0].object.key, created[1].object.key]));
    bodies.push(s3EventMessage(digest), snsWrappedS3Event(other), s3EventMessage(notGz), s3TestEvent(BUCKET));
    bodies.push(JSON.stringify({ Records: [s3EventRecord({ ...created[1], eventName: 'ObjectRemoved:Delete' } as never)] }));
    const { failures } = await untilQuiet(q, bodies);
    expect(failures).toEqual([]);
    expectDeliveredOnce(files);
    // Insight records carry no eventName; they are forwarded as they are.
    expect(s.dnif.events().some((e) => e.eventCategory === 'Insight' && !('eventName' in e))).toBe(true);
  });

  it('the same message twice, and to two invocations at once, sends nothing twice', async () => {
    const q = fresh();
    const files = trailFiles({ base: Date.UTC(2026, 10, 30, 11, 0, 0) });
    const bodies = put(files).map((e) => s3EventMessage(e));
    const both = await Promise.all([invoke(q.arn, bodies), invoke(q.arn, bodies)]);
    const retry: string[] = [];
    for (const out of both) {
      expect(out.error).toBeUndefined();
      const failed = new Set((out.result as { batchItemFailures: Array<{ itemIdentifier: string }> }).batchItemFailures.map((f) => f.itemIdentifier));
      if (failed.size > 0) retry.push(...bodies); // a failed message comes back; simplest: all of them again
    }
    retry.push(...s.sqs.messages(q.queue).map((m) => m.body));
    s.sqs.purge(q.queue);
    await untilQuiet(q, [...retry, ...bodies]);
    expectDeliveredOnce(files);
  });

  it('unreadable objects (missing, corrupt gzip, corrupt JSON, access denied, KMS denied) are failed by messageId with an error log naming bucket, key and code; good ones in the batch are not', async () => {
    const q = fresh();
    const base = Date.UTC(2026, 10, 30, 13, 0, 0);
    const key = (n: number) => trailLogKey({ prefix: PREFIX, orgId: ORG, accountId: ACCOUNTS[0], region: 'us-east-1', time: new Date(base + n * 300_000) });
    const good = packTrailFile(key(0), ACCOUNTS[0], 'us-east-1', newRecords(4, base - 200_000, base - 100_000, 'us-east-1', ACCOUNTS[0]));
    const gzipBad = { key: key(1), body: Buffer.from('this is not gzip') };
    const jsonBad = { key: key(2), body: gzipSync('{"Records":[{"eventID":') };
    const denied = { key: key(3), body: gzipSync(JSON.stringify({ Records: newRecords(2, base, base + 1000, 'us-east-1', ACCOUNTS[0]) })) };
    const [cGood, cGzip, cJson, cDenied] = put([good, gzipBad, jsonBad, denied]);
    const kmsKey = key(4);
    const stop = s.s3.onObjectCreated(() => undefined);
    s.s3.putObject(BUCKET, kmsKey, gzipSync(JSON.stringify({ Records: newRecords(2, base, base + 1000, 'us-east-1', ACCOUNTS[0]) })), {
      contentType: 'application/json',
      contentEncoding: 'gzip',
      kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/acc-trail',
    });
    stop();
    const cKms = { ...cGood, object: { ...cGood.object, key: kmsKey } };
    const missing = { ...cGood, object: { ...cGood.object, key: key(5) } };
    const expectFailedWithLog = (out: { result?: unknown; logs: string }, cases: ObjectCreated[], goodIndex?: number, codes: Record<number, RegExp> = {}) => {
      const failed = (out.result as { batchItemFailures: Array<{ itemIdentifier: string }> }).batchItemFailures.map((f) => f.itemIdentifier);
      for (const [i, c] of cases.entries()) {
        if (i === goodIndex) {
          expect(failed).not.toContain(`msg-${i}`);
          continue;
        }
        expect(failed).toContain(`msg-${i}`);
        const line = out.logs.split('\n').find((l) => /error/i.test(l) && l.includes(c.object.key) && l.includes(BUCKET));
        if (!line) console.warn('no error log naming', c.object.key, out.logs.slice(0, 3000));
        expect(line).toBeDefined();
        expect(line).toMatch(/code/i);
        if (codes[i]) expect(line).toMatch(codes[i]);
      }
    };
    s.registry.deny(s.functionRole.accessKeyId, 'kms:Decrypt');
    try {
      const cases = [cGood, cGzip, cJson, cKms, missing] as ObjectCreated[];
      const out = await invoke(q.arn, cases.map((c) => s3EventMessage(c)), cases.map((_, i) => `msg-${i}`));
      expect(out.error).toBeUndefined();
      expectFailedWithLog(out, cases, 0, { 3: /AccessDenied|KMS/i, 4: /NoSuchKey|NotFound/ });
      expect(s.dnif.eventsById().size).toBe(4);
    } finally {
      s.registry.allow(s.functionRole.accessKeyId, 'kms:Decrypt');
    }
    s.registry.deny(s.functionRole.accessKeyId, 's3:GetObject');
    try {
      const out = await invoke(q.arn, [s3EventMessage(cDenied)], ['msg-0']);
      expect(out.error).toBeUndefined();
      expectFailedWithLog(out, [cDenied], undefined, { 0: /AccessDenied/ });
    } finally {
      s.registry.allow(s.functionRole.accessKeyId, 's3:GetObject');
    }
  });
});

/** Drain the queue, jumping the SQS clock over visibility timeouts and delays while nothing runs. */
async function drainJumping(esm: ReturnType<typeof startEventSourceMapping>, queue: string, stepMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    const c = s.sqs.counts(queue);
    if (c.total === 0 && esm.running() === 0) return;
    if (Date.now() - started > 40_000) throw new Error(`queue ${queue} not drained: ${JSON.stringify(c)}`);
    if (esm.running() === 0 && c.visible === 0) clock.advance(stepMs);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('acceptance: S3 source credentials', () => {
  it('with AWS keys in the connector, the keys (not the function role) read the bucket', async () => {
    const q = fresh();
    s.putConnectorSecret(s.connector({ connectorName: uniqueName('s3keys') }));
    const files = trailFiles({ base: Date.UTC(2026, 10, 30, 19, 0, 0), perFile: 2 }).slice(0, 2);
    const bodies = put(files).map((e) => s3EventMessage(e));
    s.registry.deny(s.functionRole.accessKeyId, 's3:GetObject');
    try {
      const { failures } = await untilQuiet(q, bodies);
      expect(failures).toEqual([]);
    } finally {
      s.registry.allow(s.functionRole.accessKeyId, 's3:GetObject');
    }
    expectDeliveredOnce(files);
  });
});

describe('acceptance: S3 source through the event source mapping (queue as the stack sets it up)', () => {
  it('duplicate deliveries (SQS at-least-once, one batch to two invocations) send nothing twice', async () => {
    const q = fresh(60);
    const files = trailFiles({ base: Date.UTC(2026, 10, 30, 15, 0, 0) });
    for (const e of put(files)) s.sqs.sendMessage(q.queue, s3EventMessage(e));
    for (const e of put([files[0]])) s.sqs.sendMessage(q.queue, snsWrappedS3Event(e)); // a second notification for one object
    const esm = startEventSourceMapping({ sqs: s.sqs, registry: s.registry, queue: q.queue, handler: coldHandler('s3Forwarder') as never, batchSize: 3, functionTimeoutSeconds: 60 });
    esm.duplicateNextBatches(2);
    s.sqs.injectFault({ kind: 'duplicate', queue: q.queue });
    try {
      await drainJumping(esm, q.queue, 360_000);
    } finally {
      await esm.stop();
    }
    expectDeliveredOnce(files);
    expect(s.sqs.counts(q.dlq).total).toBe(0);
  });

  it('a DNIF outage puts nothing in the dead-letter queue before DNIF_OUTAGE_TOLERANCE_HOURS (more than 5 hand-backs), then all arrives once', async () => {
    const timeout = 17; // s: the handler keeps its default reserve before the deadline
    const q = fresh(timeout);
    const files = trailFiles({ base: Date.UTC(2026, 10, 30, 17, 0, 0), perFile: 3 }).slice(0, 2);
    for (const e of put(files)) s.sqs.sendMessage(q.queue, s3EventMessage(e));
    await s.dnif.down('refuse');
    const h = coldHandler('s3Forwarder');
    const esm = startEventSourceMapping({ sqs: s.sqs, registry: s.registry, queue: q.queue, handler: h as never, batchSize: 10, functionTimeoutSeconds: timeout });
    try {
      await withEnv({ DNIF_OUTAGE_TOLERANCE_HOURS: '24' }, async () => {
        for (let round = 0; round < 7; round++) {
          const before = esm.invocations.length;
          await esm.waitFor(() => esm.invocations.length > before && esm.running() === 0, { timeoutMs: 20_000, what: `invocation ${round}` });
          expect(s.sqs.counts(q.dlq).total).toBe(0);
          clock.advance(3 * 3600_000); // 7 x 3 h = 21 h < 24 h
        }
        expect(s.sqs.counts(q.dlq).total).toBe(0);
        await s.dnif.up();
        await drainJumping(esm, q.queue, 3600_000);
      });
    } finally {
      await esm.stop();
      await s.dnif.up();
    }
    expect(s.sqs.counts(q.dlq).total).toBe(0);
    expectDeliveredOnce(files);
  });
});
