/**
 * Bench section `audit` (npm run bench -- --only=audit [--quick] [--audit-grid=accounts,regions,hours]):
 * what the trail audit costs. A trail of A accounts × R regions × H hours (12 log files an hour
 * per account-region, CloudTrail's 5-minute rhythm, signed and chained digests) in the S3
 * stand-in, every file already in the ledger (the steady state), then one run of the real handler,
 * bundled, in a child process. Figures: S3 requests by operation, DynamoDB calls, the worker's CPU
 * per account-region-hour, and the wall time for the whole grid (default 100 × 4 × 24, the
 * issue's figure; --quick 10 × 4 × 6). Trail files, digests, public keys and trail status come
 * from the stand-ins (buildTrailFiles, writeDigestChain, the CloudTrail stand-in).
 */
import { fork } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { build } from 'esbuild';
import { ObjectLedger } from '../../functions/core/checkpoint/object-ledger';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { hashUncompressed } from '../../functions/core/digest/content-hash';
import { buildTrailFiles, loadRecords, putTrailFiles, startStandIns, writeDigestChain } from '../../standins';
import { REPO_ROOT, WORK_DIR } from './bundle';
import type { AuditInvokeResult } from './audit-worker';
import { startDdbMeter } from './ddb-meter';

export interface AuditGrid {
  accounts: number;
  regions: number;
  hours: number;
}

export interface AuditBenchResult {
  grid: AuditGrid & { filesPerHour: number; recordsPerFile: number };
  accountRegionHours: number;
  digests: number;
  logFiles: number;
  summary?: unknown;
  error?: { name: string; message: string };
  wallSeconds: number;
  cpuSeconds: number;
  maxRssMB: number;
  s3Requests: Record<string, number>;
  dynamoDbCalls: Record<string, number>;
  perAccountRegionHour: { s3Requests: number; s3GetObject: number; s3List: number; dynamoDbCalls: number; cpuMs: number; s3BytesServed: number; uncompressedBytes: number };
  setupSeconds: number;
  /** gunzip + SHA-256 of real trail JSON in this process, streamed: what a file's size adds. */
  hashMBPerCpuSecond: number;
}

/** Uncompressed MB of real records (the fixture, repeated) hashed per CPU second, streamed in 64 KiB chunks. */
async function hashThroughput(): Promise<number> {
  const records = loadRecords();
  const file = gzipSync(JSON.stringify({ Records: Array.from({ length: 2000 }, (_, i) => records[i % records.length]) }));
  const uncompressed = JSON.stringify({ Records: Array.from({ length: 2000 }, (_, i) => records[i % records.length]) }).length;
  const chunks = Array.from({ length: Math.ceil(file.length / 65536) }, (_, i) => file.subarray(i * 65536, (i + 1) * 65536));
  await hashUncompressed(Readable.from(chunks)); // warm-up
  const cpu = process.cpuUsage();
  const rounds = 20;
  for (let i = 0; i < rounds; i++) await hashUncompressed(Readable.from(chunks));
  const used = process.cpuUsage(cpu);
  return Math.round((rounds * uncompressed) / 2 ** 20 / ((used.user + used.system) / 1e6));
}

/** `--audit-grid=accounts,regions,hours`; default 100 × 4 × 24, --quick 10 × 4 × 6. */
export function auditGridFrom(flag: string | undefined, quick: boolean): AuditGrid {
  const [accounts, regions, hours] = (flag ?? (quick ? '10,4,6' : '100,4,24')).split(',').map(Number);
  if (![accounts, regions, hours].every((n) => Number.isInteger(n) && n! > 0) || regions! > 4) throw new Error('--audit-grid=accounts,regions(1-4),hours');
  return { accounts: accounts!, regions: regions!, hours: hours! };
}

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2'];
const FILES_PER_HOUR = 12;
/** Real fixture records (~1.4 KB each): 5 a file keeps 115,200 files in the stand-in's memory. */
const RECORDS_PER_FILE = 5;
const WORKER = path.join(WORK_DIR, 'audit-worker', 'index.js');
const ORG_ID = 'o-bench12345';

