/**
 * The trail-audit handler through the real SDK and the stand-ins: trail files and CloudTrail's
 * signed, chained digests in the S3 stand-in, public keys and trail status from the CloudTrail
 * stand-in (regional keys: a key asked for in the wrong region does not verify), the object
 * ledger in dynalite, the DNIF receiver, the connector in Secrets Manager. Files are delivered
 * first through the normal path (forwardObject), as the S3 source would have.
 */
import { logger } from '../../functions/core/logger';
import { metrics } from '../../functions/core/metrics';
import { resetSecretCache } from '../../functions/core/secret';
import { forwardObject } from '../../functions/core/delivery/trail-files/forward-object';
import { handler, resetTrailAuditState, type AuditSummary } from '../../functions/trail-audit/handler';
import { buildTrailFiles, lambdaContext, putTrailFiles, scheduledEvent, writeDigestChain, type Digest, type TrailFile } from '../../standins';
import { useStandIns } from '../helpers/standins';
import { captureStdout } from '../helpers/forwarder-harness';
import { forwardDeps } from '../helpers/trail-files';

const env = useStandIns();
const HOUR = 3_600_000;
const ACCOUNTS = ['111111111111', '222222222222'];
const REGIONS = ['us-east-1', 'eu-west-1'];
const PREFIX = 'org/trail';
const ORG = 'o-abcdef1234';
let seq = 0;

interface Trail {
  bucket: string;
  connectorName: string;
  trailName: string;
  files: TrailFile[];
  /** Per account-region, oldest first. */
  digests: Map<string, Digest[]>;
}

/**
 * `hours` of trail ending at the last full hour, 12 files an hour per account and region, with
 * hourly digests; `signWith` picks another key for one digest.
 */
function writeTrail(hours: number, opts: { signWith?: (account: string, region: string, i: number) => boolean } = {}): Trail {
  const s = env();
  s.dnif.normal();
  s.dnif.clear();
  const n = ++seq;
  const bucket = `trail-${n}`;
  const connectorName = `audit-${n}`;
  const trailName = `org-trail-${n}`;
  s.s3.createBucket(bucket);
  s.putConnectorSecret(s.connector({ connectorName }));
  s.cloudtrail.trails.addTrail({ name: trailName, accountId: s.accountId, homeRegion: 'us-east-1', bucket, prefix: PREFIX, organization: true, multiRegion: true, logFileValidation: true });
  Object.assign(process.env, { AUDIT_BUCKET: bucket, AUDIT_PREFIX: PREFIX, DEADLINE_RESERVE_MS: '1000' });
  resetTrailAuditState();
  resetSecretCache();
  const from = new Date(Math.floor(Date.now() / HOUR) * HOUR - hours * HOUR);
  const files = buildTrailFiles({ accountIds: ACCOUNTS, regions: REGIONS, prefix: PREFIX, orgId: ORG, from, hours, recordsPerFile: 2 });
  putTrailFiles(s.s3, bucket, files);
  const digests = new Map<string, Digest[]>();
  for (const accountId of ACCOUNTS) {
    for (const region of REGIONS) {
      const signWith = (i: number) => (opts.signWith?.(accountId, region, i) ? s.cloudtrail.trails.unpublishedKey : undefined);
      digests.set(`${accountId}/${region}`, writeDigestChain(s.s3, s.cloudtrail.trails, { bucket, prefix: PREFIX, orgId: ORG, accountId, region, trailName, homeRegion: 'us-east-1', files, from, hours, signWith }));
    }
  }
  return { bucket, connectorName, trailName, files, digests };
}

/** Delivers the files through the normal path, as S3 notifications would have. */
async function deliver(t: Trail, keys = t.files.map((f) => f.key)): Promise<void> {
  const deps = forwardDeps(env(), t.connectorName);
  for (const key of keys) expect((await forwardObject({ bucket: t.bucket, key }, deps)).status).toBe('delivered');
}

/** One run, its log lines at INFO captured, and the totals it put on the shared metrics (which the alarms read). */
async function runAudit(): Promise<{ result?: AuditSummary; output: string; totals: Record<string, number> }> {
  const added = jest.spyOn(metrics, 'addMetric');
  logger.setLogLevel('INFO');
  // The per account-region EMF lines come from their own Metrics, built during the run.
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  try {
    const { result, output } = await captureStdout(() => handler(scheduledEvent(), lambdaContext(120_000, 'trail-audit')));
    const totals = Object.fromEntries(added.mock.calls.map(([name, , value]) => [name, value as number]));
    return { result, output, totals };
  } finally {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    logger.setLogLevel('ERROR');
    added.mockRestore();
  }
}

afterAll(() => {
  for (const k of ['AUDIT_BUCKET', 'AUDIT_PREFIX', 'DEADLINE_RESERVE_MS']) delete process.env[k];
});

