/**
 * Credentials the stand-ins know, and a real AWS Signature Version 4 verifier.
 *
 * The verifier recomputes each request's signature with @smithy/signature-v4 (the signer
 * the AWS SDK itself uses) from the secret on file, over only the headers the client
 * says it signed and the exact body bytes received, so a wrong secret, a tampered body
 * or a wrong region/service scope fails exactly as it would against AWS.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual, type BinaryLike } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

/** A Checksum over node:crypto, the shape SignatureV4 expects (`new Sha256(secret?)`). */
export class Sha256 {
  private readonly secret?: BinaryLike;
  private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret = secret === undefined ? undefined : toBinary(secret);
    this.hash = this.fresh();
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
  private fresh() {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
}

function toBinary(data: string | ArrayBuffer | ArrayBufferView): BinaryLike {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** One access key and who it belongs to. */
export interface Principal {
  accessKeyId: string;
  secretAccessKey: string;
  /** Set for temporary (ASIA…) credentials: requests must carry it as X-Amz-Security-Token. */
  sessionToken?: string;
  accountId: string;
  /** `arn:aws:iam::<account>:user/<name>` or `arn:aws:sts::<account>:assumed-role/<role>/<session>`. */
  userArn: string;
  /** What GetCallerIdentity reports as UserId (AIDA… for users, AROA…:session for roles). */
  userId: string;
  /** Epoch ms after which the key is refused with an expired-token error. */
  expiresAt?: number;
  /** IAM actions (`cloudtrail:LookupEvents`) refused for this key. May be shared with a role. */
  deniedActions: Set<string>;
}

export type NewPrincipal = Omit<Principal, 'deniedActions' | 'userId'> & {
  userId?: string;
  deniedActions?: Iterable<string> | Set<string>;
};

export type VerifyFailure =
  /** No Authorization header at all. */
  | { ok: false; reason: 'missing'; message: string }
  /** Authorization present but not a well-formed SigV4 header. */
  | { ok: false; reason: 'malformed'; message: string }
  /** Access key id unknown, or a session token sent with a long-term key. */
  | { ok: false; reason: 'unknown-key'; message: string; accessKeyId: string }
  /** Recomputed signature differs, or the scope names the wrong service/date. */
  | { ok: false; reason: 'bad-signature'; message: string; accessKeyId: string }
  /** Key past its expiry, or the session token does not belong to the key. */
  | { ok: false; reason: 'expired-token'; message: string; accessKeyId: string };

export interface VerifySuccess {
  ok: true;
  principal: Principal;
  /** From the credential scope: one endpoint serves every region. */
  region: string;
  service: string;
}

export type VerifyResult = VerifySuccess | VerifyFailure;

/** What the verifier needs of an HTTP request. `url` is the raw request target (path + query). */
export interface SignedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request\s*,\s*SignedHeaders=([a-z0-9!#$%&'*+.^_`|~;-]+)\s*,\s*Signature=([0-9a-f]{64})$/;

export function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const m = AUTH_PATTERN.exec(value.trim());
  if (!m) return undefined;
  const [, accessKeyId, date, region, service, signedHeaders, signature] = m;
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

/** `20240102T030405Z` → Date, or undefined when not that exact form. */
function parseAmzDate(value: string | undefined): Date | undefined {
  const m = value && /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

/** Query string → the decoded map the signer canonicalises (repeated keys become arrays). */
function parseQuery(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(search)) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return query;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** Random upper-case id body like AWS's (base32 alphabet). */
export function randomId(length: number): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (b) => ALPHABET[b % 32]).join('');
}

export function randomSecret(): string {
  return randomBytes(30).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 40);
}

/** How a service canonicalises requests, where it differs from the JSON/query services. */
export interface VerifyOptions {
  /**
   * S3's rules: the canonical URI is the path exactly as sent (S3 signs without a second
   * round of escaping or normalisation), and `x-amz-content-sha256` may be one of S3's
   * special values (UNSIGNED-PAYLOAD, STREAMING-…) instead of the body's hash.
   */
  s3?: boolean;
}

/** x-amz-content-sha256 values S3 accepts in place of the payload's hash. */
export const S3_SPECIAL_PAYLOAD_HASHES: ReadonlySet<string> = new Set([
  'UNSIGNED-PAYLOAD',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
]);

export interface RegistryOptions {
  /** Clock for key expiry (epoch ms). Default Date.now. */
  now?: () => number;
}

export class CredentialRegistry {
  readonly now: () => number;
  private readonly keys = new Map<string, Principal>();

  constructor(opts: RegistryOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  addKey(p: NewPrincipal): Principal {
    const principal: Principal = {
      ...p,
      userId: p.userId ?? `AIDA${randomId(17)}`,
      deniedActions: p.deniedActions instanceof Set ? p.deniedActions : new Set(p.deniedActions ?? []),
    };
    this.keys.set(p.accessKeyId, principal);
    return principal;
  }

  /** A fresh long-term IAM user key (AKIA…) in the given account. */
  createUser(accountId: string, userName: string, opts: { deniedActions?: Iterable<string> } = {}): Principal {
    return this.addKey({
      accessKeyId: `AKIA${randomId(16)}`,
      secretAccessKey: randomSecret(),
      accountId,
      userArn: `arn:aws:iam::${accountId}:user/${userName}`,
      deniedActions: opts.deniedActions,
    });
  }

  get(accessKeyId: string): Principal | undefined {
    return this.keys.get(accessKeyId);
  }

  /** Refuse an IAM action (e.g. `cloudtrail:LookupEvents`) for this key from now on. */
  deny(accessKeyId: string, action: string): void {
    this.require(accessKeyId).deniedActions.add(action);
  }

  allow(accessKeyId: string, action: string): void {
    this.require(accessKeyId).deniedActions.delete(action);
  }

  isAllowed(accessKeyId: string, action: string): boolean {
    return !this.require(accessKeyId).deniedActions.has(action);
  }

  /** Make the key expired now (or at `at`, epoch ms). */
  expire(accessKeyId: string, at: number = this.now()): void {
    this.require(accessKeyId).expiresAt = at;
  }

  /** Forget the key: it becomes unknown, as after deleting an access key in IAM. */
  remove(accessKeyId: string): void {
    this.keys.delete(accessKeyId);
  }

  private require(accessKeyId: string): Principal {
    const p = this.keys.get(accessKeyId);
    if (!p) throw new Error(`unknown access key ${accessKeyId}`);
    return p;
  }

  /**
   * Check a request's SigV4 Authorization header. `service` is the signing name the
   * endpoint answers for (`cloudtrail`, `sts`, …); a scope naming another service fails.
   */
  async verify(req: SignedRequest, service: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
    const raw = headerValue(req.headers, 'authorization');
    if (!raw) return { ok: false, reason: 'missing', message: 'Missing Authentication Token' };
    const auth = parseAuthorization(raw);
    if (!auth) {
      return { ok: false, reason: 'malformed', message: 'Authorization header is not a valid AWS4-HMAC-SHA256 signature' };
    }
    const { accessKeyId } = auth;
    const amzDate = headerValue(req.headers, 'x-amz-date');
    const signingDate = parseAmzDate(amzDate);
    if (!signingDate || !auth.signedHeaders.includes('x-amz-date')) {
      return { ok: false, reason: 'malformed', message: "Authorization header requires a signed 'X-Amz-Date' header" };
    }
    if (!auth.signedHeaders.includes('host')) {
      return { ok: false, reason: 'bad-signature', accessKeyId, message: "'Host' must be a 'SignedHeader' in the AWS Authorization." };
    }
    if (auth.service !== service) {
      return { ok: false, reason: 'bad-signature', accessKeyId, message: `Credential should be scoped to correct service: '${service}'.` };
    }
    if (amzDate?.slice(0, 8) !== auth.date) {
      return {
        ok: false,
        reason: 'bad-signature',
        accessKeyId,
        message: 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.',
      };
    }

    const principal = this.keys.get(accessKeyId);
    const token = headerValue(req.headers, 'x-amz-security-token');
    if (!principal || (token !== undefined && principal.sessionToken === undefined)) {
      return { ok: false, reason: 'unknown-key', accessKeyId, message: 'The security token included in the request is invalid.' };
    }
    if (principal.sessionToken !== undefined && token !== principal.sessionToken) {
      return { ok: false, reason: 'expired-token', accessKeyId, message: 'The security token included in the request is expired' };
    }

    const expected = await this.computeSignature(req, auth, principal.secretAccessKey, signingDate, opts);
    if (expected === undefined || !sameHex(expected, auth.signature)) {
      return {
        ok: false,
        reason: 'bad-signature',
        accessKeyId,
        message:
          'The request signature we calculated does not match the signature you provided. ' +
          'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      };
    }
    if (principal.expiresAt !== undefined && principal.expiresAt <= this.now()) {
      return { ok: false, reason: 'expired-token', accessKeyId, message: 'The security token included in the request is expired' };
    }
    return { ok: true, principal, region: auth.region, service: auth.service };
  }

  /** The signature AWS would expect, or undefined when a signed header is absent or the body hash header lies. */
  private async computeSignature(
    req: SignedRequest,
    auth: ParsedAuthorization,
    secretAccessKey: string,
    signingDate: Date,
    opts: VerifyOptions,
  ): Promise<string | undefined> {
    const headers: Record<string, string> = {};
    for (const name of auth.signedHeaders) {
      const v = headerValue(req.headers, name);
      if (v === undefined) return undefined;
      headers[name] = v;
    }
    // The signer trusts x-amz-content-sha256 as the payload hash, so check it against the body.
    const claimed = headers['x-amz-content-sha256'];
    const special = opts.s3 === true && claimed !== undefined && S3_SPECIAL_PAYLOAD_HASHES.has(claimed);
    if (claimed !== undefined && !special && claimed !== createHash('sha256').update(req.body).digest('hex')) return undefined;

    const url = new URL(req.url, 'http://placeholder');
    let path: string;
    if (opts.s3) {
      // S3 signs the path as sent (URL keeps `//`, `.` segments and escapes as they are).
      path = (req.url.split('?')[0] || '/');
    } else {
      try {
        // The signer re-escapes each segment, so hand it the decoded path.
        path = decodeURIComponent(url.pathname);
      } catch {
        return undefined;
      }
    }
    const request = new HttpRequest({
      method: req.method,
      protocol: 'http:',
      hostname: 'placeholder',
      path,
      query: parseQuery(url.search),
      headers,
      body: req.body,
    });
    const signer = new SignatureV4({
      // Token left out on purpose: the signed x-amz-security-token header (if any) is used as sent.
      credentials: { accessKeyId: auth.accessKeyId, secretAccessKey },
      region: auth.region,
      service: auth.service,
      sha256: Sha256,
      uriEscapePath: !opts.s3,
      // Never add a header the client did not sign.
      applyChecksum: false,
    });
    const signed = await signer.sign(request, { signingDate, signableHeaders: new Set(auth.signedHeaders) });
    const m = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization));
    return m?.[1];
  }
}
