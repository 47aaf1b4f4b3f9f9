/**
 * SHA-256 of a trail object's uncompressed content, streamed (S3 body → gunzip → hash) so memory
 * does not grow with the file. CloudTrail hashes the uncompressed JSON of both log and digest files.
 */
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createStreamingGunzip } from '../gunzip';

export interface ContentHash {
  sha256Hex: string;
  /** Uncompressed bytes hashed. */
  bytes: number;
  /** The uncompressed content, only when asked for with `keep` (digest files: small, parsed next). */
  content?: Buffer;
}

export class CorruptGzipError extends Error {
  constructor(cause: unknown) {
    super(`The object is not valid gzip: ${(cause as Error)?.message ?? 'unknown error'}`);
    this.name = 'CorruptGzipError';
  }
}

const isGzip = (b: Buffer) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/**
 * Hashes the uncompressed content of `body`. A body that does not start with the gzip magic bytes
 * is hashed as it is (an S3 front that already decoded `Content-Encoding: gzip`); the hash decides
 * either way, so this leniency cannot pass off a changed file.
 */
export async function hashUncompressed(body: AsyncIterable<Uint8Array>, options: { keep?: boolean } = {}): Promise<ContentHash> {
  const iterator = body[Symbol.asyncIterator]();
  // Read just enough to see the magic bytes, then replay it ahead of the rest of the stream.
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 2 && !ended) {
    const next = await iterator.next();
    if (next.done) ended = true;
    else head = Buffer.concat([head, Buffer.from(next.value)]);
  }
  const replay = Readable.from(
    (async function* () {
      if (head.length) yield head;
      if (ended) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    })(),
  );

  const hash = createHash('sha256');
  const kept: Buffer[] = [];
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      if (options.keep) kept.push(chunk);
      done();
    },
  });
  if (isGzip(head)) {
    const gunzip = createStreamingGunzip();
    try {
      await pipeline(replay, gunzip, sink);
    } catch (err) {
      // zlib errors carry an `errno`; anything else (a dropped connection) is not the file's fault.
      if ((err as { errno?: unknown }).errno !== undefined) throw new CorruptGzipError(err);
      throw err;
    }
  } else {
    await pipeline(replay, sink);
  }
  return { sha256Hex: hash.digest('hex'), bytes, content: options.keep ? Buffer.concat(kept) : undefined };
}
