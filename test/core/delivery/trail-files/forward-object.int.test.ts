/**
 * forwardObject through the real SDK against the S3 stand-in (SigV4, KMS, faults), dynalite's
 * ledger and the DNIF receiver: once-only delivery, leases, crash and deadline resume, read errors.
 */
import { forwardObject, type ObjectOutcome } from '../../../../functions/core/delivery/trail-files/forward-object';
import { ObjectLedger, type ObjectRef } from '../../../../functions/core/checkpoint/object-ledger';
import { Deadline } from '../../../../functions/core/deadline';
import { useStandIns } from '../../../helpers/standins';
import { forwardDeps, putTrailFile, recordsFor, trailKey } from '../../../helpers/trail-files';

const env = useStandIns();
const BUCKET = 'org-trail-bucket';
let seq = 0;
const fresh = () => {
  const s = env();
  s.dnif.normal();
  s.dnif.clear();
  s.s3.clearFaults();
  if (!s.s3.bucket(BUCKET)) s.s3.createBucket(BUCKET);
  return { s, name: `conn-${++seq}` };
};

describe('forwardObject', () => {
  it('delivers every record once with dnifForwarder naming the source, the object, region and account', async () => {
    const { s, name } = fresh();
    const key = trailKey({ prefix: 'my trails', org: 'o-abcdef1234', account: '444455556666', region: 'eu-west-1' });
    const records = recordsFor('444455556666', 'eu-west-1', 'a');
    delete (records[0] as { recipientAccountId?: string }).recipientAccountId;
    const etag = putTrailFile(s, BUCKET, key, records);

    const outcome = await forwardObject({ bucket: BUCKET, key, etag }, forwardDeps(s, name));
    expect(outcome).toMatchObject({ status: 'delivered', forwarded: records.length, records: records.length, duplicatesSkipped: 0 });
    const got = s.dnif.eventsById();
    expect(got.size).toBe(records.length);
    expect(s.dnif.duplicates).toBe(0);
    for (const r of records) {
      const { dnifForwarder, ...rest } = got.get(String(r.eventID)) as Record<string, any>;
      expect(rest).toEqual(r);
      expect(dnifForwarder).toEqual({
        connectorName: name, eventId: r.eventID, region: 'eu-west-1', accountId: '444455556666', forwardedAt: expect.any(String),
        source: 's3', s3: { bucket: BUCKET, key },
      });
    }

    const again = await forwardObject({ bucket: BUCKET, key, etag }, forwardDeps(s, name, { owner: 'invocation-2' }));
    expect(again).toMatchObject({ status: 'already-delivered', forwarded: 0, duplicatesSkipped: records.length });
    expect(s.dnif.events().length).toBe(records.length);
  });

  it('reads a bucket in another region than the connector\'s (S3 names the right one)', async () => {
    const { s, name } = fresh();
    if (!s.s3.bucket('eu-log-archive')) s.s3.createBucket('eu-log-archive', { region: 'eu-west-1' });
    const key = trailKey({ account: '111122223333', region: 'eu-west-1', name: 'elsewhere' });
    putTrailFile(s, 'eu-log-archive', key, recordsFor('111122223333', 'eu-west-1', 'eu', 5));
    expect(await forwardObject({ bucket: 'eu-log-archive', key }, forwardDeps(s, name))).toMatchObject({ status: 'delivered', forwarded: 5 });
  });

  it('finds the ETag itself when the notification has none (CloudTrail SNS, replay, audit)', async () => {
    const { s, name } = fresh();
    const key = trailKey({ account: '111122223333', region: 'us-east-1', name: 'noetag' });
    const etag = putTrailFile(s, BUCKET, key, recordsFor('111122223333', 'us-east-1', 'n', 5));
    const outcome = await forwardObject({ bucket: BUCKET, key }, forwardDeps(s, name));
    expect(outcome).toMatchObject({ status: 'delivered', forwarded: 5, ref: { etag } });
  });

  it('lets only one of two concurrent readers send; the other is told the lease is held', async () => {
    const { s, name } = fresh();
    const key = trailKey({ account: '111122223333', region: 'us-east-1', name: 'twice' });
    const records = recordsFor('111122223333', 'us-east-1', 'c', 200);
    const etag = putTrailFile(s, BUCKET, key, records);
    const [a, b] = await Promise.all([
      forwardObject({ bucket: BUCKET, key, etag }, forwardDeps(s, name, { owner: 'A' })),
      forwardObject({ bucket: BUCKET, key, etag }, forwardDeps(s, name, { owner: 'B' })),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual(['continued', 'delivered']);
    expect([a, b].find((o) => o.status === 'continued')?.continuedBecause).toBe('lease-held');
    expect(s.dnif.eventsById().size).toBe(200);
    expect(s.dnif.duplicates).toBe(0);
  });

  it('after a crash between DNIF 2xx and the ledger write, sends at most that one batch again', async () => {
    const { s, name } = fresh();
    const key = trailKey({ account: '111122223333', region: 'us-east-1', name: 'crash' });
    const records = recordsFor('111122223333', 'us-east-1', 'k', 95);
    const etag = putTrailFile(s, BUCKET, key, records);
    const deps = forwardDeps(s, name, { owner: 'crashing', leaseUntilMs: Date.now() - 1 });
    const ledger = deps.ledger;
    let writes = 0;
    const crashing = Object.create(ledger) as ObjectLedger;
    crashing.progress = async (ref: ObjectRef, owner: string, delivered: number) => {
      if (++writes === 4) throw new Error('process killed');
      return ledger.progress(ref, owner, delivered);
    };
    const first = await forwardObject({ bucket: BUCKET, key, etag }, { ...deps, ledger: crashing });
    expect(first.status).toBe('failed');
    expect(s.dnif.events().length).toBe(40);

    const second = await forwardObject({ bucket: BUCKET, key, etag }, forwardDeps(s, name, { owner: 'next' }));
    expect(second).toMatchObject({ status: 'delivered', duplicatesSkipped: 30 });
    expect(s.dnif.eventsById().size).toBe(95);
    expect(s.dnif.duplicates).toBe(10); // the one batch whose acknowledgement was not recorded
  });

  it('stops at the deadline with progress kept, and a later reader finishes without duplicates', async () => {
    const { s, name } = fresh();
    const key = trailKey({ account: '111122223333', region: 'us-east-1', name: 'deadline' });
    const records = recordsFor('111122223333', 'us-east-1', 'd', 100);
    const etag = putTrailFile(s, BUCKET, key, records);
    let sends = 0;
    const deps = forwardDeps(s, name);
    const inner = deps.sink;
    const deadline = new Deadline(Date.now() + 60_000, 0);
    // Reached once three batches have gone out (the fourth send finds it reached).
    Object.defineProperty(deadline, 'reached', { get: () => sends > 3 });
    const counting = { send: async (...args: Parameters<typeof inner.send>) => { sends += 1; return inner.send(...args); } };
    const first: ObjectOutcome = await forwardObject({ bucket: BUCKET, key, etag }, { ...deps, sink: counting, deadline });
    expect(first).toMatchObject({ status: 'continued', continuedBecause: 'deadline', forwarded: 30 });
    expect((await deps.ledger.get({ bucket: BUCKET, key, etag }))?.delivered).toBe(30);

    const second = await forwardObject({ bucket: BUCKET, key, etag }, forwardDeps(s, name, { owner: 'later' }));
    expect(second).toMatchObject({ status: 'delivered', forwarded: 70, duplicatesSkipped: 30 });
    expect(s.dnif.eventsById().size).toBe(100);
    expect(s.dnif.duplicates).toBe(0);
    expect(await deps.ledger.get({ bucket: BUCKET, key, etag })).toMatchObject({ status: 'done', records: 100, delivered: 100 });
  });

  it('reads again after S3 resets the connection part way, without duplicates', async () => {
    const { s, name } = fresh();
    const key = trailKey({ account: '111122223333', region: 'us-east-1', name: 'reset' });
    const records = recordsFor('111122223333', 'us-east-1', 'r', 2000);
    const etag = putTrailFile(s, BUCKET, key, records);
    s.s3.injectFault({ kind: 'reset', afterBytes: 20_000, operation: 'GetObject', key, times: 2 });
    const outcome = await forwardObject({ bucket: BUCKET, key, etag }, forwardDeps(s, name, { limits: { maxEvents: 100, maxBytes: 1_000_000 } }));
    expect(outcome.status).toBe('delivered');
    expect(s.dnif.eventsById().size).toBe(2000);
    expect(s.dnif.duplicates).toBe(0);
  });

  it('names the code of an object that cannot be read: KMS denied, missing, corrupt gzip or JSON', async () => {
    const { s, name } = fresh();
    const kmsKey = 'arn:aws:kms:us-east-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const kmsObject = trailKey({ account: '111122223333', region: 'us-east-1', name: 'kms' });
    s.s3.putObject(BUCKET, kmsObject, Buffer.from('x'), { kmsKeyArn: kmsKey });
    s.registry.deny(s.connectorUser.accessKeyId, 'kms:Decrypt');
    const corruptGzip = trailKey({ account: '111122223333', region: 'us-east-1', name: 'badgz' });
    const gz = putTrailFile(s, BUCKET, corruptGzip, recordsFor('111122223333', 'us-east-1', 'g', 5));
    s.s3.tamperObject(BUCKET, corruptGzip, (b) => Buffer.concat([b.subarray(0, 30), Buffer.alloc(40, 7), b.subarray(70)]));
    const corruptJson = trailKey({ account: '111122223333', region: 'us-east-1', name: 'badjson' });
    s.s3.putObject(BUCKET, corruptJson, Buffer.from('{"Records":[{"eventID":"x"}'));
    const cases: [string, string | undefined, string][] = [
      [kmsObject, undefined, 'KMSAccessDenied'],
      [trailKey({ account: '111122223333', region: 'us-east-1', name: 'missing' }), 'abc', 'NoSuchKey'],
      [corruptGzip, gz, 'CorruptGzip'],
      [corruptJson, undefined, 'CorruptJson'],
    ];
    for (const [key, etag, code] of cases) {
      const outcome = await forwardObject({ bucket: BUCKET, key, etag }, forwardDeps(s, name));
      expect({ key, status: outcome.status, code: outcome.code }).toEqual({ key, status: 'failed', code: expect.any(String) });
      // A missing object cannot be told apart from a denied one without s3:ListBucket (as in S3).
      if (code === 'NoSuchKey') expect(['NoSuchKey', 'AccessDenied']).toContain(outcome.code);
      else expect(outcome.code).toBe(code);
    }
    expect(s.dnif.events().length).toBe(0);
  });

  it('hands a DNIF outage back as DnifUnavailable without marking the object failed', async () => {
    const { s, name } = fresh();
    const key = trailKey({ account: '111122223333', region: 'us-east-1', name: 'outage' });
    const etag = putTrailFile(s, BUCKET, key, recordsFor('111122223333', 'us-east-1', 'o', 5));
    s.dnif.reject(503);
    const deps = forwardDeps(s, name, { deadline: new Deadline(Date.now() + 3000, 0) });
    const outcome = await forwardObject({ bucket: BUCKET, key, etag }, deps);
    expect(outcome).toMatchObject({ status: 'failed', code: 'DnifUnavailable' });
    expect((await deps.ledger.get({ bucket: BUCKET, key, etag }))?.status).toBe('in-progress');
    s.dnif.normal();
    expect((await forwardObject({ bucket: BUCKET, key, etag }, forwardDeps(s, name, { owner: 'after' }))).status).toBe('delivered');
  });
});
