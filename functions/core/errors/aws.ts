/**
 * What an AWS SDK error means for us, by its error code (name): throttling, credentials that
 * a rotation may fix, or a fault worth another try. The forwarder and test connection both
 * read these; test connection adds its user-facing messages on top (test-connection/failures/).
 */
import { NETWORK_ERROR_CODES } from './network';

/** LookupEvents answers ThrottlingException; other APIs and SDK versions use the other two names. */
export const THROTTLE_CODES: ReadonlySet<string> = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException']);

/** The access key is unknown to AWS. */
export const UNKNOWN_KEY_CODES: ReadonlySet<string> = new Set(['InvalidClientTokenId', 'UnrecognizedClientException']);
/** The key is known but the secret key does not match it. */
export const SIGNATURE_CODES: ReadonlySet<string> = new Set(['SignatureDoesNotMatch', 'InvalidSignatureException']);
/** Temporary credentials ran out. */
export const EXPIRED_TOKEN_CODES: ReadonlySet<string> = new Set(['ExpiredToken', 'ExpiredTokenException', 'TokenRefreshRequired']);

/** AWS refused the credentials themselves: a rotated secret read again may fix it. */
export const isAwsCredentialCode = (code: string): boolean => UNKNOWN_KEY_CODES.has(code) || SIGNATURE_CODES.has(code) || EXPIRED_TOKEN_CODES.has(code);

export const isThrottleError = (err: unknown): boolean => THROTTLE_CODES.has((err as { name?: string } | undefined)?.name ?? '');

/** A fault another try may not meet: a server error, a network fault, a reset or a timeout. */
export function isTransientAwsError(err: unknown): boolean {
  const e = err as { name?: string; $fault?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  if (e.$fault === 'server') return true;
  // A socket error; a reset in the middle of an answer carries the 200 already read.
  if (e.code !== undefined && NETWORK_ERROR_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  // No HTTP response at all: a network fault, a reset or a timeout.
  if (status === undefined) return true;
  return e.name === 'TimeoutError' || e.name === 'RequestTimeout';
}
