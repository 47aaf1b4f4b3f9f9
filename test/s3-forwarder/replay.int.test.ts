/**
 * Replay: `npm run replay` (runReplay) and the direct-invoke path forward a time range of trail
 * files through the same ledger: nothing already delivered is sent again, files outside the
 * range are left, a run is continued after `startAfter`.
 */
import { forwardObject } from '../../functions/core/delivery/trail-files/forward-object';
import { handler, resetS3ForwarderState } from '../../functions/s3-forwarder/handler';
import { resetSecretCache } from '../../functions/core/secret';
import { parseReplayRequest } from '../../functions/s3-forwarder/replay';
import { parseArgs, runReplay } from '../../scripts/replay';
import { buildTrailFiles, lambdaContext, putTrailFiles } from '../../standins';
import { useStandIns } from '../helpers/standins';
import { forwardDeps } from '../helpers/trail-files';

const env = useStandIns();
const BUCKET = 'replay-trail';
const PREFIX = 'org trail';

describe('replay', () => {
  const quiet = jest.spyOn(process.stdout, 'write');
  afterAll(() => {
    quiet.mockRestore();
    delete process.env.DEADLINE_RESERVE_MS;
  });

  it('forwards a day of an org trail once, skipping what was delivered and what lies outside the range', async () => {
    quiet.mockImplementation(() => true);
    const s = env();
    s.s3.createBucket(BUCKET);
    s.putConnectorSecret(s.connector({ connectorName: 'replayer' }));
    resetS3ForwarderState();
    resetSecretCache();
    process.env.DEADLINE_RESERVE_MS = '1000';
    const accounts = ['111111111111', '222222222222'];
    const day1 = buildTrailFiles({ accountIds: accounts, regions: ['us-east-1', 'eu-west-1'], prefix: PREFIX, orgId: 'o-abcdef1234', from: new Date('2026-11-30T22:00:00Z'), hours: 0.5, seed: 11 });
    const day2 = buildTrailFiles({ accountIds: accounts, regions: ['us-east-1'], prefix: PREFIX, orgId: 'o-abcdef1234', from: new Date('2026-12-01T23:00:00Z'), hours: 0.25, seed: 12 });
    const stored = putTrailFiles(s.s3, BUCKET, [...day1, ...day2]);
    // One file already went out through the queue path.
    const first = await forwardObject({ bucket: BUCKET, key: day1[0].key, etag: stored[0].etag }, forwardDeps(s, 'replayer'));
    expect(first.status).toBe('delivered');

    // A run handed on part way (`startAfter`, as a cut-short invocation answers), then the rest.
    const keys = day1.map((f) => f.key).sort();
    const cut = await handler({ replay: { bucket: BUCKET, prefix: PREFIX, from: '2026-11-30T00:00:00Z', to: '2026-11-30T23:59:59Z', startAfter: keys[9] } }, lambdaContext(60_000));
    expect(cut).toMatchObject({ listed: keys.length - 10, delivered: keys.length - 10, failed: [] });
    const runs = await runReplay(parseArgs(['--bucket', BUCKET, '--prefix', PREFIX, '--from', '2026-11-30T00:00:00Z', '--to=2026-11-30T23:59:59Z']), 60_000);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ listed: keys.length, delivered: 9, alreadyDelivered: keys.length - 9, failed: [] });
    expect(runs[0].nextStartAfter).toBeUndefined();
    const got = s.dnif.eventsById();
    expect(got.size).toBe(day1.flatMap((f) => f.records).length);
    expect(s.dnif.duplicates).toBe(0);
    for (const r of day2.flatMap((f) => f.records)) expect(got.has(String(r.eventID))).toBe(false);
  });

  it('names the bad field of a replay request', () => {
    expect(() => parseReplayRequest({ from: '2026-01-01', to: '2026-01-02' })).toThrow(/replay.bucket/);
    expect(() => parseReplayRequest({ bucket: 'b', from: 'yesterday', to: '2026-01-02' })).toThrow(/replay.from must be an ISO-8601 time/);
    expect(() => parseReplayRequest({ bucket: 'b', from: '2026-01-03', to: '2026-01-02' })).toThrow(/replay.to must not be before from/);
    expect(() => parseArgs(['--bucket', 'b'])).toThrow(/--from is required/);
  });
});
