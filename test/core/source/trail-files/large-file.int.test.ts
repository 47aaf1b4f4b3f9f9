/**
 * A 200 MB (uncompressed) trail file: streamed, delivered once, resumed across deadlines, with
 * the reader's peak RSS measured in a child process (SPEC.md: memory does not grow with file
 * size). 200 MB by default (~30 s); LARGE_FILE_MB sets another size.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { putLargeTrailFile } from '../../../../standins';
import { useStandIns } from '../../../helpers/standins';
import { putTrailFile, recordsFor, trailKey } from '../../../helpers/trail-files';

const run = promisify(execFile);
const env = useStandIns();
const MB = 2 ** 20;
const SIZE_MB = Number(process.env.LARGE_FILE_MB ?? 200);

interface ChildResult {
  outcomes: { status: string; forwarded: number; duplicatesSkipped: number; code?: string }[];
  maxRssBytes: number;
}

async function forwardInChild(connectorName: string, bucket: string, key: string, deadlineMs: number, msPerBatch = 0): Promise<ChildResult> {
  const s = env();
  const tsx = resolve(__dirname, '../../../../node_modules/.bin/tsx');
  const { stdout } = await run(tsx, [resolve(__dirname, 'large-file-child.ts')], {
    env: { ...process.env, ...s.env, CONNECTOR_JSON: JSON.stringify(s.connector({ connectorName })), BUCKET: bucket, KEY: key, DEADLINE_MS: String(deadlineMs), MS_PER_BATCH: String(msPerBatch) },
    maxBuffer: 10 * MB,
    timeout: 170_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ChildResult;
}

describe('a very large trail file', () => {
  it(`is delivered once, resumed across deadlines, with peak RSS under 256 MB and within 128 MB of a small file's (${SIZE_MB} MB)`, async () => {
    const s = env();
    s.s3.createBucket('big-trail');
    const smallKey = trailKey({ account: '111122223333', region: 'us-east-1', name: 'small' });
    putTrailFile(s, 'big-trail', smallKey, recordsFor('111122223333', 'us-east-1', 'small', 48));
    const small = await forwardInChild('big-small', 'big-trail', smallKey, 600_000);
    expect(small.outcomes.map((o) => o.status)).toEqual(['delivered']);

    const key = trailKey({ account: '111122223333', region: 'us-east-1', name: 'large' });
    const file = await putLargeTrailFile(s.s3, 'big-trail', key, { accountId: '111122223333', region: 'us-east-1', uncompressedBytes: SIZE_MB * MB, from: new Date('2026-12-01T00:00:00Z'), level: 1 });
    s.dnif.clear();
    // 8 s of work a run (10 s less the 2 s reserve) at 100 ms a batch: 80 batches, 40,000 records a run.
    const large = await forwardInChild('big-large', 'big-trail', key, 10_000, 100);

    const statuses = large.outcomes.map((o) => o.status);
    expect(statuses[statuses.length - 1]).toBe('delivered');
    expect(statuses.length).toBeGreaterThan(1); // it did stop at a deadline and resume
    expect(large.outcomes.reduce((n, o) => n + o.forwarded, 0)).toBe(file.records);
    expect(s.dnif.eventsById().size).toBe(file.records);
    expect(s.dnif.duplicates).toBe(0);
    process.stdout.write(`large file: ${file.records} records, ${SIZE_MB} MB, ${statuses.length} invocations, peak RSS ${(large.maxRssBytes / MB).toFixed(0)} MB (small file ${(small.maxRssBytes / MB).toFixed(0)} MB)\n`);
    expect(large.maxRssBytes).toBeLessThan(256 * MB);
    expect(large.maxRssBytes - small.maxRssBytes).toBeLessThan(128 * MB);
  }, 180_000);
});
