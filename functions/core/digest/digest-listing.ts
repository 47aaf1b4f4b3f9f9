/**
 * Finds the digest files to audit: every account and region under `[prefix/]AWSLogs/` (organization
 * trails add an `o-<id>/` level) and, per account-region, the digest keys whose end time (in the
 * file name) falls in the window. Listing goes by day folder with StartAfter, so the cost is a few
 * ListObjectsV2 calls per account-region, not a walk of the whole bucket.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** One account-region's digest folder, `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail-Digest/<region>/`. */
export interface DigestFolder {
  account: string;
  region: string;
  orgId?: string;
  folder: string;
}

export interface DigestKey {
  key: string;
  /** Digest end time from the file name (epoch ms). */
  endMs: number;
  backfill: boolean;
}

const ACCOUNT = /^\d{12}$/;
const ORG = /^o-[a-z0-9]{10,32}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
// <account>_CloudTrail-Digest_<region>_<trail>_<home region>_<YYYYMMDDTHHMMSSZ>[_backfill].json.gz
const DIGEST_NAME = /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(_backfill)?\.json\.gz$/;

/** The trail name and home region in a digest file name, for GetTrailStatus. */
export function trailOfDigestKey(key: string, account: string, region: string): { name: string; homeRegion: string } | undefined {
  const file = key.slice(key.lastIndexOf('/') + 1);
  const head = `${account}_CloudTrail-Digest_${region}_`;
  const m = DIGEST_NAME.exec(file);
  if (!file.startsWith(head) || !m) return undefined;
  const middle = file.slice(head.length, m.index); // <trail>_<home region>
  const cut = middle.lastIndexOf('_');
  if (cut <= 0 || !REGION.test(middle.slice(cut + 1))) return undefined;
  return { name: middle.slice(0, cut), homeRegion: middle.slice(cut + 1) };
}

export function parseDigestKey(key: string): DigestKey | undefined {
  const m = DIGEST_NAME.exec(key);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, backfill] = m;
  return { key, endMs: Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!), backfill: Boolean(backfill) };
}

async function childFolders(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const names = new Set<string>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) names.add(p.Prefix.slice(prefix.length, -1));
    // S3 lists only keys right under the prefix here; a store that ignores the delimiter lists
    // deeper ones, whose first segment is the folder all the same.
    for (const o of page.Contents ?? []) {
      const rest = o.Key?.slice(prefix.length) ?? '';
      if (rest.includes('/')) names.add(rest.slice(0, rest.indexOf('/')));
    }
    token = page.NextContinuationToken;
  } while (token);
  return [...names];
}

/** Each account-region that has a CloudTrail-Digest folder under the prefix, as it is found. */
export async function* digestFolders(s3: S3Client, bucket: string, prefix: string): AsyncGenerator<DigestFolder> {
  const root = prefix ? `${prefix}/AWSLogs/` : 'AWSLogs/';
  for (const name of await childFolders(s3, bucket, root)) {
    const accounts = ACCOUNT.test(name)
      ? [{ account: name, base: `${root}${name}/`, orgId: undefined as string | undefined }]
      : ORG.test(name)
        ? (await childFolders(s3, bucket, `${root}${name}/`)).filter((a) => ACCOUNT.test(a)).map((a) => ({ account: a, base: `${root}${name}/${a}/`, orgId: name }))
        : [];
    for (const a of accounts) {
      for (const region of await childFolders(s3, bucket, `${a.base}CloudTrail-Digest/`)) {
        if (REGION.test(region)) yield { account: a.account, region, orgId: a.orgId, folder: `${a.base}CloudTrail-Digest/${region}/` };
      }
    }
  }
}

export async function findDigestFolders(s3: S3Client, bucket: string, prefix: string): Promise<DigestFolder[]> {
  const folders: DigestFolder[] = [];
  for await (const f of digestFolders(s3, bucket, prefix)) folders.push(f);
  return folders;
}

const dayFolder = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '/') + '/';

/** Digest keys of one folder whose file-name end time lies in [startMs, endMs], oldest first. */
export async function listDigestKeys(s3: S3Client, bucket: string, folder: DigestFolder, startMs: number, endMs: number): Promise<DigestKey[]> {
  const keys: DigestKey[] = [];
  for (let day = Date.UTC(new Date(startMs).getUTCFullYear(), new Date(startMs).getUTCMonth(), new Date(startMs).getUTCDate()); day <= endMs; day += 86_400_000) {
    const prefix = folder.folder + dayFolder(day);
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const parsed = o.Key ? parseDigestKey(o.Key) : undefined;
        if (parsed && parsed.endMs >= startMs && parsed.endMs <= endMs) keys.push(parsed);
      }
      token = page.NextContinuationToken;
    } while (token);
  }
  return keys.sort((a, b) => a.endMs - b.endMs || a.key.localeCompare(b.key));
}