describe('trail-audit handler', () => {
  it('an hour of trail files for two accounts and two regions with valid digests: 0 missing, 0 invalid', async () => {
    const t = writeTrail(1);
    expect(t.files).toHaveLength(48);
    await deliver(t);
    const sent = env().dnif.events().length;
    const { result, output, totals } = await runAudit();
    expect(result).toMatchObject<Partial<AuditSummary>>({ digests: 4, logFiles: 48, delivered: 48, missing: 0, repaired: 0, invalid: 0, errors: 0, trailsNotLogging: 0 });
    expect(env().dnif.events().length).toBe(sent); // nothing re-sent
    expect(totals).toMatchObject({ AuditDigestsChecked: 4, AuditLogFilesListed: 48, AuditLogFilesMissing: 0, AuditInvalid: 0, TrailLoggingStopped: 0 });
    // One EMF line per account-region, with its own dimensions.
    const perRegion = output.split('\n').filter((l) => l.includes('"_aws"') && l.includes('"accountId"')).map((l) => JSON.parse(l));
    expect(perRegion.map((m) => `${m.accountId}/${m.region}:${m.AuditLogFilesDelivered}`).sort()).toEqual(
      ['111111111111/eu-west-1:12', '111111111111/us-east-1:12', '222222222222/eu-west-1:12', '222222222222/us-east-1:12'],
    );
  });

  it('puts its totals per connector too when METRICS_CONNECTOR names one (a trail-file connector of many)', async () => {
    const t = writeTrail(1);
    await deliver(t);
    const dimensions = jest.spyOn(metrics, 'addDimensions');
    process.env.METRICS_CONNECTOR = t.connectorName;
    try {
      expect((await runAudit()).result).toMatchObject({ missing: 0, invalid: 0, errors: 0 });
      expect(dimensions).toHaveBeenCalledWith({ connector: t.connectorName });
    } finally {
      delete process.env.METRICS_CONNECTOR;
      resetTrailAuditState();
      dimensions.mockRestore();
    }
  });

  it('a log file whose notification never came is repaired, and delivered once', async () => {
    const t = writeTrail(1);
    const lost = t.files[5]!;
    await deliver(t, t.files.filter((f) => f !== lost).map((f) => f.key));
    const before = env().dnif.eventsById().size;
    const first = await runAudit();
    expect(first.result).toMatchObject({ logFiles: 48, delivered: 47, repaired: 1, missing: 0, invalid: 0 });
    expect(first.output).toContain(lost.key);
    expect(env().dnif.eventsById().size).toBe(before + lost.records.length);
    const second = await runAudit();
    expect(second.result).toMatchObject({ delivered: 48, repaired: 0 });
    expect(env().dnif.duplicates).toBe(0);
  });

  it('a log file altered after delivery is invalid, logged with bucket and key, and not forwarded', async () => {
    const t = writeTrail(1);
    await deliver(t);
    const altered = t.files[7]!.key;
    // Same ETag (so the ledger still says delivered), other bytes.
    env().s3.tamperObject(t.bucket, altered, (b) => Buffer.concat([b.subarray(0, b.length - 8), Buffer.alloc(8)]));
    const sent = env().dnif.events().length;
    const { result, output, totals } = await runAudit();
    expect(result).toMatchObject({ logFiles: 48, delivered: 47, invalid: 1, repaired: 0 });
    const line = output.split('\n').find((l) => l.includes('Invalid log file'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 'ERROR', bucket: t.bucket, key: altered });
    expect(totals.AuditInvalid).toBe(1);
    expect(env().dnif.events().length).toBe(sent);
  });

  it('a digest deleted from the middle of the chain is invalid (chain)', async () => {
    const t = writeTrail(3);
    await deliver(t);
    expect((await runAudit()).result).toMatchObject({ digests: 12, invalid: 0 });
    const middle = t.digests.get('222222222222/eu-west-1')![1]!;
    env().s3.deleteObject(t.bucket, middle.key);
    const { result, output } = await runAudit();
    expect(result).toMatchObject({ digests: 11, invalid: 1, missing: 0 });
    const line = JSON.parse(output.split('\n').find((l) => l.includes('Digest chain broken'))!);
    expect(line).toMatchObject({ level: 'ERROR', bucket: t.bucket, key: t.digests.get('222222222222/eu-west-1')![2]!.key });
    expect(line.problem).toContain(middle.key);
  });

  it('a digest signed with another key is invalid, and its files are not passed off as checked', async () => {
    const t = writeTrail(2, { signWith: (account, region, i) => account === ACCOUNTS[0] && region === REGIONS[0] && i === 1 });
    await deliver(t);
    const forged = t.digests.get(`${ACCOUNTS[0]}/${REGIONS[0]}`)![1]!;
    const { result, output } = await runAudit();
    expect(result).toMatchObject({ digests: 8, logFiles: 84, delivered: 84, invalid: 1, missing: 0 });
    expect(JSON.parse(output.split('\n').find((l) => l.includes('Invalid digest file'))!)).toMatchObject({ key: forged.key, problem: expect.stringContaining('no public key') });
  });

  it('logging stopped: the TrailLoggingStopped metric the alarm reads is 1', async () => {
    const t = writeTrail(1);
    await deliver(t);
    env().cloudtrail.trails.setStatus(t.trailName, { isLogging: false });
    const { result, output, totals } = await runAudit();
    expect(result).toMatchObject({ trailsNotLogging: 1, missing: 0, invalid: 0 });
    expect(totals.TrailLoggingStopped).toBe(1);
    expect(JSON.parse(output.split('\n').find((l) => l.includes('Trail is not logging'))!)).toMatchObject({ level: 'ERROR', trail: t.trailName, homeRegion: 'us-east-1' });
  });

  it('a delivery error on the trail is put on TrailDeliveryErrors', async () => {
    const t = writeTrail(1);
    await deliver(t);
    env().cloudtrail.trails.setStatus(t.trailName, { latestDigestDeliveryError: 'AccessDenied' });
    expect((await runAudit()).totals.TrailDeliveryErrors).toBe(1);
  });
});
