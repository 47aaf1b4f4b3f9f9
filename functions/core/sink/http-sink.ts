/**
 * Posts batches to DNIF's HTTP Connector (SPEC.md): JSON array or NDJSON, optional gzip, one
 * of four auth modes. 2xx is success; 429, 5xx and network faults are retried with jittered
 * backoff (honouring Retry-After) while the deadline allows; other 4xx, any 3xx (never
 * followed: a redirected POST becomes a body-less GET) and certificate errors stop at once.
 * Error texts are built from status codes and error codes, never from the library's message
 * (node quotes header values and URLs in its own).
 */
import { STATUS_CODES } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { HttpTarget } from '../connector';
import { Deadline, DeadlineReachedError } from '../deadline';
import { backoffDelayMs, retry } from '../retry';
import { authHeaders } from './auth';
import { postOnce, type HttpAnswer } from './http-post';
import { SinkRedirectedError, SinkRejectedError, SinkUnavailableError } from './errors';
import { isServerCertCode } from '../errors/tls';
import { SinkTlsError } from './tls-errors';
import type { OutgoingRecord } from './records';
import type { SendStats, Sink } from './sink';

export interface HttpSinkOptions {
  maxAttempts?: number;
  requestTimeoutMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
  userAgent?: string;
}

export class HttpSink implements Sink {
  private readonly maxAttempts: number;
  private readonly requestTimeoutMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;
  private readonly userAgent: string;

  constructor(
    private readonly target: HttpTarget,
    options: HttpSinkOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 6;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 20_000;
    this.random = options.random ?? Math.random;
    this.userAgent = options.userAgent ?? 'cloudtrail-dnif-forwarder/0.1';
  }

  /** The request body for these records, exactly as it goes on the wire (before gzip). */
  encode(records: OutgoingRecord[]): Buffer {
    return this.target.format === 'ndjson' ? joinRecords(records, '', '\n', '\n') : joinRecords(records, '[', ',', ']');
  }

  async send(records: OutgoingRecord[], deadline: Deadline): Promise<SendStats> {
    return this.post(this.encode(records), deadline);
  }

  /** Posts an already encoded body (also used by test-connection's empty-batch probe). */
  async post(plain: Buffer, deadline: Deadline): Promise<SendStats> {
    const body = this.target.gzip ? gzipSync(plain) : plain;
    const headers: Record<string, string> = {
      ...lowerCaseKeys(this.target.headers),
      'content-type': this.target.format === 'ndjson' ? 'application/x-ndjson' : 'application/json',
      'user-agent': this.userAgent,
      ...(this.target.gzip ? { 'content-encoding': 'gzip' } : {}),
      ...authHeaders(this.target.auth, body),
    };
    const stats: SendStats = { attempts: 0, errors: 0, bytesSent: 0 };
    let last: LastFailure = { problem: '' };
    await retry(
      async () => {
        // No new request after the deadline; one that starts before it may run into the reserve.
        if (deadline.reached) throw new DeadlineReachedError('delivering to DNIF');
        const timeout = Math.min(this.requestTimeoutMs, deadline.inFlightAllowanceMs());
        stats.attempts += 1;
        let response: HttpAnswer;
        try {
          response = await postOnce(this.target.url, headers, body, timeout);
        } catch (err) {
          stats.errors += 1;
          last = { problem: describeNetworkError(err), networkCode: networkErrorCode(err), reason: last.reason };
          if (last.networkCode && isServerCertCode(last.networkCode)) {
            throw new SinkTlsError(
              `DNIF's TLS certificate at ${originOf(this.target.url)} is not trusted (${last.networkCode}): DNIF needs a certificate from a public CA that names the host of dnif.url, with its intermediates`,
              last.networkCode,
              false,
              stats.attempts,
            );
          }
          throw new RetryableAttempt(undefined);
        }
        if (response.status >= 200 && response.status < 300) return;
        stats.errors += 1;
        const reason = reasonOf(response);
        last = { problem: `HTTP ${response.status} ${reason}`.trim(), status: response.status, reason };
        if (response.status >= 300 && response.status < 400) {
          throw new SinkRedirectedError(response.status, reason, locationHostOf(response.location, this.target.url), stats.attempts);
        }
        if (response.status !== 429 && response.status < 500) throw new SinkRejectedError(response.status, reason, stats.attempts);
        throw new RetryableAttempt(parseRetryAfter(response.retryAfter));
      },
      {
        maxAttempts: this.maxAttempts,
        isRetryable: (err) => err instanceof RetryableAttempt,
        backoff: (attempt, err) => Math.max((err as RetryableAttempt).retryAfterMs ?? 0, backoffDelayMs(attempt, this.baseDelayMs, this.maxDelayMs, this.random)),
        deadline,
        exhausted: () =>
          new SinkUnavailableError(`DNIF did not accept the batch after ${stats.attempts} attempts: ${last.problem}`, stats.attempts, last.status, last.networkCode, last.reason),
      },
    );
    stats.bytesSent += body.length;
    return stats;
  }
}

