/**
 * S3's XML: the error document (`<Error><Code>…`) with the status codes S3 uses, and the
 * ListObjectsV2 result, element for element as S3 writes them.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ListPage, ListQuery } from './s3-store';

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

export class S3Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    /** Extra elements S3 adds for this code, e.g. `{ Key: 'a/b' }` or `{ BucketName: 'b' }`. */
    readonly details: Record<string, string> = {},
  ) {
    super(message);
    this.name = code;
  }
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&'"\r]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;', '\r': '&#13;' })[c] as string);
}

const el = (name: string, value: string | number | boolean | undefined) =>
  value === undefined ? '' : `<${name}>${escapeXml(String(value))}</${name}>`;

/** S3 request ids: 16 hex upper-case chars, and a longer base64 host id. */
export function requestIds(): { requestId: string; hostId: string } {
  return { requestId: randomBytes(8).toString('hex').toUpperCase(), hostId: randomBytes(48).toString('base64') };
}

export function sendXml(res: ServerResponse, status: number, xml: string, headers: Record<string, string> = {}): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
  const { requestId, hostId } = requestIds();
  res.writeHead(status, {
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
    'x-amz-request-id': requestId,
    'x-amz-id-2': hostId,
    ...headers,
  });
  res.end(body);
}

/** HEAD answers carry no body, so S3 sends only the status (the SDK names them NotFound, Forbidden, …). */
export function sendS3Error(res: ServerResponse, err: S3Error, method: string): void {
  if (method === 'HEAD') {
    const { requestId, hostId } = requestIds();
    res.writeHead(err.status, { 'x-amz-request-id': requestId, 'x-amz-id-2': hostId });
    res.end();
    return;
  }
  const { requestId, hostId } = requestIds();
  const details = Object.entries(err.details).map(([k, v]) => el(k, v)).join('');
  sendXml(res, err.status, `<Error>${el('Code', err.code)}${el('Message', err.message)}${details}${el('RequestId', requestId)}${el('HostId', hostId)}</Error>`);
}

/**
 * With `encoding-type=url`, S3 form-encodes keys, prefixes, delimiter and start-after
 * (space as `+`, `/` kept); the JS SDK v3 hands them back encoded, callers decode.
 */
function encoder(url: boolean): (s: string) => string {
  return url
    ? (s) =>
        encodeURIComponent(s)
          .replace(/%2F/g, '/')
          .replace(/%20/g, '+')
          .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    : (s) => s;
}

export function listObjectsV2Xml(bucket: string, q: ListQuery, page: ListPage, encodingType?: string): string {
  const enc = encoder(encodingType === 'url');
  const parts = [
    `<ListBucketResult xmlns="${XMLNS}">`,
    el('Name', bucket),
    el('Prefix', enc(q.prefix)),
    el('StartAfter', q.startAfter === undefined ? undefined : enc(q.startAfter)),
    el('ContinuationToken', q.continuationToken),
    el('NextContinuationToken', page.nextContinuationToken),
    el('KeyCount', page.contents.length + page.commonPrefixes.length),
    el('MaxKeys', q.maxKeys),
    el('Delimiter', q.delimiter === undefined ? undefined : enc(q.delimiter)),
    el('EncodingType', encodingType),
    el('IsTruncated', page.isTruncated),
  ];
  for (const o of page.contents) {
    parts.push(
      '<Contents>',
      el('Key', enc(o.key)),
      el('LastModified', o.lastModified.toISOString()),
      el('ETag', o.etag),
      o.checksum ? el('ChecksumAlgorithm', o.checksum.algorithm.toUpperCase()) + el('ChecksumType', 'FULL_OBJECT') : '',
      el('Size', o.body.length),
      el('StorageClass', 'STANDARD'),
      '</Contents>',
    );
  }
  for (const p of page.commonPrefixes) parts.push(`<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`);
  parts.push('</ListBucketResult>');
  return parts.join('');
}
