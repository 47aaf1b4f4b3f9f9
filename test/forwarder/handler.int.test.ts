/**
 * The delivery promise of SPEC.md, end to end: the real handler, through the real AWS SDK,
 * against the loopback stand-ins (CloudTrail JSON 1.1 with SigV4, dynalite, Secrets Manager)
 * and a DNIF receiver that records what arrived.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ForwarderRunError } from '../../functions/forwarder/forward';
import { ConnectorValidationError } from '../../functions/core/connector';
import { logger } from '../../functions/core/logger';
import { generateEvents, loadRecords, type ConnectorDocument, type StandIns } from '../../standins';
import { useStandIns } from '../helpers/standins';
import { observeSource } from '../helpers/observe-source';
import { captureStdout, freshProcess, invokeForwarder, newConnector as newConnectorOf, realRecordsBetween } from '../helpers/forwarder-harness';

jest.setTimeout(120_000);

const REGION = 'us-east-1';
const sent = observeSource();

const standIns = useStandIns({ putDefaultSecret: false });
let s: StandIns;
beforeAll(() => (s = standIns()));

/** A fresh connector (own checkpoint) and empty stand-ins for each test. */
const newConnector = (overrides: ConnectorDocument = {}) => newConnectorOf(s, (name) => s.connector({ connectorName: name, ...overrides }));

const doc = () => DynamoDBDocumentClient.from(new DynamoDBClient({}));
async function storedCursor(connector: string): Promise<Record<string, unknown> | undefined> {
  const out = await doc().send(new GetCommand({ TableName: s.dynamodb.tableName, Key: { pk: `cursor#${connector}#${REGION}` } }));
  return out.Item;
}

async function seenItemCount(connector: string): Promise<number> {
  const out = await doc().send(
    new ScanCommand({ TableName: s.dynamodb.tableName, FilterExpression: 'begins_with(pk, :p)', ExpressionAttributeValues: { ':p': `seen#${connector}#` } }),
  );
  return out.Items?.length ?? 0;
}

const deliveredIds = () => [...s.dnif.eventsById().keys()].sort();

