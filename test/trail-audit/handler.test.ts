/**
 * The trail-audit handler through the real SDK: trail files and signed, chained digests in the S3
 * stand-in, the object ledger in dynalite, the DNIF receiver, the connector in Secrets Manager.
 * Files are delivered first through the normal path (forwardObject), as the S3 source would.
 * CloudTrail's ListPublicKeys/GetTrailStatus are answered by aws-sdk-client-mock until the CloudTrail
 * stand-in serves them.
 */
import { CloudTrailClient, GetTrailStatusCommand, ListPublicKeysCommand } from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import { logger } from '../../functions/core/logger';
import { metrics } from '../../functions/core/metrics';
import { forwardObject } from '../../functions/core/source/trail-files/forward-object';
import { resetSecretCache } from '../../functions/core/secret';
import { handler, resetTrailAuditState, type AuditSummary } from '../../functions/trail-audit/handler';
import { lambdaContext, scheduledEvent } from '../../standins';
import { useStandIns } from '../helpers/standins';
import { captureStdout } from '../integration/harness';
import { forwardDeps } from '../integration/s3/trail-helpers';
import { newSigningKey, TrailWriter, type WrittenHour } from './trail-writer';

const env = useStandIns();
const cloudtrail = mockClient(CloudTrailClient);
const HOUR = 3_600_000;
const ACCOUNTS = ['111111111111', '222222222222'];
const REGIONS = ['us-east-1', 'eu-west-1'];
const PREFIX = 'org/trail';
const ORG = 'o-abcdef1234';
const KEY = newSigningKey();
let seq = 0;

interface Setup {
  bucket: string;
  connectorName: string;
  writer: TrailWriter;
}

function setup(isLogging = true): Setup {
  const s = env();
  s.dnif.normal();
  s.dnif.clear();
  const bucket = `trail-${++seq}`;
  s.s3.createBucket(bucket);
  const connectorName = `audit-${seq}`;
  s.putConnectorSecret(s.connector({ connectorName }));
  Object.assign(process.env, { AUDIT_BUCKET: bucket, AUDIT_PREFIX: PREFIX, DEADLINE_RESERVE_MS: '1000' });
  resetTrailAuditState();
  resetSecretCache();
  cloudtrail.reset();
  cloudtrail.on(ListPublicKeysCommand).resolves({ PublicKeyList: [{ Fingerprint: KEY.fingerprint, Value: KEY.der, ValidityStartTime: new Date(Date.now() - 30 * 86400_000), ValidityEndTime: new Date(Date.now() + 86400_000) }] });
  cloudtrail.on(GetTrailStatusCommand).resolves({ IsLogging: isLogging });
  const writer = new TrailWriter({
    bucket,
    prefix: PREFIX,
    orgId: ORG,
    trailName: 'org-trail',
    keyFor: () => KEY,
    put: (b, k, o) => void s.s3.putObject(b, k, o.body, { metadata: o.metadata }),
  });
  return { bucket, connectorName, writer };
}

/** An hour of trail (12 files) ending 10 minutes ago, for each account and region. */
async function writeHours(w: TrailWriter, hoursBack = [1]): Promise<WrittenHour[]> {
  const out: WrittenHour[] = [];
  for (const h of hoursBack) for (const a of ACCOUNTS) for (const r of REGIONS) out.push(await w.writeHour(a, r, Date.now() - 10 * 60_000 - (h - 1) * HOUR, { files: 12, records: 2 }));
  return out;
}

/** Delivers the files through the normal path, as S3 notifications would have. */
async function deliver(st: Setup, keys: string[]): Promise<void> {
  const deps = forwardDeps(env(), st.connectorName);
  for (const key of keys) expect((await forwardObject({ bucket: st.bucket, key }, deps)).status).toBe('delivered');
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
  cloudtrail.restore();
  for (const k of ['AUDIT_BUCKET', 'AUDIT_PREFIX', 'DEADLINE_RESERVE_MS']) delete process.env[k];
});

