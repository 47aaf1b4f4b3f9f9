/**
 * Acceptance, contract "Second source" / the audit, black box: trail files delivered through
 * functions/s3-forwarder/handler.ts (as notifications would), then functions/trail-audit/
 * handler.ts on an EventBridge scheduled event; summary `{ digests, logFiles, delivered,
 * missing, repaired, invalid }`; repair of a never-notified file; invalid signature / chain /
 * hash; nothing re-sent.
 */
import { lambdaContext, packTrailFile, s3EventMessage, scheduledEvent, sqsRecord, trailLogKey, writeDigestChain, type ObjectCreated, type StandIns, type TrailFile } from '../../../standins';
import { useStandIns } from '../../helpers/standins';
import { coldHandler, newRecords, uniqueName, withEnv, withLogs } from './support';

jest.setTimeout(60_000);

const HOUR = 3_600_000;
const REGION = 'eu-west-2';
const ACCOUNT = '135792468013';
const PREFIX = 'audit prefix';
const env = useStandIns({ region: 'us-east-1', putDefaultSecret: false });
let s: StandIns;
beforeAll(() => (s = env()));

interface Trail {
  bucket: string;
  files: TrailFile[];
  created: ObjectCreated[];
}

let seq = 0;
/** `hours` of trail ending at the last full hour: 4 files an hour of new records, hourly signed digests. */
function writeTrail(hours: number, opts: { mutate?: Parameters<typeof writeDigestChain>[2]['mutate']; signWith?: Parameters<typeof writeDigestChain>[2]['signWith']; tamper?: (f: TrailFile, i: number) => TrailFile } = {}): Trail {
  s.reset();
  const bucket = `acc-audit-${++seq}`;
  const trailName = `acc-trail-${seq}`;
  s.s3.createBucket(bucket, { region: 'us-east-1' });
  s.putConnectorSecret(s.connector({ connectorName: uniqueName('audit') }));
  s.cloudtrail.trails.addTrail({ name: trailName, accountId: ACCOUNT, homeRegion: REGION, bucket, prefix: PREFIX, organization: false, multiRegion: true, logFileValidation: true });
  const from = new Date(Math.floor(Date.now() / HOUR) * HOUR - hours * HOUR);
  const files: TrailFile[] = [];
  for (let i = 0; i < hours * 4; i++) {
    const delivered = +from + (i + 1) * 15 * 60_000 - 60_000;
    const recs = newRecords(3, delivered - 10 * 60_000, delivered - 5 * 60_000, REGION, ACCOUNT);
    files.push(packTrailFile(trailLogKey({ prefix: PREFIX, accountId: ACCOUNT, region: REGION, time: new Date(delivered) }), ACCOUNT, REGION, recs));
  }
  const created: ObjectCreated[] = [];
  const stop = s.s3.onObjectCreated((e) => created.push(e));
  for (const [i, f] of files.entries()) {
    const stored = opts.tamper ? opts.tamper(f, i) : f;
    s.s3.putObject(bucket, f.key, stored.body, { contentType: 'application/json', contentEncoding: 'gzip' });
  }
  stop();
  writeDigestChain(s.s3, s.cloudtrail.trails, { bucket, prefix: PREFIX, accountId: ACCOUNT, region: REGION, trailName, homeRegion: REGION, files, from, hours, mutate: opts.mutate, signWith: opts.signWith });
  return { bucket, files, created };
}

async function deliverViaS3Forwarder(t: Trail, keys: string[]): Promise<void> {
  const queue = s.sqs.queue('acc-audit-q') ?? s.sqs.createQueue('acc-audit-q', { visibilityTimeoutSeconds: 360 });
  const bodies = t.created.filter((c) => keys.includes(c.object.key)).map((c) => s3EventMessage(c));
  const out = await coldHandler('s3Forwarder')({ Records: bodies.map((body) => sqsRecord({ body }, queue.arn)) }, lambdaContext(60_000, 's3-forwarder'));
  expect(out).toEqual({ batchItemFailures: [] });
}

const audit = (t: Trail) =>
  withEnv({ AUDIT_BUCKET: t.bucket, AUDIT_PREFIX: PREFIX }, () => withLogs(() => coldHandler('trailAudit')(scheduledEvent(), lambdaContext(60_000, 'trail-audit'))));

