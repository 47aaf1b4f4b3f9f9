/**
 * PutObject payloads as the SDK sends them: a plain body whose SHA-256 the signature
 * covers, `UNSIGNED-PAYLOAD`, or `aws-chunked` framing with a trailing checksum
 * (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, what @aws-sdk/client-s3 uses for stream bodies).
 * Flexible checksums (`x-amz-checksum-crc32` / `-sha256` / `-sha1`) are checked as S3 does.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { crc32 } from 'node:zlib';
import { S3Error } from './s3-xml';

export interface DecodedPayload {
  body: Buffer;
  checksum?: { algorithm: string; value: string };
}

function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Base64 checksum of `body` for S3's flexible checksum algorithms we can compute locally. */
export function checksumOf(algorithm: string, body: Buffer): string | undefined {
  switch (algorithm) {
    case 'crc32': {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(crc32(body) >>> 0);
      return b.toString('base64');
    }
    case 'sha256':
    case 'sha1':
      return createHash(algorithm).update(body).digest('base64');
    default:
      return undefined; // crc32c, crc64nvme: accepted unchecked
  }
}

/** Undo aws-chunked framing: `<hex size>[;ext]\r\n<data>\r\n` … `0\r\n<trailers>\r\n`. */
export function decodeAwsChunked(raw: Buffer): { body: Buffer; trailers: Record<string, string> } {
  const bad = () => new S3Error('IncompleteBody', 'The request body terminated unexpectedly', 400);
  const chunks: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', pos);
    if (eol < 0) throw bad();
    const size = parseInt(raw.subarray(pos, eol).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size) || size < 0) throw bad();
    pos = eol + 2;
    if (size === 0) break;
    if (pos + size + 2 > raw.length) throw bad();
    chunks.push(raw.subarray(pos, pos + size));
    pos += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of raw.subarray(pos).toString('latin1').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) trailers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { body: Buffer.concat(chunks), trailers };
}

/** The object bytes of a PutObject request, with its checksum verified; throws S3Error. */
export function decodePutPayload(headers: IncomingHttpHeaders, raw: Buffer): DecodedPayload {
  const contentSha = headerOf(headers, 'x-amz-content-sha256');
  let body = raw;
  let checksumHeaders: Record<string, string | undefined> = headers as Record<string, string | undefined>;
  if (contentSha === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') {
    const decoded = decodeAwsChunked(raw);
    body = decoded.body;
    checksumHeaders = { ...checksumHeaders, ...decoded.trailers };
    const declared = Number(headerOf(headers, 'x-amz-decoded-content-length'));
    if (!Number.isFinite(declared) || declared !== body.length) {
      throw new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header', 400);
    }
  } else if (contentSha?.startsWith('STREAMING-')) {
    throw new S3Error('NotImplemented', `The stand-in does not verify ${contentSha} chunk signatures`, 501);
  }

  for (const algorithm of ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256']) {
    const value = checksumHeaders[`x-amz-checksum-${algorithm}`];
    if (value === undefined) continue;
    const expected = checksumOf(algorithm, body);
    if (expected !== undefined && expected !== value) {
      throw new S3Error('BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`, 400);
    }
    return { body, checksum: { algorithm, value } };
  }
  return { body };
}
