/**
 * One log file a valid digest lists: its SHA-256 (uncompressed, streamed) must equal the digest's
 * `hashValue`, and the object ledger must show it delivered. A file the ledger does not know is
 * forwarded now through the normal path; one that cannot be read or forwarded is `missing`; a
 * wrong hash is `invalid` and never forwarded.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CorruptGzipError, hashUncompressed } from '../core/digest/content-hash';
import type { DigestLogFile } from '../core/digest/digest-file';

export interface ObjectRef {
  bucket: string;
  key: string;
  /** Without quotes. */
  etag: string;
}

/** What forwarding one object through the normal path achieved (the S3 source's ObjectOutcome, narrowed). */
export interface RepairOutcome {
  status: 'delivered' | 'already-delivered' | 'continued' | 'failed';
  /** Stable error code when failed (AccessDenied, NoSuchKey, DnifUnavailable, ...). */
  code?: string;
}

/**
 * What the object ledger says: `done` (every record acknowledged), `busy` (the normal path holds it
 * now: a live lease or recent progress), or `not-delivered` (unknown, failed, or stalled).
 */
export type LedgerState = 'done' | 'busy' | 'not-delivered';

export interface LogFileDeps {
  s3: S3Client;
  ledgerState(ref: ObjectRef): Promise<LedgerState>;
  repair(ref: ObjectRef): Promise<RepairOutcome>;
}

export type LogFileVerdict =
  | { result: 'delivered' | 'repaired' | 'in-progress'; ref: ObjectRef }
  | { result: 'missing'; code: string }
  | { result: 'invalid'; problem: string };

export async function checkLogFile(file: DigestLogFile, deps: LogFileDeps): Promise<LogFileVerdict> {
  let res;
  try {
    res = await deps.s3.send(new GetObjectCommand({ Bucket: file.s3Bucket, Key: file.s3Object }));
  } catch (err) {
    return { result: 'missing', code: (err as Error).name || 'GetObjectFailed' };
  }
  let sha256Hex: string;
  try {
    ({ sha256Hex } = await hashUncompressed(res.Body as AsyncIterable<Uint8Array>));
  } catch (err) {
    if (err instanceof CorruptGzipError) return { result: 'invalid', problem: err.message };
    return { result: 'missing', code: (err as Error).name || 'ReadFailed' };
  }
  if (sha256Hex !== file.hashValue.toLowerCase()) {
    return { result: 'invalid', problem: `SHA-256 of the content is ${sha256Hex}, the digest lists ${file.hashValue.toLowerCase()}` };
  }
  const ref: ObjectRef = { bucket: file.s3Bucket, key: file.s3Object, etag: (res.ETag ?? '').replace(/"/g, '') };
  const state = await deps.ledgerState(ref);
  if (state === 'done') return { result: 'delivered', ref };
  if (state === 'busy') return { result: 'in-progress', ref };
  const outcome = await deps.repair(ref);
  if (outcome.status === 'delivered') return { result: 'repaired', ref };
  if (outcome.status === 'already-delivered') return { result: 'delivered', ref };
  // The rest is durably handed on (ledger progress, continuation): the next audit sees it done.
  if (outcome.status === 'continued') return { result: 'in-progress', ref };
  return { result: 'missing', code: outcome.code ?? 'RepairFailed' };
}