export async function auditBench(grid: AuditGrid, say: (msg: string) => void): Promise<AuditBenchResult> {
  await build({
    entryPoints: [path.join(REPO_ROOT, 'scripts', 'bench', 'audit-worker.ts')],
    outfile: WORKER,
    bundle: true, platform: 'node', target: 'node22', format: 'cjs', minify: true, sourcemap: true, sourcesContent: false, logLevel: 'warning',
    absWorkingDir: REPO_ROOT,
  });
  const t0 = Date.now();
  const s = await startStandIns({ region: 'us-east-1' });
  const meter = await startDdbMeter(s.dynamodb.url);
  try {
    const bucket = 'bench-org-trail';
    const connectorName = 'audit-bench';
    s.s3.createBucket(bucket);
    s.putConnectorSecret(s.connector({ connectorName }));
    const trailName = 'org-trail';
    s.cloudtrail.trails.addTrail({ name: trailName, accountId: s.accountId, homeRegion: 'us-east-1', bucket, organization: true, multiRegion: true, logFileValidation: true });
    // Hourly digests; the newest ends at the last full hour, all inside the lookback.
    const from = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - grid.hours * 3_600_000);
    const accounts = Array.from({ length: grid.accounts }, (_, i) => String(100000000000 + i));
    const regions = REGIONS.slice(0, grid.regions);
    const etags = new Map<string, string>();
    let digests = 0;
    let uncompressedBytes = 0;
    for (const account of accounts) {
      // One account at a time: the generated files are dropped once stored.
      const files = buildTrailFiles({ accountIds: [account], regions, orgId: ORG_ID, from, hours: grid.hours, intervalMinutes: 60 / FILES_PER_HOUR, recordsPerFile: RECORDS_PER_FILE, seed: digests + 1 });
      putTrailFiles(s.s3, bucket, files).forEach((o, i) => etags.set(files[i]!.key, o.etag));
      uncompressedBytes += files.reduce((n, f) => n + f.json.length, 0);
      for (const region of regions) {
        digests += writeDigestChain(s.s3, s.cloudtrail.trails, { bucket, orgId: ORG_ID, accountId: account, region, trailName, homeRegion: 'us-east-1', files, from, hours: grid.hours }).length;
      }
    }
    // The steady state: every file already delivered (the normal path's ledger items).
    const doc = DynamoDBDocumentClient.from(s.dynamodb.client());
    const ledger = new ObjectLedger(doc, s.dynamodb.tableName, connectorName);
    const items = [...etags].map(([k, etag]) => {
      const ref = { bucket, key: k, etag: etag.replace(/"/g, '') };
      return { pk: ledger.pkOf(ref), ...ref, status: 'done', delivered: RECORDS_PER_FILE, records: RECORDS_PER_FILE, forwarded: RECORDS_PER_FILE };
    });
    for (let i = 0; i < items.length; i += 25) {
      await doc.send(new BatchWriteCommand({ RequestItems: { [s.dynamodb.tableName]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
    }
    const setupSeconds = Math.round((Date.now() - t0) / 1000);
    say(`audit: ${digests.toLocaleString('en-US')} digests and ${items.length.toLocaleString('en-US')} log files placed in ${setupSeconds} s; running the handler`);
    s.s3.resetStats();
    meter.reset();

    mkdirSync(path.join(WORK_DIR, 'logs'), { recursive: true });
    const child = fork(WORKER, [], {
      env: { PATH: process.env.PATH ?? '', ...s.env, AWS_ENDPOINT_URL_DYNAMODB: meter.url, AUDIT_BUCKET: bucket, AUDIT_PREFIX: '', AUDIT_LOOKBACK_HOURS: String(grid.hours + 1), POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' },
      // BENCH_WORKER_NODE_ARGS adds node flags (e.g. --max-old-space-size=900, near what Lambda gives 1,024 MB).
      execArgv: ['--enable-source-maps', ...(process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const log = createWriteStream(path.join(WORK_DIR, 'logs', 'audit.log'));
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    await new Promise<void>((resolve) => child.once('message', () => resolve()));
    const result = await new Promise<AuditInvokeResult>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`audit worker exited with ${code}; see .bench/logs/audit.log`)));
      child.once('message', (m: AuditInvokeResult) => resolve(m));
      child.send({ type: 'invoke', timeoutMs: 900_000 });
    });

    const stats = s.s3.stats();
    const ddb = meter.report().byOperation;
    const dynamoDbCalls = Object.fromEntries(Object.entries(ddb).map(([op, c]) => [op, c.calls]));
    const arh = grid.accounts * grid.regions * grid.hours;
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    const per = (n: number) => Math.round((n / arh) * 100) / 100;
    const cpuMs = result.cpuUserMs + result.cpuSystemMs;
    const figures = {
      grid: { ...grid, filesPerHour: FILES_PER_HOUR, recordsPerFile: RECORDS_PER_FILE },
      accountRegionHours: arh,
      digests,
      logFiles: items.length,
      summary: result.summary,
      error: result.error,
      wallSeconds: Math.round(result.wallMs / 100) / 10,
      cpuSeconds: Math.round(cpuMs / 100) / 10,
      maxRssMB: result.maxRssMB,
      s3Requests: stats.operations,
      dynamoDbCalls,
      perAccountRegionHour: {
        s3Requests: per(sum(stats.operations)),
        s3GetObject: per(stats.operations.GetObject ?? 0),
        s3List: per(stats.operations.ListObjectsV2 ?? 0),
        dynamoDbCalls: per(sum(dynamoDbCalls)),
        cpuMs: per(cpuMs),
        s3BytesServed: per(stats.bytesServed),
        uncompressedBytes: per(uncompressedBytes),
      },
      setupSeconds,
      hashMBPerCpuSecond: await hashThroughput(),
    };
    say(
      `audit: ${grid.accounts} accounts × ${grid.regions} regions × ${grid.hours} h in ${figures.wallSeconds} s wall, ${figures.cpuSeconds} s CPU, ` +
        `peak RSS ${figures.maxRssMB} MB; per account-region-hour ${figures.perAccountRegionHour.s3Requests} S3 requests ` +
        `(${figures.perAccountRegionHour.s3GetObject} GetObject), ${figures.perAccountRegionHour.dynamoDbCalls} DynamoDB calls, ${figures.perAccountRegionHour.cpuMs} ms CPU; ` +
        `hashing ${figures.hashMBPerCpuSecond} MB (uncompressed) per CPU second; summary ${JSON.stringify(result.summary ?? result.error)}`,
    );
    return figures;
  } finally {
    await meter.close();
    await s.stop();
  }
}
