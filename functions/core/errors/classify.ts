/**
 * One answer to "what does this failure mean?" for every run: the stable code a summary shows,
 * the kind of failure, and whether a later try may succeed. The forwarder reads `kind` to
 * decide whether a rotated secret is worth reading again; test connection reads the same code
 * facts (aws.ts, tls.ts, network.ts) for its own, more detailed, codes.
 */
import { DeadlineReachedError } from '../deadline';
import { SinkRedirectedError, SinkRejectedError, SinkUnavailableError } from '../sink/errors';
import { SinkTlsError } from '../sink/tls-errors';
import { isAwsCredentialCode, isThrottleError, THROTTLE_CODES } from './aws';
import { SourceError } from './source-error';

export type FailureKind =
  /** Credentials refused (AWS's or DNIF's, a client certificate included): a rotated secret may fix it. */
  | 'credential'
  /** A rate limit. */
  | 'throttle'
  /** DNIF or AWS could not be reached or answered with a server error, beyond the retries allowed. */
  | 'transient'
  /** TLS that will not work as configured (an untrusted certificate, unusable PEMs). */
  | 'tls'
  /** The remote refused the request itself (a 4xx, a redirect, a permission). */
  | 'rejected'
  /** The run stopped for the Lambda deadline; the next run resumes. */
  | 'deadline'
  | 'unknown';

export interface Classification {
  /** Stable code for the summary (`regions[r].error.code`): DnifAuthRejected, AccessDeniedException, ... */
  code: string;
  kind: FailureKind;
  /** True when the same request may succeed later without a change of configuration. */
  retryable: boolean;
}

const RETRYABLE: Record<FailureKind, boolean> = { credential: false, throttle: true, transient: true, tls: false, rejected: false, deadline: true, unknown: false };

const of = (code: string, kind: FailureKind): Classification => ({ code, kind, retryable: RETRYABLE[kind] });

/** The kind an AWS error code tells by itself. */
function awsKind(code: string, fallback: FailureKind): FailureKind {
  if (THROTTLE_CODES.has(code)) return 'throttle';
  if (isAwsCredentialCode(code)) return 'credential';
  return fallback;
}

export function classify(err: unknown): Classification {
  if (err instanceof SinkRejectedError) {
    if (err.isAuthError) return of('DnifAuthRejected', 'credential');
    if (err instanceof SinkRedirectedError) return of('DnifRedirected', 'rejected');
    if (err instanceof SinkTlsError) return of('DnifTlsError', 'tls');
    return of('DnifRejected', 'rejected');
  }
  if (err instanceof SinkUnavailableError) return of('DnifUnavailable', 'transient');
  if (err instanceof SourceError) return of(err.code, awsKind(err.code, 'rejected'));
  if (err instanceof DeadlineReachedError) return of(err.name, 'deadline');
  const name = (err as { name?: string } | undefined)?.name ?? 'Error';
  return of(name, isThrottleError(err) ? 'throttle' : awsKind(name, 'unknown'));
}
