/**
 * The S3 forwarder handler on SQS events of every notification shape, with real trail files in
 * the S3 stand-in, the ledger in dynalite, the SQS stand-in (continuations go there through the
 * real SDK) and the DNIF receiver. What the handler hands on is fed back as the next event.
 */
import { handler, resetS3ForwarderState } from '../../functions/s3-forwarder/handler';
import { resetSecretCache } from '../../functions/core/secret';
import { logger } from '../../functions/core/logger';
import { metrics } from '../../functions/core/metrics';
import {
  buildTrailFiles, cloudTrailSnsMessage, eventBridgeObjectCreated, lambdaContext, putTrailFiles, s3EventMessage, s3TestEvent, snsWrappedS3Event,
  type ObjectCreated,
} from '../../standins';
import { useStandIns } from '../helpers/standins';
import { captureStdout } from '../helpers/forwarder-harness';
import { sqsRecord } from './sqs-events';

const env = useStandIns();
const BUCKET = 'org-trail';
const ACCOUNTS = ['111111111111', '222222222222', '333333333333'];
let seq = 0;
let sent: { body: string; delay: number }[] = [];

function freshConnector(extra: Record<string, string> = {}) {
  const s = env();
  s.dnif.normal();
  s.dnif.clear();
  if (!s.s3.bucket(BUCKET)) s.s3.createBucket(BUCKET);
  const name = `s3c-${++seq}`;
  s.putConnectorSecret(s.connector({ connectorName: name }));
  Object.assign(process.env, { DEADLINE_RESERVE_MS: '1000', DNIF_OUTAGE_BACKOFF_SECONDS: '1', ...extra });
  resetS3ForwarderState();
  resetSecretCache();
  sent = [];
  if (!s.sqs.queue(QUEUE)) s.sqs.createQueue(QUEUE, { visibilityTimeoutSeconds: 360 });
  s.sqs.purge(QUEUE);
  return { s, name };
}

const QUEUE = 'trail-files';
const sqsEvent = (bodies: string[]) => ({ Records: bodies.map((b) => ({ ...sqsRecord(b), eventSourceARN: env().sqs.queue(QUEUE)?.arn ?? '' })) });

/** Runs the handler, then takes what it handed on to the queue (body, delay in s). */
async function invoke(bodies: string[], timeoutMs: number, clockScale = 1) {
  const s = env();
  const event = sqsEvent(bodies);
  const start = Date.now();
  // clockScale > 1: the invocation's time runs faster than real time (a deadline within milliseconds).
  const result = await handler(event, lambdaContext(timeoutMs, 's3-forwarder', () => start + (Date.now() - start) * clockScale));
  sent = s.sqs.messages(QUEUE).map((m) => ({ body: m.body, delay: Math.round((m.visibleAt - m.sentAt) / 1000) }));
  s.sqs.purge(QUEUE);
  return { event, result };
}

function captureCreated(): { events: ObjectCreated[]; stop: () => void } {
  const events: ObjectCreated[] = [];
  const stop = env().s3.onObjectCreated((e) => events.push(e));
  return { events, stop };
}