describe('trail-audit handler', () => {
  it('an hour of trail files for two accounts and two regions with valid digests: 0 missing, 0 invalid', async () => {
    const st = setup();
    const hours = await writeHours(st.writer, [2, 1]);
    await deliver(st, hours.flatMap((h) => h.logKeys));
    const sent = env().dnif.events().length;
    const audit = await runAudit();
    const { result, output } = audit;
    expect(result).toMatchObject<Partial<AuditSummary>>({ digests: 8, logFiles: 96, delivered: 96, missing: 0, repaired: 0, invalid: 0 });
    expect(env().dnif.events().length).toBe(sent); // nothing re-sent
    const { totals } = audit;
    expect(totals).toMatchObject({ AuditLogFilesListed: 96, AuditLogFilesMissing: 0, AuditInvalid: 0, AuditDigestsChecked: 8, TrailLoggingStopped: 0 });
    // One EMF line per account-region, with its own dimensions.
    const perRegion = output.split('\n').filter((l) => l.includes('"_aws"') && l.includes('"accountId"')).map((l) => JSON.parse(l));
    expect(perRegion.map((m) => `${m.accountId}/${m.region}:${m.AuditLogFilesDelivered}`).sort()).toEqual(
      ['111111111111/eu-west-1:24', '111111111111/us-east-1:24', '222222222222/eu-west-1:24', '222222222222/us-east-1:24'],
    );
    // The public key was asked for in the digest's region.
    expect(new Set(await Promise.all(cloudtrail.commandCalls(ListPublicKeysCommand).map((c) => c.thisValue.config.region())))).toEqual(new Set(REGIONS));
  });

  it('a log file whose notification never came is repaired, and delivered once', async () => {
    const st = setup();
    const hours = await writeHours(st.writer);
    const all = hours.flatMap((h) => h.logKeys);
    const lost = all[5]!;
    await deliver(st, all.filter((k) => k !== lost));
    const before = env().dnif.eventsById().size;
    const first = await runAudit();
    expect(first.result).toMatchObject({ logFiles: 48, delivered: 47, repaired: 1, missing: 0, invalid: 0 });
    expect(first.output).toContain(lost);
    expect(env().dnif.eventsById().size).toBe(before + 2);
    const second = await runAudit();
    expect(second.result).toMatchObject({ delivered: 48, repaired: 0 });
    expect(env().dnif.duplicates).toBe(0);
  });

  it('a log file altered after delivery is invalid, logged with bucket and key, and not forwarded', async () => {
    const st = setup();
    const hours = await writeHours(st.writer);
    const all = hours.flatMap((h) => h.logKeys);
    await deliver(st, all);
    const altered = all[7]!;
    // Same ETag (so the ledger still says delivered), other bytes.
    env().s3.tamperObject(st.bucket, altered, () => Buffer.from('1f8b08000000000000034b04000f2b7eb701000000', 'hex'));
    const sent = env().dnif.events().length;
    const { result, output, totals } = await runAudit();
    expect(result).toMatchObject({ logFiles: 48, delivered: 47, invalid: 1, repaired: 0 });
    const line = output.split('\n').find((l) => l.includes('Invalid log file'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 'ERROR', bucket: st.bucket, key: altered });
    expect(totals.AuditInvalid).toBe(1);
    expect(env().dnif.events().length).toBe(sent);
  });

  it('a digest deleted from the middle of the chain is invalid (chain)', async () => {
    const st = setup();
    const hours = await writeHours(st.writer, [3, 2, 1]);
    await deliver(st, hours.flatMap((h) => h.logKeys));
    expect((await runAudit()).result).toMatchObject({ digests: 12, invalid: 0 });
    // hours: 3, 2, 1 hours back × accounts × regions; [7] is 2 hours back, 222222222222, eu-west-1.
    const middle = hours[7]!;
    expect(middle.digestKey).toMatch(/\/222222222222\/CloudTrail-Digest\/eu-west-1\//);
    env().s3.deleteObject(st.bucket, middle.digestKey);
    const { result, output } = await runAudit();
    expect(result).toMatchObject({ digests: 11, invalid: 1, missing: 0 });
    expect(output).toContain('Digest chain broken');
    expect(output).toContain(middle.digestKey);
  });

  it('a digest signed with another key is invalid, and its files are not passed off as checked', async () => {
    const st = setup();
    await writeHours(st.writer, [2]);
    const forged = await st.writer.writeHour(ACCOUNTS[0]!, REGIONS[0]!, Date.now() - 10 * 60_000, { files: 3, signWith: newSigningKey() });
    const { result, output } = await runAudit();
    expect(result).toMatchObject({ digests: 5, invalid: 1 });
    expect(output).toContain(forged.digestKey);
    // The forged digest's files were not forwarded on its word.
    expect(output).not.toContain(forged.logKeys[0]!);
  });

  it('logging stopped: the TrailLoggingStopped metric the alarm reads is 1', async () => {
    const st = setup(false);
    const hours = await writeHours(st.writer);
    await deliver(st, hours.flatMap((h) => h.logKeys));
    const { result, output, totals } = await runAudit();
    expect(result).toMatchObject({ trailsNotLogging: 1, missing: 0, invalid: 0 });
    expect(totals.TrailLoggingStopped).toBe(1);
    expect(output).toContain('Trail is not logging');
    expect(cloudtrail.commandCalls(GetTrailStatusCommand).map((c) => c.args[0].input.Name)).toEqual(['org-trail']);
  });
});