describe('forwarder, end to end on loopback', () => {
  afterEach(() => {
    delete process.env.LATENESS_SECONDS;
    delete process.env.SETTLE_SECONDS;
    delete process.env.DEADLINE_RESERVE_MS;
    delete process.env.BATCH_MAX_EVENTS;
    delete process.env.BACKFILL_SECONDS;
  });

  it('delivers every shared real record exactly once, oldest first, as the CloudTrail record plus dnifForwarder', async () => {
    const name = await newConnector();
    const now = Date.now();
    const records = realRecordsBetween(now - 50 * 60_000, now - 30_000);
    s.cloudtrail.addEvents(REGION, records, { accountId: s.accountId });

    const first = await invokeForwarder();
    const second = await invokeForwarder();

    expect(first).toMatchObject({ connectorName: name, forwarded: records.length });
    expect(second.forwarded).toBe(0);
    expect(s.dnif.duplicates).toBe(0);
    expect(deliveredIds()).toEqual(records.map((r) => r.eventID).sort());

    const received = s.dnif.events();
    const times = received.map((e) => Date.parse(String(e.eventTime)));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const byId = new Map(records.map((r) => [r.eventID, r]));
    for (const event of received) {
      const { dnifForwarder, ...record } = event;
      expect(record).toEqual(byId.get(String(record.eventID)));
      expect(dnifForwarder).toEqual({
        connectorName: name,
        eventId: record.eventID,
        region: REGION,
        accountId: record.recipientAccountId ?? (record.userIdentity as { accountId?: string } | undefined)?.accountId,
        forwardedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
    }
    expect(first.regions[REGION].checkpoint?.head).toBeDefined();
    expect(await storedCursor(name)).toMatchObject({ head: expect.any(Number), sweep: expect.any(Number) });
  });

  it('delivers events that show up in Event history late, up to LATENESS_SECONDS after their time', async () => {
    process.env.LATENESS_SECONDS = '8';
    process.env.SETTLE_SECONDS = '2';
    await newConnector();
    const now = Date.now();
    const [onTime, late] = [realRecordsBetween(now - 20 * 60_000, now - 10_000).slice(0, 30), realRecordsBetween(now - 5_000, now - 1_000).slice(30)];
    s.cloudtrail.addEvents(REGION, onTime, { accountId: s.accountId });
    // Each late event appears 3-7 s after its EventTime, i.e. after the first run read its second.
    late.forEach((record, i) => {
      const visibleAt = Date.parse(record.eventTime) + 3_000 + ((i * 397) % 4_000);
      s.cloudtrail.addEvents(REGION, [record], { accountId: s.accountId, visibleAt });
    });
    const lastDue = Math.max(...late.map((r) => Date.parse(r.eventTime))) + 8_000;

    const runs = [await invokeForwarder()];
    expect(runs[0].forwarded).toBeLessThan(onTime.length + late.length);
    while (Date.now() < lastDue + 1_500) {
      await new Promise((r) => setTimeout(r, 1_000));
      runs.push(await invokeForwarder());
    }

    expect(deliveredIds()).toEqual([...onTime, ...late].map((r) => r.eventID).sort());
    expect(s.dnif.duplicates).toBe(0);
    expect(runs.reduce((n, r) => n + r.forwarded, 0)).toBe(onTime.length + late.length);
  });

  it('loses nothing through a DNIF outage of several runs, and keeps the checkpoint behind every undelivered event', async () => {
    const name = await newConnector();
    const t0 = Date.now();
    const before = realRecordsBetween(t0 - 40 * 60_000, t0 - 20 * 60_000).slice(0, 20);
    s.cloudtrail.addEvents(REGION, before, { accountId: s.accountId });
    await invokeForwarder();
    const headBefore = Number((await storedCursor(name))?.head);

    // Events that happen while DNIF is down.
    await new Promise((r) => setTimeout(r, 2_000));
    const during = realRecordsBetween(headBefore * 1000 + 500, Date.now() - 100).slice(20);
    const oldestUndelivered = Math.min(...during.map((r) => Date.parse(r.eventTime) / 1000));
    s.cloudtrail.addEvents(REGION, during, { accountId: s.accountId });
    await s.dnif.down('refuse');
    for (let run = 0; run < 3; run++) {
      const err = await invokeForwarder(20_000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ForwarderRunError);
      expect((err as ForwarderRunError).summary.regions[REGION].error?.code).toBe('DnifUnavailable');
      const cursor = await storedCursor(name);
      expect(Number(cursor?.head)).toBe(headBefore);
      expect(Number(cursor?.sweep)).toBeLessThanOrEqual(oldestUndelivered);
    }
    await s.dnif.up();
    s.dnif.failNext(2, 503);
    const recovered = await invokeForwarder();

    expect(recovered.forwarded).toBe(during.length);
    expect(deliveredIds()).toEqual([...before, ...during].map((r) => r.eventID).sort());
    expect(s.dnif.duplicates).toBe(0);
  });

  it('stops on a DNIF 4xx with a clear error and does not advance the checkpoint', async () => {
    const name = await newConnector();
    const now = Date.now();
    const records = realRecordsBetween(now - 10 * 60_000, now - 30_000);
    s.cloudtrail.addEvents(REGION, records, { accountId: s.accountId });
    s.dnif.reject(400);
    const err = (await invokeForwarder().catch((e: unknown) => e)) as ForwarderRunError;
    expect(err).toBeInstanceOf(ForwarderRunError);
    expect(err.message).toContain('DnifRejected: DNIF rejected the batch: HTTP 400');
    // Empty stretches before the first event may be passed; the first event may not.
    const cursor = await storedCursor(name);
    expect(Number(cursor?.head ?? 0)).toBeLessThanOrEqual(Date.parse(records[0].eventTime) / 1000);
    expect(s.dnif.attempts.filter((a) => a.status === 400)).toHaveLength(1);
    s.dnif.normal();
    expect((await invokeForwarder()).forwarded).toBe(loadRecords().length);
  });

  it('resumes a settled slice where delivery stopped, from the cursor alone: no seen entries, no duplicates', async () => {
    process.env.BATCH_MAX_EVENTS = '10';
    const name = await newConnector();
    const now = Date.now();
    // All older than LATENESS_SECONDS when read: no later pass reads these slices again.
    const records = realRecordsBetween(now - 59 * 60_000, now - 41 * 60_000);
    s.cloudtrail.addEvents(REGION, records, { accountId: s.accountId });
    // DNIF takes two batches, then refuses everything with a 4xx, which stops the run.
    void s.dnif.waitForEvents(20).then(() => s.dnif.reject(400));

    const err = await invokeForwarder().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForwarderRunError);
    const delivered = s.dnif.events().map((e) => e.eventID);
    expect(delivered.length).toBeGreaterThanOrEqual(20);
    expect(delivered.length).toBeLessThan(records.length);
    const cursor = await storedCursor(name);
    expect(cursor?.deliveredThroughEventId).toBe(delivered[delivered.length - 1]);
    expect(Number(cursor?.sweep)).toBeLessThanOrEqual(Number(cursor?.deliveredThroughTime));
    expect(await seenItemCount(name)).toBe(0);

    s.dnif.normal();
    const resumed = await invokeForwarder();

    expect(resumed.forwarded).toBe(records.length - delivered.length);
    // The part of the stopped slice that had been delivered is read again and skipped by position.
    expect(resumed.duplicatesSkipped).toBeGreaterThan(0);
    expect(deliveredIds()).toEqual(records.map((r) => r.eventID).sort());
    expect(s.dnif.duplicates).toBe(0);
    const after = await storedCursor(name);
    expect(after?.deliveredThroughEventId).toBeUndefined();
    expect(Number(after?.sweep)).toBeGreaterThan(Date.parse(records[records.length - 1].eventTime) / 1000);
    expect(await seenItemCount(name)).toBe(0);
  });

  it('anchors the backfill window at the first run, so a first run that fails loses nothing from its start', async () => {
    process.env.BACKFILL_SECONDS = '60';
    const name = await newConnector();
    // An event in the first second of the first run's backfill window.
    const first = realRecordsBetween(Date.now() - 59_000, Date.now() - 59_000).slice(0, 1);
    s.cloudtrail.addEvents(REGION, first, { accountId: s.accountId });
    s.dnif.reject(400);
    expect(await invokeForwarder().catch((e: unknown) => e)).toBeInstanceOf(ForwarderRunError);
    const anchored = await storedCursor(name);
    expect(Number(anchored?.sweep)).toBeLessThanOrEqual(Date.parse(first[0].eventTime) / 1000);

    // Later, past the point where a window counted from this run's own start would begin.
    await new Promise((r) => setTimeout(r, 2_500));
    s.dnif.normal();
    const second = await invokeForwarder();

    expect(second.forwarded).toBe(1);
    expect(deliveredIds()).toEqual([first[0].eventID]);
  });

  it('keeps to 2 LookupEvents a second and rides out throttling without failing', async () => {
    await newConnector();
    const now = Date.now();
    s.cloudtrail.addEvents(REGION, generateEvents({ count: 400, region: REGION, accountId: s.accountId, from: now - 30 * 60_000, to: now - 10_000 }));
    s.cloudtrail.injectFault({ kind: 'throttle', times: 4 });
    s.cloudtrail.injectFault({ kind: 'throttle', code: 'Throttling', times: 2 });

    const started = Date.now();
    const summary = await invokeForwarder();

    expect(summary.forwarded).toBe(400);
    // The 6 injected, plus any the stand-in saw when its arrival times jittered (it shares this
    // process's event loop): every one counted and retried.
    expect(summary.regions[REGION].throttles).toBeGreaterThanOrEqual(6);
    expect(summary.regions[REGION].throttles).toBe(s.cloudtrail.stats().throttled);
    expect(sent.maxPerSecond([REGION], started)).toBeLessThanOrEqual(2);
    expect(s.dnif.eventsById().size).toBe(400);
  });

  it('lets only one of two concurrent invocations run, so nothing is delivered twice', async () => {
    await newConnector();
    const now = Date.now();
    s.cloudtrail.addEvents(REGION, realRecordsBetween(now - 30 * 60_000, now - 10_000), { accountId: s.accountId });

    const [a, b] = await Promise.all([invokeForwarder(), invokeForwarder()]);

    expect([a.skipped, b.skipped].filter(Boolean)).toHaveLength(1);
    expect(a.forwarded + b.forwarded).toBe(loadRecords().length);
    expect(s.dnif.duplicates).toBe(0);
    // The lease was released: a later run is not blocked.
    expect((await invokeForwarder()).skipped).toBeUndefined();
  });

  it('stops cleanly before the Lambda deadline and the next run resumes with nothing lost', async () => {
    process.env.DEADLINE_RESERVE_MS = '1000';
    await newConnector();
    const now = Date.now();
    const events = generateEvents({ count: 600, region: REGION, accountId: s.accountId, from: now - 40 * 60_000, to: now - 10_000, seed: 7 });
    s.cloudtrail.addEvents(REGION, events);

    const runs = [await invokeForwarder(8_000)];
    expect(runs[0].regions[REGION].stoppedEarly).toBe(true);
    expect(runs[0].forwarded).toBeLessThan(events.length);
    while (runs.length < 20 && runs[runs.length - 1].regions[REGION].stoppedEarly) runs.push(await invokeForwarder(8_000));

    expect(runs.length).toBeGreaterThan(1);
    expect(deliveredIds()).toEqual(events.map((e) => e.eventID).sort());
    expect(s.dnif.duplicates).toBe(0);
  });

  it('refuses a malformed secret with an error naming the field, and no secret value in any log line', async () => {
    await newConnector();
    const broken = s.connector({ connectorName: 'broken', awsRegion: 'US-EAST-1', dnif: { format: 'xml' } });
    s.putConnectorSecret(broken);
    freshProcess();
    logger.setLogLevel('DEBUG');
    const { error, output } = await captureStdout(() => invokeForwarder());
    logger.setLogLevel('ERROR');

    expect(error).toBeInstanceOf(ConnectorValidationError);
    expect((error as Error).message).toBe(
      'Connector secret is invalid: awsRegion: must be an AWS region code such as us-east-1 (lower case, no spaces); dnif.format: must be one of "json", "ndjson"',
    );
    expect(output).toContain('awsRegion');
    for (const value of [s.connectorUser.secretAccessKey, s.connectorUser.accessKeyId, String((broken.dnif as { token: string }).token)]) {
      expect(output).not.toContain(value);
      expect((error as Error).message).not.toContain(value);
    }
  });
});
