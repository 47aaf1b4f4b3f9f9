/**
 * The stable codes test-connection answers with (docs/test-connection.md lists them), the DNIF
 * connector-validation message nearest to each, and the shape of a classified failure.
 */
import type { FieldProblem } from '../../core/connector';

export const CODES = [
  'OK',
  // The request to the URL itself
  'MethodNotAllowed',
  'BadRequest',
  'RequestTooLarge',
  // The function and the connector
  'ConfigError',
  'SecretNotFound',
  'SecretAccessDenied',
  'SecretUnreadable',
  'InvalidConnector',
  // AWS
  'NoCredentials',
  'InvalidAccessKey',
  'SignatureMismatch',
  'ExpiredToken',
  'AccessDenied',
  'InvalidRegion',
  'RegionNotEnabled',
  'Throttled',
  'AwsUnreachable',
  'AwsTimeout',
  'AwsServiceError',
  // Trail files in S3 (SOURCE=s3)
  'NoSuchBucket',
  'NoTrailFiles',
  'KmsAccessDenied',
  'CorruptTrailFile',
  'QueueNotFound',
  // The trail audit's digest files (SOURCE=s3)
  'DigestInvalid',
  // DNIF
  'DnifUnreachable',
  'DnifTimeout',
  'DnifTlsError',
  'DnifAuthRejected',
  'DnifRejected',
  'DnifRedirected',
  // Anything else: a bug or an unforeseen failure
  'Unknown',
] as const;

export type Code = (typeof CODES)[number];

/** DNIF's own connector-validation vocabulary. */
export const DNIF = {
  configuration: 'Configuration Error',
  credentials: 'Credentials error',
  unableToConnect: 'Unable to connect',
  timeout: 'Request Timeout',
  unknown: 'Unknown Error',
  requestFailed: (status: number | string, reason: string) => `Request Failed - response code: ${status}, reason: ${reason}`,
} as const;

/** Which HTTP status a failure with this code leads to: the caller's fault, a remote's, or ours. */
export type Blame = 'request' | 'remote' | 'internal';

const BLAME: Record<Code, Blame> = {
  OK: 'remote',
  MethodNotAllowed: 'request',
  BadRequest: 'request',
  RequestTooLarge: 'request',
  ConfigError: 'internal',
  SecretNotFound: 'remote',
  SecretAccessDenied: 'remote',
  SecretUnreadable: 'remote',
  InvalidConnector: 'request',
  NoCredentials: 'remote',
  InvalidAccessKey: 'remote',
  SignatureMismatch: 'remote',
  ExpiredToken: 'remote',
  AccessDenied: 'remote',
  InvalidRegion: 'remote',
  RegionNotEnabled: 'remote',
  Throttled: 'remote',
  AwsUnreachable: 'remote',
  AwsTimeout: 'remote',
  AwsServiceError: 'remote',
  NoSuchBucket: 'remote',
  NoTrailFiles: 'remote',
  KmsAccessDenied: 'remote',
  CorruptTrailFile: 'remote',
  QueueNotFound: 'remote',
  DigestInvalid: 'remote',
  DnifUnreachable: 'remote',
  DnifTimeout: 'remote',
  DnifTlsError: 'remote',
  DnifAuthRejected: 'remote',
  DnifRejected: 'remote',
  DnifRedirected: 'remote',
  Unknown: 'internal',
};

export const blameOf = (code: Code): Blame => BLAME[code];

/** A failure, classified: what the user sees in a failed check. */
export interface Failure {
  code: Code;
  message: string;
  hint: string;
  dnifMessage: string;
  /** The raw AWS error code or network/TLS error code, for support. */
  cause?: string;
  /** HTTP status DNIF answered with. */
  status?: number;
  field?: string;
  problems?: FieldProblem[];
  /** The unexpected error behind an `Unknown` failure: logged (scrubbed), never in a body. */
  error?: unknown;
}

/** What the classifiers read of any thrown value. */
export interface ErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  hostname?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

export function isTimeout(e: ErrorShape): boolean {
  return e.name === 'TimeoutError' || e.name === 'AbortError' || e.name === 'RequestTimeout' || e.name === 'CheckTimeoutError';
}

export function unknownFailure(err: unknown, doing: string): Failure {
  const name = (err as ErrorShape | undefined)?.name ?? typeof err;
  return {
    code: 'Unknown',
    message: `Unexpected ${name} while ${doing}`,
    hint: 'See the function\'s log for details (search for the request id), and report it if it persists.',
    dnifMessage: DNIF.unknown,
    cause: name,
    error: err,
  };
}