const summaryShape = { digests: expect.any(Number), logFiles: expect.any(Number), delivered: expect.any(Number), missing: expect.any(Number), repaired: expect.any(Number), invalid: expect.any(Number) };

describe('acceptance: trail audit', () => {
  it('repairs a file whose notification never came, delivers it once, and re-sends nothing on the next run', async () => {
    const t = writeTrail(2);
    const [skipped, ...rest] = t.files;
    await deliverViaS3Forwarder(t, rest.map((f) => f.key));
    const before = s.dnif.events().length;
    expect(before).toBe(rest.length * 3);

    const first = await audit(t);
    expect(first.error).toBeUndefined();
    expect(first.result).toMatchObject(summaryShape);
    expect(first.result).toMatchObject({ digests: 2, logFiles: t.files.length, delivered: rest.length, missing: 0, repaired: 1, invalid: 0 });
    expect(s.dnif.events().map((e) => e.eventID).sort()).toEqual(t.files.flatMap((f) => f.records.map((r) => r.eventID)).sort());
    expect(s.dnif.duplicates).toBe(0);
    for (const e of s.dnif.events().filter((x) => skipped.records.some((r) => r.eventID === x.eventID))) {
      expect(e.dnifForwarder).toMatchObject({ source: 's3', s3: { bucket: t.bucket, key: skipped.key }, region: REGION, accountId: ACCOUNT });
    }

    const second = await audit(t);
    expect(second.result).toMatchObject({ digests: 2, logFiles: t.files.length, delivered: t.files.length, missing: 0, repaired: 0, invalid: 0 });
    expect(s.dnif.events().length).toBe(t.files.length * 3);
  });

  it('a listed log file whose content does not match its hash is invalid (error log naming bucket and key) and not forwarded', async () => {
    const t = writeTrail(1, {
      tamper: (f, i) => (i === 1 ? packTrailFile(f.key, f.accountId, f.region, f.records.slice(1)) : f),
    });
    const bad = t.files[1];
    await deliverViaS3Forwarder(t, t.files.filter((f) => f !== bad).map((f) => f.key));
    const sent = s.dnif.events().length;
    const out = await audit(t);
    expect(out.result).toMatchObject(summaryShape);
    expect((out.result as { invalid: number }).invalid).toBeGreaterThanOrEqual(1);
    expect((out.result as { repaired: number }).repaired).toBe(0);
    expect(s.dnif.events().length).toBe(sent);
    expect(out.logs.split('\n').some((l) => /error/i.test(l) && l.includes(t.bucket) && l.includes(bad.key))).toBe(true);
  });

  it('a digest signed with a key CloudTrail does not publish is invalid; its never-delivered files are not forwarded', async () => {
    const t = writeTrail(2, { signWith: (i) => (i === 1 ? s.cloudtrail.trails.unpublishedKey : undefined) });
    // Only the first hour was delivered; the second hour's files are listed only by the bad digest.
    await deliverViaS3Forwarder(t, t.files.slice(0, 4).map((f) => f.key));
    const sent = s.dnif.events().length;
    const out = await audit(t);
    expect((out.result as { invalid: number }).invalid).toBeGreaterThanOrEqual(1);
    expect((out.result as { repaired: number }).repaired).toBe(0);
    expect(s.dnif.events().length).toBe(sent);
    expect(out.logs.split('\n').some((l) => /error/i.test(l) && l.includes(t.bucket) && l.includes('CloudTrail-Digest'))).toBe(true);
  });

  it('a broken chain (previousDigestSignature that is not the previous digest) is invalid', async () => {
    const t = writeTrail(2, {
      mutate: (c, i) => {
        if (i === 1) c.previousDigestSignature = 'ab'.repeat(256);
      },
    });
    await deliverViaS3Forwarder(t, t.files.map((f) => f.key));
    const sent = s.dnif.events().length;
    const out = await audit(t);
    expect((out.result as { invalid: number }).invalid).toBeGreaterThanOrEqual(1);
    expect(s.dnif.events().length).toBe(sent);
  });
});