describe('s3-forwarder handler', () => {
  afterAll(() => {
    for (const k of ['DEADLINE_RESERVE_MS', 'DNIF_OUTAGE_BACKOFF_SECONDS', 'BATCH_MAX_EVENTS', 'DNIF_OUTAGE_TOLERANCE_HOURS']) delete process.env[k];
  });

  it('forwards every record of an org trail once, whatever the notification shape; digests and other keys are counted, not sent', async () => {
    const { s } = freshConnector();
    const created = captureCreated();
    const files = buildTrailFiles({ accountIds: ACCOUNTS, regions: ['us-east-1', 'eu-west-1'], prefix: 'org trail', orgId: 'o-abcdef1234', from: new Date('2026-12-01T00:00:00Z'), hours: 0.25, insights: true });
    putTrailFiles(s.s3, BUCKET, files);
    s.s3.putObject(BUCKET, 'org trail/AWSLogs/o-abcdef1234/111111111111/CloudTrail-Digest/us-east-1/2026/12/01/111111111111_CloudTrail-Digest_us-east-1_t_us-east-1_20261201T010000Z.json.gz', '{}');
    s.s3.putObject(BUCKET, 'org trail/README.txt', 'hello');
    created.stop();
    const shapes = [
      (e: ObjectCreated) => s3EventMessage(e),
      (e: ObjectCreated) => snsWrappedS3Event(e),
      (e: ObjectCreated) => cloudTrailSnsMessage(e.bucket.name, [e.object.key]),
      (e: ObjectCreated) => eventBridgeObjectCreated(e),
      (e: ObjectCreated) => eventBridgeObjectCreated(e, { encodeKey: true }),
    ];
    const bodies = created.events.map((e, i) => shapes[i % shapes.length](e));
    bodies.push(s3TestEvent(BUCKET));

    const { result, output } = await captureStdout(async () => {
      logger.setLogLevel('INFO');
      try {
        return await handler(sqsEvent(bodies), lambdaContext(60_000, 's3-forwarder'));
      } finally {
        logger.setLogLevel('ERROR');
      }
    });
    expect(result).toEqual({ batchItemFailures: [] });
    const expected = files.flatMap((f) => f.records);
    const got = s.dnif.eventsById();
    expect(got.size).toBe(expected.length);
    expect(s.dnif.duplicates).toBe(0);
    for (const f of files) {
      for (const r of f.records) {
        const e = got.get(String(r.eventID)) as Record<string, any>;
        expect(e.dnifForwarder).toMatchObject({ source: 's3', s3: { bucket: BUCKET, key: f.key }, region: r.awsRegion, accountId: f.accountId });
      }
    }
    const summary = JSON.parse(output.split('\n').find((l) => l.includes('S3 forwarder run finished')) ?? '{}').summary;
    expect(summary).toMatchObject({ skippedDigests: 1, skippedOther: 1, ignoredEvents: 1, delivered: files.length, failedMessages: 0 });
  });

  it('sends nothing again for the same messages delivered twice, in one batch or the next', async () => {
    const { s } = freshConnector();
    const created = captureCreated();
    const files = buildTrailFiles({ accountIds: ACCOUNTS.slice(0, 1), regions: ['us-east-1'], from: new Date('2026-12-01T00:00:00Z'), hours: 0.25, seed: 2 });
    putTrailFiles(s.s3, BUCKET, files);
    created.stop();
    const bodies = created.events.map((e) => s3EventMessage(e));
    expect(await handler(sqsEvent([...bodies, ...bodies]), lambdaContext(60_000))).toEqual({ batchItemFailures: [] });
    expect(await handler(sqsEvent(bodies), lambdaContext(60_000))).toEqual({ batchItemFailures: [] });
    expect(s.dnif.eventsById().size).toBe(files.flatMap((f) => f.records).length);
    expect(s.dnif.duplicates).toBe(0);
  });

  it('fails only the message whose object cannot be read, naming bucket, key and code in the log', async () => {
    const { s } = freshConnector();
    const created = captureCreated();
    const [good, bad] = buildTrailFiles({ accountIds: ACCOUNTS.slice(0, 1), regions: ['us-east-1'], from: new Date('2026-12-01T00:00:00Z'), hours: 0.17, seed: 3 });
    putTrailFiles(s.s3, BUCKET, [good, bad]);
    created.stop();
    s.s3.tamperObject(BUCKET, bad.key, (b) => b.subarray(0, Math.floor(b.length / 2)));
    const event = sqsEvent(created.events.map((e) => s3EventMessage(e)));
    const { result, output } = await captureStdout(() => handler(event, lambdaContext(60_000)));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[1].messageId }] });
    const line = output.split('\n').find((l) => l.includes('Trail file not forwarded'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 'ERROR', bucket: BUCKET, key: bad.key, code: 'CorruptGzip' });
    expect(s.dnif.eventsById().size).toBe(good.records.length);
  });

  it('adds the connector dimension to its metrics when METRICS_CONNECTOR names one (a connector of many in one stack)', async () => {
    const dimensions = jest.spyOn(metrics, 'addDimensions');
    const run = async () => {
      const created = captureCreated();
      putTrailFiles(env().s3, BUCKET, buildTrailFiles({ accountIds: ACCOUNTS.slice(0, 1), regions: ['us-east-1'], from: new Date('2026-12-02T00:00:00Z'), hours: 0.09, seed: 9 }));
      created.stop();
      return handler(sqsEvent(created.events.map((e) => s3EventMessage(e))), lambdaContext(60_000));
    };
    try {
      freshConnector({ METRICS_CONNECTOR: 'audit' });
      expect(await run()).toEqual({ batchItemFailures: [] });
      expect(dimensions).toHaveBeenCalledWith({ connector: 'audit' });
      delete process.env.METRICS_CONNECTOR;
      dimensions.mockClear();
      freshConnector();
      expect(await run()).toEqual({ batchItemFailures: [] });
      expect(dimensions).not.toHaveBeenCalled();
    } finally {
      delete process.env.METRICS_CONNECTOR;
      dimensions.mockRestore();
    }
  });

  it('hands work on at the deadline and during a DNIF outage (growing delay), and all arrives once after', async () => {
    const { s } = freshConnector({ BATCH_MAX_EVENTS: '5' });
    const created = captureCreated();
    const files = buildTrailFiles({ accountIds: ACCOUNTS.slice(0, 2), regions: ['us-east-1'], from: new Date('2026-12-01T00:00:00Z'), hours: 0.25, seed: 4 });
    putTrailFiles(s.s3, BUCKET, files);
    created.stop();
    s.dnif.reject(503);
    let bodies = created.events.map((e) => s3EventMessage(e));
    const delays: number[] = [];
    for (let round = 0; round < 4; round++) {
      expect((await invoke(bodies, 2_500)).result).toEqual({ batchItemFailures: [] });
      expect(sent.length).toBeGreaterThan(0);
      delays.push(Math.max(...sent.map((m) => m.delay)));
      bodies = sent.map((m) => m.body);
    }
    expect(delays).toEqual([1, 2, 4, 8]);
    s.dnif.normal();
    // A short invocation: the deadline comes part way, the rest is handed on with no delay.
    const reasons = new Set<string>();
    for (let round = 0; bodies.length > 0 && round < 50; round++) {
      expect((await invoke(bodies, 4_000, 50)).result).toEqual({ batchItemFailures: [] });
      for (const m of sent) reasons.add(`${JSON.parse(m.body).dnifForwarderContinuation.reason}:${m.delay}`);
      bodies = sent.map((m) => m.body);
    }
    expect(reasons).toEqual(new Set(['deadline:0']));
    expect(bodies).toEqual([]);
    expect(s.dnif.eventsById().size).toBe(files.flatMap((f) => f.records).length);
    expect(s.dnif.duplicates).toBe(0);
  });

  it('stops handing an outage on after DNIF_OUTAGE_TOLERANCE_HOURS: the message is failed', async () => {
    const { s } = freshConnector({ DNIF_OUTAGE_TOLERANCE_HOURS: '1' });
    const created = captureCreated();
    const [file] = buildTrailFiles({ accountIds: ACCOUNTS.slice(0, 1), regions: ['us-east-1'], from: new Date('2026-12-01T00:00:00Z'), hours: 0.08, seed: 5 });
    putTrailFiles(s.s3, BUCKET, [file]);
    created.stop();
    s.dnif.reject(503);
    const longAgo = new Date(Date.now() - 2 * 3600_000).toISOString();
    const body = JSON.stringify({ dnifForwarderContinuation: { version: 1, reason: 'dnif-unavailable', attempt: 7, outageSince: longAgo, objects: [{ bucket: BUCKET, key: file.key }] } });
    const { event, result } = await invoke([body], 3_000);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }] });
    expect(sent).toEqual([]);
  });
});