/**
 * `open` + records separated by `between` + `close`, written straight into one buffer of the size
 * the records' byte counts add up to: a joined string encoded afterwards cost 2.9 µs an event, this
 * 1.0 (bench). NDJSON ends every record with a newline, an empty batch is empty.
 */
function joinRecords(records: OutgoingRecord[], open: string, between: ',' | '\n', close: string): Buffer {
  if (records.length === 0) return Buffer.from(open === '[' ? '[]' : '', 'utf8');
  let size = open.length + close.length + between.length * (records.length - 1);
  for (const r of records) size += r.bytes;
  const body = Buffer.allocUnsafe(size);
  let at = body.write(open, 0, 'latin1');
  // One byte (`,` or a newline) set directly: a write() call per record cost more than the record's copy.
  const separator = between.charCodeAt(0);
  for (let i = 0; i < records.length; i++) {
    if (i > 0) body[at++] = separator;
    const r = records[i];
    if (r.objectBytes !== undefined && r.tail !== undefined) {
      // Copied whole (a part would cost a new view per record), then the tail overwrites the brace.
      at += r.objectBytes.copy(body, at) - 1;
      at += body.write(r.tail, at, 'utf8');
    } else {
      at += body.write(r.json, at, 'utf8');
    }
  }
  at += body.write(close, at, 'latin1');
  // A record whose byte count is off (it never should be) must not cut the body short.
  if (at !== size) return Buffer.from(open + records.map((r) => r.json).join(between) + close, 'utf8');
  return body;
}

/** What the last failed attempt left to report. */
interface LastFailure {
  problem: string;
  status?: number;
  networkCode?: string;
  reason?: string;
}

/** A failed attempt worth another (429, 5xx, a network fault), with DNIF's Retry-After if any. */
class RetryableAttempt extends Error {
  constructor(readonly retryAfterMs: number | undefined) {
    super('retryable attempt');
  }
}

/** The reason phrase DNIF sent, or the standard one for its status. */
function reasonOf(response: HttpAnswer): string {
  return response.reason || STATUS_CODES[response.status] || '';
}

/** scheme://host:port of a URL: its path and query may carry a token, so never show them. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(dnif.url)';
  }
}

/** Where a redirect points, host only (relative Locations resolve against dnif.url). */
function locationHostOf(location: string | undefined, base: string): string | undefined {
  if (!location) return undefined;
  try {
    return new URL(location, base).host;
  } catch {
    return '(an unreadable Location)';
  }
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Retry-After in seconds or as an HTTP date; capped so one answer cannot stall a run. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, 120_000) : undefined;
}

/** node:http puts the code (ECONNREFUSED, certificate errors) on the error; fetch one level down. */
export function describeNetworkError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { name?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'request timed out';
  const code = networkErrorCode(err);
  // Never the library's message: it quotes header values and URLs.
  return code ? `network error ${code}` : `network error (${e.cause?.name ?? e.name ?? 'unknown'})`;
}

export function networkErrorCode(err: unknown): string | undefined {
  const e = err as { name?: string; code?: unknown; cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'ETIMEDOUT_REQUEST';
  return typeof e.code === 'string' ? e.code : e.cause?.code;
}
