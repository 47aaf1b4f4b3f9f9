/**
 * Reads one trail file from S3 as a stream of record texts: GetObject → gunzip (when the body
 * starts with gzip's magic bytes) → RecordsScanner. Nothing holds more than a chunk and one
 * record, whatever the file's size. Failures come out as ObjectReadError with a stable code.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { normaliseEtag } from '../../checkpoint/object-ledger';
import { createStreamingGunzip } from '../../gunzip';
import { RecordsScanner, TrailJsonError, type ScannedRecord } from './records-scanner';

/** Stable codes for an object that could not be read (logs, metrics, the audit, test connection). */
export type ReadErrorCode = 'AccessDenied' | 'KMSAccessDenied' | 'NoSuchKey' | 'NoSuchBucket' | 'CorruptGzip' | 'CorruptJson' | 'S3Unavailable';

export class ObjectReadError extends Error {
  constructor(
    readonly code: ReadErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ObjectReadError';
  }
  /** Worth another try soon (S3 5xx, a reset mid-stream); the others need someone to act. */
  get transient(): boolean {
    return this.code === 'S3Unavailable';
  }
}

export interface OpenedObject {
  etag: string;
  /**
   * The records in file order, each checked as JSON (record-reader.ts), as many at a time as a
   * chunk completes (possibly none): one await a chunk, not one a record.
   */
  records: AsyncGenerator<ScannedRecord[]>;
}

/**
 * The object's ETag (no quotes), for notifications that carry none (CloudTrail's SNS, replay).
 * A one-byte GET rather than HEAD: its errors have a body (the code, and the bucket's region when
 * it is elsewhere), and it needs only s3:GetObject. An empty object answers 416: then HEAD.
 */
export async function headEtag(s3: S3Client, bucket: string, key: string): Promise<string> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=0-0' }));
    (out.Body as Readable | undefined)?.destroy();
    return normaliseEtag(out.ETag ?? '');
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 416) throw toReadError(err, bucket, key);
  }
  try {
    const out = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return normaliseEtag(out.ETag ?? '');
  } catch (err) {
    throw toReadError(err, bucket, key);
  }
}

export async function openTrailObject(s3: S3Client, bucket: string, key: string): Promise<OpenedObject> {
  let out;
  try {
    out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    throw toReadError(err, bucket, key);
  }
  const body = out.Body as Readable | undefined;
  if (!body) throw new ObjectReadError('S3Unavailable', `GetObject s3://${bucket}/${key} returned no body`);
  return { etag: normaliseEtag(out.ETag ?? ''), records: recordsOf(body, out.ContentLength, bucket, key) };
}

async function* recordsOf(body: Readable, contentLength: number | undefined, bucket: string, key: string): AsyncGenerator<ScannedRecord[]> {
  const where = `s3://${bucket}/${key}`;
  let received = 0;
  const cutShort = () => contentLength !== undefined && received < contentLength;
  const scanner = new RecordsScanner();
  let gunzip: ReturnType<typeof createStreamingGunzip> | undefined;
  try {
    const source = body[Symbol.asyncIterator]();
    const first = await nextChunk(source, where);
    if (first === undefined) throw new ObjectReadError('CorruptJson', `${where} is empty`);
    received += first.length;
    if (first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b) {
      gunzip = createStreamingGunzip();
      const inflate = gunzip;
      // Pump the body into gunzip ourselves so a network failure is told apart from bad gzip.
      const pump = (async () => {
        try {
          if (!inflate.write(first)) await drained(inflate);
          for (let c = await nextChunk(source, where); c !== undefined; c = await nextChunk(source, where)) {
            received += c.length;
            if (!inflate.write(c)) await drained(inflate);
          }
          inflate.end();
        } catch (err) {
          inflate.destroy(err as Error);
        }
      })();
      try {
        for await (const plain of inflate) yield scanner.push(plain as Buffer);
      } catch (err) {
        if (err instanceof ObjectReadError || err instanceof TrailJsonError) throw err;
        if (cutShort()) throw new ObjectReadError('S3Unavailable', `${where}: the download stopped after ${received} of ${contentLength} bytes`);
        throw new ObjectReadError('CorruptGzip', `${where} is not valid gzip: ${(err as Error).message}`);
      }
      await pump;
    } else {
      yield scanner.push(first);
      for (let c = await nextChunk(source, where); c !== undefined; c = await nextChunk(source, where)) {
        received += c.length;
        yield scanner.push(c);
      }
    }
    if (cutShort()) throw new ObjectReadError('S3Unavailable', `${where}: the download stopped after ${received} of ${contentLength} bytes`);
    scanner.end();
  } catch (err) {
    if (err instanceof TrailJsonError) throw new ObjectReadError('CorruptJson', `${where}: ${err.message}`);
    throw err;
  } finally {
    gunzip?.destroy();
    body.destroy();
  }
}

async function nextChunk(source: AsyncIterator<unknown>, where: string): Promise<Buffer | undefined> {
  try {
    const r = await source.next();
    if (r.done) return undefined;
    return Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
  } catch (err) {
    throw new ObjectReadError('S3Unavailable', `${where}: the download failed part way (${(err as Error).message})`);
  }
}

const drained = (stream: NodeJS.WritableStream): Promise<void> =>
  new Promise((resolve, reject) => {
    const done = () => {
      stream.off('error', fail);
      stream.off('close', done);
      resolve();
    };
    const fail = (err: Error) => {
      stream.off('drain', done);
      stream.off('close', done);
      reject(err);
    };
    stream.once('drain', done);
    stream.once('close', done);
    stream.once('error', fail);
  });

/** Maps S3's error codes to ours, with a message naming the object and what to check. */
export function toReadError(err: unknown, bucket: string, key: string): ObjectReadError {
  if (err instanceof ObjectReadError) return err;
  const e = err as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.Code ?? e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const message = e.message ?? String(err);
  const where = `s3://${bucket}/${key}`;
  if (name.startsWith('KMS.') || /kms/i.test(message) || name === 'KMSAccessDenied') {
    return new ObjectReadError('KMSAccessDenied', `${where}: the object's KMS key refused to decrypt (${name}): give the reader kms:Decrypt on the trail's key`);
  }
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    return new ObjectReadError('AccessDenied', `${where}: access denied (${name || status}): the reader needs s3:GetObject on the trail's prefix`);
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return name === 'NoSuchBucket'
      ? new ObjectReadError('NoSuchBucket', `${where}: the bucket does not exist`)
      : new ObjectReadError('NoSuchKey', `${where}: the object does not exist (deleted, or a lifecycle rule removed it)`);
  }
  if (name === 'NoSuchBucket') return new ObjectReadError('NoSuchBucket', `${where}: the bucket does not exist`);
  return new ObjectReadError('S3Unavailable', `${where}: S3 could not serve the object (${name || status || message})`);
}
