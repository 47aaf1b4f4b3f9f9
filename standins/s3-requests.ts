/**
 * Reading S3 requests: SigV4 with S3's error codes and bucket-region check, the
 * ListObjectsV2 query, a `Range` header, and `x-amz-meta-*` user metadata.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ListQuery } from './s3-store';
import { S3Error } from './s3-xml';
import type { CredentialRegistry, Principal } from './sigv4';

/** Verify SigV4 as S3 does; throws the S3Error S3 would answer with. */
export async function authorize(registry: CredentialRegistry, req: IncomingMessage, body: Buffer, bucketRegion?: string): Promise<Principal> {
  if (req.headers.authorization && req.headers['x-amz-content-sha256'] === undefined) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256', 400);
  }
  const v = await registry.verify({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body }, 's3', { s3: true });
  if (!v.ok) {
    switch (v.reason) {
      case 'missing':
        throw new S3Error('AccessDenied', 'Access Denied', 403);
      case 'malformed':
        throw new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${v.message}`, 400);
      case 'unknown-key':
        throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', 403, { AWSAccessKeyId: v.accessKeyId });
      case 'bad-signature':
        throw new S3Error(
          'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
          403,
          { AWSAccessKeyId: v.accessKeyId },
        );
      case 'expired-token':
        throw new S3Error('ExpiredToken', 'The provided token has expired.', 400);
    }
  }
  if (bucketRegion !== undefined && v.region !== bucketRegion) {
    throw new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${v.region}' is wrong; expecting '${bucketRegion}'`, 400, {
      Region: bucketRegion,
    });
  }
  return v.principal;
}

export function parseListQuery(q: URLSearchParams): { query: ListQuery; encodingType?: string } {
  const maxKeysText = q.get('max-keys');
  const maxKeys = maxKeysText === null ? 1000 : Number(maxKeysText);
  if (!Number.isInteger(maxKeys) || maxKeys < 0) {
    throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', 400, { ArgumentName: 'max-keys', ArgumentValue: String(maxKeysText) });
  }
  const encodingType = q.get('encoding-type') ?? undefined;
  if (encodingType !== undefined && encodingType !== 'url') {
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', 400, { ArgumentName: 'encoding-type', ArgumentValue: encodingType });
  }
  const token = q.get('continuation-token') ?? undefined;
  if (token === '') throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', 400, { ArgumentName: 'continuation-token' });
  return {
    query: {
      prefix: q.get('prefix') ?? '',
      delimiter: q.get('delimiter') || undefined,
      maxKeys: Math.min(maxKeys, 1000),
      startAfter: q.get('start-after') ?? undefined,
      continuationToken: token,
    },
    encodingType,
  };
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` → inclusive byte range; absent or multi-range → whole object. */
export function parseRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!value) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // S3 ignores ranges it cannot parse
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) {
    throw new S3Error('InvalidRange', 'The requested range is not satisfiable', 416, { RangeRequested: value, ActualObjectSize: String(size) });
  }
  return { start, end };
}

export function userMetadata(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) out[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}
