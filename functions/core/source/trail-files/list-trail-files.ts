/**
 * Lists a trail's log and Insight files whose delivery time lies in [from, to], walking the key
 * layout (organization → account → log kind → region → day) instead of the whole bucket, so a
 * day of an organization costs a few hundred ListObjectsV2 pages, not a scan of every key.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { normaliseEtag } from '../../checkpoint/object-ledger';
import { toReadError } from './object-reader';
import { isForwardedKind, parseTrailKey } from './trail-keys';

export interface ListedObject {
  bucket: string;
  key: string;
  etag: string;
}

export interface ListRange {
  bucket: string;
  /** The trail's prefix without a trailing slash ('' for none). */
  prefix: string;
  from: Date;
  to: Date;
}

const KINDS = ['CloudTrail', 'CloudTrail-Insight'];
const DAY_MS = 86_400_000;

/** Every forwarded file in the range, sorted by key. */
export async function listTrailFiles(s3: S3Client, range: ListRange): Promise<ListedObject[]> {
  const base = `${range.prefix ? `${range.prefix}/` : ''}AWSLogs/`;
  const top = await folders(s3, range.bucket, base);
  const accounts: string[] = [];
  for (const p of top) {
    if (/\/o-[a-z0-9]+\/$/.test(p)) accounts.push(...(await folders(s3, range.bucket, p)));
    else accounts.push(p);
  }
  const days: string[] = [];
  for (let t = Date.UTC(range.from.getUTCFullYear(), range.from.getUTCMonth(), range.from.getUTCDate()); t <= range.to.getTime(); t += DAY_MS) {
    days.push(new Date(t).toISOString().slice(0, 10).replace(/-/g, '/'));
  }
  const out: ListedObject[] = [];
  for (const account of accounts) {
    for (const kind of KINDS) {
      for (const region of await folders(s3, range.bucket, `${account}${kind}/`)) {
        for (const day of days) {
          for (const o of await objects(s3, range.bucket, `${region}${day}/`)) {
            if (!isForwardedKind(parseTrailKey(o.key).kind)) continue;
            const at = deliveredAt(o.key);
            if (at !== undefined && (at < range.from.getTime() || at > range.to.getTime())) continue;
            out.push(o);
          }
        }
      }
    }
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The `YYYYMMDDTHHmmZ` stamp CloudTrail puts in a file's name, as epoch ms. */
export function deliveredAt(key: string): number | undefined {
  const m = /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_/.exec(key.slice(key.lastIndexOf('/')));
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) : undefined;
}

async function folders(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const page of pages(s3, bucket, prefix, '/')) out.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix ?? '').filter(Boolean));
  return out;
}

async function objects(s3: S3Client, bucket: string, prefix: string): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  for await (const page of pages(s3, bucket, prefix)) {
    for (const o of page.Contents ?? []) if (o.Key) out.push({ bucket, key: o.Key, etag: normaliseEtag(o.ETag ?? '') });
  }
  return out;
}

async function* pages(s3: S3Client, bucket: string, prefix: string, delimiter?: string) {
  let token: string | undefined;
  do {
    let page;
    try {
      page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token }));
    } catch (err) {
      throw toReadError(err, bucket, prefix);
    }
    yield page;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/**
 * The newest log file of one account and region of the trail (the connector's region when the
 * trail has it), found by descending the newest year, month and day: a handful of list calls.
 */
export async function newestTrailFile(s3: S3Client, bucket: string, prefix: string, preferRegion?: string): Promise<ListedObject | undefined> {
  const base = `${prefix ? `${prefix}/` : ''}AWSLogs/`;
  const accounts: string[] = [];
  for (const p of await folders(s3, bucket, base)) {
    if (/\/o-[a-z0-9]+\/$/.test(p)) accounts.push(...(await folders(s3, bucket, p)));
    else accounts.push(p);
  }
  for (const account of accounts.slice(0, 5)) {
    const regions = await folders(s3, bucket, `${account}CloudTrail/`);
    const region = regions.find((r) => preferRegion && r.endsWith(`/${preferRegion}/`)) ?? regions[0];
    if (!region) continue;
    let level = region;
    for (let depth = 0; depth < 3; depth++) {
      const next = (await folders(s3, bucket, level)).sort().pop();
      if (!next) break;
      level = next;
    }
    const files = (await objects(s3, bucket, level)).filter((o) => parseTrailKey(o.key).kind === 'log');
    if (files.length > 0) return files.sort((a, b) => (a.key < b.key ? -1 : 1))[files.length - 1];
  }
  return undefined;
}
