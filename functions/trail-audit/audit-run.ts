/**
 * One audit run over the lookback window: per account-region (bounded concurrency), list the
 * digests, check each one's signature and its link to the digest before it, then each listed log
 * file's hash and delivery; repair what was never delivered. Then ask each trail whether it is
 * still logging. Returns the tallies; the handler turns them into metrics and the summary.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import { forEachLimit } from '../core/concurrency';
import { brokenLink } from '../core/digest/chain';
import type { DigestLogFile } from '../core/digest/digest-file';
import type { PublicKeyDirectory } from '../core/digest/public-keys';
import type { Deadline } from '../core/deadline';
import { checkSignature, fetchDigest, type CheckedDigest } from '../core/digest/digest-check';
import { findDigestFolders, listDigestKeys, trailOfDigestKey, type DigestFolder } from '../core/digest/digest-listing';
import { checkLogFile, type LogFileDeps } from './log-file-check';
import type { TrailHealth } from './trail-health';

/** CloudTrail writes a digest every hour; this much silence after the newest one is "no digest for an hour". */
export const NO_DIGEST_AFTER_MS = 90 * 60_000;

export interface AuditCounts {
  digests: number;
  logFiles: number;
  delivered: number;
  missing: number;
  repaired: number;
  invalid: number;
  /** Held by the normal path right now (live lease, or a repair continued by a later invocation). */
  inProgress: number;
  /** Listed but not reached before the Lambda deadline. */
  unchecked: number;
}

export interface AccountRegionReport extends AuditCounts {
  account: string;
  region: string;
  orgId?: string;
  /** End time (epoch ms) of the newest digest that validated. */
  newestValidDigestMs?: number;
  noRecentDigest: boolean;
  error?: { code: string; message: string };
}

export interface AuditReport {
  summary: AuditCounts & { errors: number };
  accountRegions: AccountRegionReport[];
  trails: TrailHealth[];
}

export interface AuditDeps extends LogFileDeps {
  s3: S3Client;
  bucket: string;
  prefix: string;
  windowStartMs: number;
  nowMs: number;
  keys: PublicKeyDirectory;
  /** GetTrailStatus for a trail (name, home region); omitted: no health check. */
  trailHealth?: (name: string, homeRegion: string) => Promise<TrailHealth>;
  concurrency: { accountRegions: number; objects: number };
  deadline: Deadline;
  logger: Logger;
}

export const emptyCounts = (): AuditCounts => ({ digests: 0, logFiles: 0, delivered: 0, missing: 0, repaired: 0, invalid: 0, inProgress: 0, unchecked: 0 });

export async function runAudit(deps: AuditDeps): Promise<AuditReport> {
  const folders = await findDigestFolders(deps.s3, deps.bucket, deps.prefix);
  const reports: AccountRegionReport[] = [];
  const trails = new Map<string, { name: string; homeRegion: string }>();
  await forEachLimit(folders, deps.concurrency.accountRegions, async (folder) => {
    const report: AccountRegionReport = { account: folder.account, region: folder.region, orgId: folder.orgId, ...emptyCounts(), noRecentDigest: false };
    reports.push(report);
    try {
      for (const t of await auditFolder(folder, report, deps)) trails.set(`${t.homeRegion}/${t.name}`, t);
    } catch (err) {
      const e = err as Error;
      report.error = { code: e.name || 'Error', message: e.message };
      deps.logger.error('Audit of an account-region failed', { account: folder.account, region: folder.region, code: report.error.code, error: e.message });
    }
  });
  const health: TrailHealth[] = [];
  if (deps.trailHealth) {
    const check = deps.trailHealth;
    await forEachLimit([...trails.values()], 4, async (t) => {
      health.push(await check(t.name, t.homeRegion));
    });
  }
  const summary = { ...emptyCounts(), errors: 0 };
  for (const r of reports) {
    for (const k of Object.keys(emptyCounts()) as Array<keyof AuditCounts>) summary[k] += r[k];
    if (r.error) summary.errors += 1;
  }
  reports.sort((a, b) => a.account.localeCompare(b.account) || a.region.localeCompare(b.region));
  return { summary, accountRegions: reports, trails: health };
}

async function auditFolder(folder: DigestFolder, report: AccountRegionReport, deps: AuditDeps): Promise<Array<{ name: string; homeRegion: string }>> {
  const { logger } = deps;
  const where = { account: folder.account, region: folder.region };
  const keys = await listDigestKeys(deps.s3, deps.bucket, folder, deps.windowStartMs, deps.nowMs);
  const newestListed = keys.at(-1);
  report.noRecentDigest = newestListed !== undefined && deps.nowMs - newestListed.endMs > NO_DIGEST_AFTER_MS;

  // 1. Each digest: read, and check CloudTrail signed it.
  const checked = new Map<string, CheckedDigest>();
  await forEachLimit(keys, deps.concurrency.objects, async ({ key }) => {
    const fetched = await fetchDigest(deps.s3, deps.bucket, key);
    if (!fetched) return logger.warn('Digest listed but gone before it was read', { ...where, bucket: deps.bucket, key });
    const c = await checkSignature(fetched, folder.region, deps.keys);
    const endMs = c.digest ? Date.parse(c.digest.digestEndTime) : undefined;
    if (endMs !== undefined && (endMs < deps.windowStartMs || endMs > deps.nowMs)) return; // named in the window, written outside it
    checked.set(`${deps.bucket}/${key}`, c);
    report.digests += 1;
    if (c.signatureProblem) {
      report.invalid += 1;
      logger.error('Invalid digest file: not passed off as valid, its log files are not forwarded', { ...where, bucket: deps.bucket, key, problem: c.signatureProblem });
    }
  });
  const valid = [...checked.values()].filter((c) => c.digest && !c.signatureProblem);

  // 2. The chain: every valid digest's link to the one before it (read from S3 when outside the window).
  for (const c of valid) {
    const d = c.digest!;
    if (!d.previousDigestS3Object || !d.previousDigestSignature) {
      logger.info('Digest chain starts here (trail created, or logging or validation turned back on)', { ...where, bucket: c.bucket, key: c.key });
      continue;
    }
    const prevBucket = d.previousDigestS3Bucket ?? c.bucket;
    const prev = checked.get(`${prevBucket}/${d.previousDigestS3Object}`) ?? (await fetchDigest(deps.s3, prevBucket, d.previousDigestS3Object));
    const problem = brokenLink(d, prev ? { found: true, signatureHex: prev.signatureHex, contentSha256Hex: prev.contentSha256Hex } : { found: false });
    if (problem) {
      report.invalid += 1;
      logger.error('Digest chain broken: a digest was deleted or replaced', { ...where, bucket: c.bucket, key: c.key, problem });
    }
  }
  for (const c of valid) {
    const endMs = Date.parse(c.digest!.digestEndTime);
    report.newestValidDigestMs = Math.max(report.newestValidDigestMs ?? endMs, endMs);
  }

  // 3. The log files valid digests list (a backfill digest may list a file again: once is enough).
  const files = new Map<string, DigestLogFile>();
  for (const c of valid) for (const f of c.digest!.logFiles) files.set(`${f.s3Bucket}/${f.s3Object}`, f);
  report.logFiles += files.size;
  await forEachLimit([...files.values()], deps.concurrency.objects, async (file) => {
    if (deps.deadline.reached) {
      report.unchecked += 1;
      return;
    }
    const verdict = await checkLogFile(file, deps);
    const object = { ...where, bucket: file.s3Bucket, key: file.s3Object };
    switch (verdict.result) {
      case 'delivered':
        report.delivered += 1;
        break;
      case 'repaired':
        report.repaired += 1;
        logger.warn('Log file was never delivered: forwarded now', object);
        break;
      case 'in-progress':
        report.inProgress += 1;
        break;
      case 'missing':
        report.missing += 1;
        logger.error('Log file listed in a valid digest was not delivered and could not be forwarded', { ...object, code: verdict.code });
        break;
      case 'invalid':
        report.invalid += 1;
        logger.error('Invalid log file: its content is not what CloudTrail wrote; not forwarded', { ...object, problem: verdict.problem });
        break;
    }
  });

  const trails = new Map<string, { name: string; homeRegion: string }>();
  for (const c of valid) {
    const t = trailOfDigestKey(c.key, folder.account, folder.region);
    if (t) trails.set(`${t.homeRegion}/${t.name}`, t);
  }
  return [...trails.values()];
}
