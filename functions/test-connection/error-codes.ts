/**
 * The stable codes test-connection answers with (docs/test-connection.md lists them), the
 * DNIF connector-validation message nearest to each, and the mapping from the errors the AWS
 * SDK, fetch (through HttpSink) and node:net/tls throw to those codes.
 *
 * Nothing here copies a value out of the connector: messages are written from codes, region
 * names, hosts and AWS's own access-denied text (which names a principal ARN and an action).
 */
import { ConnectorValidationError, type FieldProblem } from '../core/connector';
import { SecretReadError } from '../core/secret';
import { SinkRedirectedError, SinkRejectedError, SinkUnavailableError } from '../core/sink/errors';
import { CLOSED_AFTER_HANDSHAKE, isPeerRefusalCode, SinkTlsError } from '../core/sink/tls-errors';
import { DeadlineReachedError } from '../core/time';

/** Every code test-connection answers with; docs/test-connection.md explains each. Stable: extend, never rename. */
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

// ---------------------------------------------------------------------------------------------
// AWS

/** What was being done when an AWS call failed: shapes the message and names the IAM action. */
export interface AwsContext {
  /** e.g. `cloudtrail:LookupEvents`, `sts:GetCallerIdentity`, `sts:AssumeRole`. */
  action: string;
  /** The region the call was signed for. */
  region: string;
  /** Set when the credentials come from assuming this role. */
  roleArn?: string;
}

/** Thrown by our wrapper around the assume-role provider, so a failure names sts:AssumeRole. */
export class RoleAssumptionError extends Error {
  constructor(
    readonly roleArn: string,
    readonly cause: unknown,
  ) {
    super(`Could not assume role ${roleArn}`);
    this.name = 'RoleAssumptionError';
  }
}

const NETWORK_UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', 'ECONNABORTED']);

interface ErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  hostname?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

const SYSCALL_CODE = /\b(?:getaddrinfo|connect|read|write) (E[A-Z_]+)(?: (\S+))?/;

function awsCodeOf(e: ErrorShape): string {
  // Network errors come through the SDK as plain Errors with a Node `code`...
  if (e.code && /^E[A-Z_]+$|^UND_ERR/.test(e.code)) return e.code;
  // ...or, when the thrown value is not an Error of the SDK's realm, as smithy's
  // "AWS SDK error wrapper for Error: getaddrinfo ENOTFOUND <host>" with only the text left.
  const fromText = e.name === 'Error' && !e.code ? SYSCALL_CODE.exec(e.message ?? '') : null;
  if (fromText) return fromText[1];
  return e.Code ?? e.name ?? e.code ?? 'Error';
}

function hostnameOf(e: ErrorShape): string | undefined {
  if (e.hostname) return e.hostname;
  const m = SYSCALL_CODE.exec(e.message ?? '');
  return m?.[1] === 'ENOTFOUND' || m?.[1] === 'EAI_AGAIN' ? m[2] : undefined;
}

function isTimeout(e: ErrorShape): boolean {
  return e.name === 'TimeoutError' || e.name === 'AbortError' || e.name === 'RequestTimeout' || e.name === 'CheckTimeoutError';
}

const KEY_HINT =
  'Check awsAccessKeyId in the connector: copy it again from IAM (Security credentials of the user), and make sure the key is Active and not deleted.';

/** Map an error from an AWS SDK call (or from resolving its credentials) to a code a user can act on. */
export function classifyAwsError(err: unknown, ctx: AwsContext): Failure {
  if (err instanceof RoleAssumptionError) {
    const inner = classifyAwsError(err.cause, { action: 'sts:AssumeRole', region: ctx.region, roleArn: err.roleArn });
    return { ...inner, message: `Could not assume role ${err.roleArn}: ${inner.message}` };
  }
  const e = (err ?? {}) as ErrorShape;
  const awsCode = awsCodeOf(e);
  const status = e.$metadata?.httpStatusCode;
  const who = ctx.action === 'sts:AssumeRole' ? 'The credentials used to assume the role' : 'The connector\'s AWS credentials';

  if (isTimeout(e)) {
    return {
      code: 'AwsTimeout',
      message: `AWS did not answer ${ctx.action} in ${ctx.region} in time`,
      hint: 'Try again. If it keeps timing out, check that the function can reach AWS endpoints (a VPC needs a NAT gateway or VPC endpoints).',
      dnifMessage: DNIF.timeout,
      cause: awsCode,
    };
  }
  if (e.name === 'CredentialsProviderError') {
    return {
      code: 'NoCredentials',
      message: 'No AWS credentials: the connector has no awsAccessKeyId/awsSecretAccessKey and the function\'s own role gave none',
      hint: 'Add awsAccessKeyId and awsSecretAccessKey to the connector, or give roleArn, or run the function with a role allowed to call cloudtrail:LookupEvents.',
      dnifMessage: DNIF.credentials,
      cause: awsCode,
    };
  }
  if (awsCode === 'ENOTFOUND' || awsCode === 'EndpointError' || /Region not accepted|Invalid region/i.test(e.message ?? '')) {
    const hostname = hostnameOf(e);
    const host = hostname ? ` (${hostname} does not resolve)` : '';
    return {
      code: 'InvalidRegion',
      message: `Region ${ctx.region} has no ${serviceOf(ctx.action)} endpoint${host}: it is not an AWS region`,
      hint: `Check awsRegion/awsRegions: use a region code such as us-east-1 or eu-west-1, exactly as the AWS console lists it.`,
      dnifMessage: DNIF.configuration,
      cause: awsCode,
    };
  }
  if (NETWORK_UNREACHABLE.has(awsCode)) {
    return {
      code: 'AwsUnreachable',
      message: `Could not reach the AWS ${serviceOf(ctx.action)} endpoint for ${ctx.region} (${awsCode})`,
      hint: 'Check that the function has a network path to AWS: in a VPC, a NAT gateway or an interface VPC endpoint for the service.',
      dnifMessage: DNIF.unableToConnect,
      cause: awsCode,
    };
  }
  switch (awsCode) {
    case 'InvalidClientTokenId':
    case 'UnrecognizedClientException':
      return {
        code: 'InvalidAccessKey',
        message: `AWS does not recognise the access key id (${awsCode} from ${ctx.action} in ${ctx.region})`,
        hint: `${KEY_HINT} A key also fails this way in an opt-in region that is not enabled for the account.`,
        dnifMessage: DNIF.credentials,
        cause: awsCode,
      };
    case 'SignatureDoesNotMatch':
    case 'InvalidSignatureException':
      if (/scoped to a valid region/i.test(e.message ?? '')) {
        return {
          code: 'InvalidRegion',
          message: `AWS refused requests signed for region ${ctx.region}: it is not a valid region (${awsCode})`,
          hint: 'Check awsRegion/awsRegions: use a region code such as us-east-1 or eu-west-1.',
          dnifMessage: DNIF.configuration,
          cause: awsCode,
        };
      }
      return {
        code: 'SignatureMismatch',
        message: `AWS knows the access key id but the secret access key does not match it (${awsCode})`,
        hint: 'Check awsSecretAccessKey: paste it again without spaces or line breaks. IAM shows a secret key only once; if it is lost, create a new access key.',
        dnifMessage: DNIF.credentials,
        cause: awsCode,
      };
    case 'ExpiredToken':
    case 'ExpiredTokenException':
    case 'TokenRefreshRequired':
      return {
        code: 'ExpiredToken',
        message: `${who} have expired (${awsCode})`,
        hint: 'Temporary credentials (awsSessionToken) expire: use a long-term access key of an IAM user, or roleArn so the function assumes a role itself.',
        dnifMessage: DNIF.credentials,
        cause: awsCode,
      };
    case 'AccessDenied':
    case 'AccessDeniedException':
      return {
        code: 'AccessDenied',
        message: `Not allowed to call ${ctx.action} in ${ctx.region}: ${e.message ?? awsCode}`,
        hint:
          ctx.action === 'sts:AssumeRole'
            ? 'The role\'s trust policy must allow these credentials to call sts:AssumeRole (and require the externalId if one is given), and their own policy must allow sts:AssumeRole on the role.'
            : `Grant ${ctx.action} to the ${ctx.roleArn ? 'role' : 'IAM user or role'} (the AWS managed policy AWSCloudTrail_ReadOnlyAccess includes it). Check SCPs and any aws:RequestedRegion condition for ${ctx.region}.`,
        dnifMessage: DNIF.credentials,
        cause: awsCode,
      };
    case 'RegionDisabledException':
    case 'OptInRequired':
      return {
        code: 'RegionNotEnabled',
        message: `Region ${ctx.region} is not enabled for this account (${awsCode})`,
        hint: 'Enable the region in the AWS account settings (opt-in regions), or remove it from awsRegions.',
        dnifMessage: DNIF.configuration,
        cause: awsCode,
      };
    case 'ThrottlingException':
    case 'Throttling':
    case 'TooManyRequestsException':
      return {
        code: 'Throttled',
        message: `AWS throttled ${ctx.action} in ${ctx.region} (2 requests per second per account and region, shared with the forwarder)`,
        hint: 'Try again in a few seconds. The credentials and permissions were not rejected.',
        dnifMessage: DNIF.requestFailed(status ?? 400, awsCode),
        cause: awsCode,
      };
  }
  if (status !== undefined) {
    return {
      code: 'AwsServiceError',
      message: `${ctx.action} in ${ctx.region} failed: HTTP ${status} ${awsCode}`,
      hint: status >= 500 ? 'AWS had a transient problem: try again.' : 'See the AWS error code in `cause`.',
      dnifMessage: DNIF.requestFailed(status, awsCode),
      cause: awsCode,
    };
  }
  return unknownFailure(err, `${ctx.action} in ${ctx.region}`);
}

function serviceOf(action: string): string {
  const prefix = action.split(':')[0];
  return prefix === 'sts' ? 'STS' : prefix === 'cloudtrail' ? 'CloudTrail' : prefix;
}

// ---------------------------------------------------------------------------------------------
// DNIF

const TLS_HINTS: Record<string, string> = {
  SELF_SIGNED_CERT_IN_CHAIN: 'DNIF\'s certificate chain ends in a CA that is not publicly trusted (self-signed root).',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'DNIF presents a self-signed certificate.',
  CERT_HAS_EXPIRED: 'DNIF\'s certificate has expired.',
  CERT_NOT_YET_VALID: 'DNIF\'s certificate is not valid yet (check the clocks).',
  ERR_TLS_CERT_ALTNAME_INVALID: 'DNIF\'s certificate does not name the host in the connector (subject alternative names).',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'DNIF\'s certificate chain is incomplete or signed by an unknown CA (the server must send its intermediate certificates).',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'DNIF\'s certificate is signed by a CA that is not trusted here.',
  UNABLE_TO_GET_ISSUER_CERT: 'DNIF\'s certificate is signed by a CA that is not trusted here.',
  CERT_REVOKED: 'DNIF\'s certificate has been revoked.',
  ERR_SSL_WRONG_VERSION_NUMBER: 'The port does not speak TLS (is it a plain-text port?).',
};

export function isTlsErrorCode(code: string | undefined): boolean {
  if (!code) return false;
  return code in TLS_HINTS || /CERT|SSL|TLS|EPROTO/.test(code);
}

function tlsFailure(code: string, target: string, extraHint: string): Failure {
  return {
    code: 'DnifTlsError',
    message: `TLS with DNIF at ${target} failed: ${code}`,
    hint: `${TLS_HINTS[code] ?? 'The TLS handshake failed.'} ${extraHint}`.trim(),
    dnifMessage: DNIF.unableToConnect,
    cause: code,
  };
}

function networkFailure(code: string, target: string, syslog: boolean): Failure {
  if (syslog && isPeerRefusalCode(code)) {
    return {
      code: 'DnifTlsError',
      message:
        code === CLOSED_AFTER_HANDSHAKE
          ? `DNIF at ${target} closed the connection right after the TLS handshake: it did not accept the client certificate`
          : `DNIF at ${target} refused the TLS connection (${code})`,
      hint: 'Check dnif.syslog.cert and dnif.syslog.key are the client certificate and key DNIF expects (signed by the CA the Adapter trusts, not expired).',
      dnifMessage: DNIF.credentials,
      cause: code,
    };
  }
  if (isTlsErrorCode(code)) {
    return tlsFailure(
      code,
      target,
      syslog
        ? 'Give DNIF\'s CA as dnif.syslog.ca (PEM), and the client certificate and key DNIF expects as cert and key.'
        : 'The forwarder trusts the public CAs only: give DNIF a certificate from a public CA for this host name.',
    );
  }
  if (code === 'ETIMEDOUT_REQUEST') {
    return {
      code: 'DnifTimeout',
      message: `DNIF at ${target} did not answer in time`,
      hint: 'The receiver accepted the connection but did not respond: check the DNIF connector/adapter is running and not overloaded.',
      dnifMessage: DNIF.timeout,
      cause: 'ETIMEDOUT',
    };
  }
  const what: Record<string, string> = {
    ECONNREFUSED: 'the connection was refused (nothing listens on that port)',
    ENOTFOUND: 'the host name does not resolve',
    EAI_AGAIN: 'the host name could not be resolved (DNS did not answer)',
    ETIMEDOUT: 'connecting timed out',
    UND_ERR_CONNECT_TIMEOUT: 'connecting timed out',
    ECONNRESET: syslog ? 'the connection was reset before DNIF confirmed it (a TLS listener resets plain TCP: check dnif.syslog.tls)' : 'the connection was reset',
    EPEERCLOSED: 'DNIF closed the connection before confirming what was sent (a TLS listener does this to plain TCP: check dnif.syslog.tls)',
    EUNEXPECTEDDATA: 'the port answered with data, which a syslog Adapter never sends (a TLS listener answers plain TCP this way: check dnif.syslog.tls)',
    ETIMEDOUT_CONFIRM: 'DNIF did not close its side of the connection after ours, so it cannot confirm delivery',
    ETIMEDOUT_CONNECT: 'connecting timed out',
    UND_ERR_SOCKET: 'the connection was closed unexpectedly',
    EHOSTUNREACH: 'the host is unreachable',
    ENETUNREACH: 'the network is unreachable',
  };
  return {
    code: 'DnifUnreachable',
    message: `Could not reach DNIF at ${target}: ${what[code] ?? code}`,
    hint: syslog
      ? 'Check dnif.syslog.host and port, that the DNIF Adapter listens there, and that firewalls/security groups let the function connect.'
      : 'Check the host and port in dnif.url, that the DNIF HTTP Connector is running, and that firewalls/security groups let the function connect (a function in a VPC needs a route out).',
    dnifMessage: DNIF.unableToConnect,
    cause: code,
  };
}

/**
 * The network error code behind a SinkUnavailableError. HttpSink keeps only a text summary,
 * written by its own describeNetworkError ("request timed out", "network error <CODE>");
 * test/test-connection/error-codes.test.ts pins that format.
 */
export function networkCodeFromSinkMessage(message: string): string | undefined {
  if (/request timed out$/.test(message)) return 'ETIMEDOUT_REQUEST';
  return /network error ([A-Z][A-Z0-9_]+)$/.exec(message)?.[1];
}

/** Map a failure of the HTTP probe (HttpSink.post) to a code. */
export function classifyDnifHttpError(err: unknown, target: string): Failure {
  if (err instanceof SinkTlsError) return networkFailure(err.networkCode ?? 'TLS', target, false);
  if (err instanceof SinkRedirectedError) {
    return {
      code: 'DnifRedirected',
      message: `DNIF at ${target} answered HTTP ${err.status} ${err.reason}, a redirect${err.locationHost ? ` to ${err.locationHost}` : ''}; the forwarder does not follow redirects (a redirected POST loses its body)`.replace('  ', ' '),
      hint: 'Set dnif.url to the final address (often https:// instead of http://, or the new host or path the redirect names).',
      dnifMessage: DNIF.requestFailed(err.status, err.reason || 'redirect'),
      status: err.status,
    };
  }
  if (err instanceof SinkRejectedError) {
    const reason = err.reason || 'no reason given';
    if (err.isAuthError) {
      return {
        code: 'DnifAuthRejected',
        message: `DNIF at ${target} refused the credentials: HTTP ${err.status} ${err.reason}`.trim(),
        hint: 'Check dnif.token (or dnif.auth): copy the token again from the DNIF HTTP Connector, and check the auth type (bearer, basic, header, hmac) matches the connector.',
        dnifMessage: DNIF.requestFailed(err.status, reason),
        status: err.status,
      };
    }
    return rejected(err.status, reason, target);
  }
  if (err instanceof SinkUnavailableError) {
    if (err.lastStatus !== undefined) return rejected(err.lastStatus, err.lastReason ?? '', target);
    const code = err.networkCode ?? networkCodeFromSinkMessage(err.message);
    if (code) return networkFailure(code, target, false);
    return unknownFailure(err, `delivering to DNIF at ${target}`);
  }
  if (err instanceof DeadlineReachedError || isTimeout((err ?? {}) as ErrorShape)) return networkFailure('ETIMEDOUT_REQUEST', target, false);
  return unknownFailure(err, `delivering to DNIF at ${target}`);
}

function rejected(status: number, reason: string, target: string): Failure {
  const hints: Record<number, string> = {
    404: 'Check the path of dnif.url: the DNIF HTTP Connector endpoint ends in /events (bulk) or /event.',
    413: 'DNIF refused the request size.',
    415: 'Check dnif.format (json or ndjson) and dnif.gzip match what the DNIF connector accepts.',
    429: 'DNIF is rate limiting: try again shortly; the forwarder retries 429 on its own.',
  };
  return {
    code: 'DnifRejected',
    message: `DNIF at ${target} answered HTTP ${status}${reason ? ` ${reason}` : ''} to the test request (an empty batch)`,
    hint:
      hints[status] ??
      (status >= 500
        ? 'DNIF had a server error: check the DNIF connector and try again; the forwarder retries 5xx on its own.'
        : 'The credentials were not refused (not 401/403). If this receiver rejects an empty batch, it may still accept real events.'),
    dnifMessage: DNIF.requestFailed(status, reason || 'unknown'),
    status,
  };
}

/** Map a failure of the syslog probe (TCP connect and TLS handshake). */
export function classifySyslogError(err: unknown, target: string): Failure {
  const e = (err ?? {}) as ErrorShape;
  if (isTimeout(e)) return networkFailure('ETIMEDOUT_REQUEST', target, true);
  const code = e.code;
  if (err instanceof SinkTlsError) return networkFailure(err.networkCode ?? 'TLS', target, true);
  if (code && (NETWORK_UNREACHABLE.has(code) || code.startsWith('ERR_SSL_') || code in TLS_HINTS || isPeerRefusalCode(code) || /^(EPEERCLOSED|EUNEXPECTEDDATA|ETIMEDOUT_)/.test(code))) {
    return networkFailure(code === 'ETIMEDOUT_CONNECT' || code === 'ETIMEDOUT_WRITE' ? 'ETIMEDOUT_REQUEST' : code, target, true);
  }
  // Our own ca/cert/key could not be loaded (thrown before any connection is made).
  if (code?.startsWith('ERR_OSSL') || /PEM|key values mismatch|DECODER/i.test(e.message ?? '')) {
    return {
      code: 'DnifTlsError',
      message: `The TLS settings in dnif.syslog could not be used (${code ?? 'bad PEM'})`,
      hint: 'Check dnif.syslog.ca, cert and key are PEM strings, and that key belongs to cert.',
      dnifMessage: DNIF.configuration,
      cause: code,
    };
  }
  if (code && (NETWORK_UNREACHABLE.has(code) || isTlsErrorCode(code))) return networkFailure(code, target, true);
  return unknownFailure(err, `connecting to DNIF at ${target}`);
}

// ---------------------------------------------------------------------------------------------
// The connector

export function classifyConnectorError(err: unknown, source: 'secret' | 'request', secretId?: string): Failure {
  if (err instanceof ConnectorValidationError) {
    const where = source === 'secret' ? `The connector in secret ${secretId}` : 'The connector in the request body';
    return {
      code: 'InvalidConnector',
      message: `${where} is invalid: ${err.problems.map((p) => `${p.field} ${p.problem}`).join('; ')}`,
      hint: `Fix ${err.field}${err.problems.length > 1 ? ` and the ${err.problems.length - 1} other field(s) listed` : ''}; the fields are those of the connector JSON (docs/test-connection.md).`,
      dnifMessage: DNIF.configuration,
      field: err.field,
      problems: err.problems,
    };
  }
  if (err instanceof SecretReadError) {
    switch (err.code) {
      case 'SecretNotFound':
        return {
          code: 'SecretNotFound',
          message: err.message,
          hint: 'Check SECRET_ID names the secret (name or ARN) in the function\'s region, and that a value has been put into it.',
          dnifMessage: DNIF.configuration,
          cause: err.code,
        };
      case 'SecretAccessDenied':
        return {
          code: 'SecretAccessDenied',
          message: err.message,
          hint: 'Allow the function\'s role secretsmanager:GetSecretValue on the secret (and kms:Decrypt on its key, if it uses a customer managed key).',
          dnifMessage: DNIF.credentials,
          cause: err.code,
        };
      case 'SecretPlaceholder':
        return {
          code: 'InvalidConnector',
          message: err.message,
          hint: 'Write the connector JSON into the secret with aws secretsmanager put-secret-value (docs/deploy.md, "Store the connector").',
          dnifMessage: DNIF.configuration,
          field: 'connectorName',
          problems: [{ field: 'connectorName', problem: 'is still the REPLACE_ME placeholder' }],
          cause: err.code,
        };
      case 'SecretNotString':
        return {
          code: 'InvalidConnector',
          message: err.message,
          hint: 'Store the connector JSON as the secret\'s SecretString (put-secret-value --secret-string).',
          dnifMessage: DNIF.configuration,
          field: '(secret)',
          problems: [{ field: '(secret)', problem: 'must be a SecretString holding the connector JSON' }],
          cause: err.code,
        };
      default:
        return {
          code: 'SecretUnreadable',
          message: err.message,
          hint: 'Check the function can reach Secrets Manager (a VPC needs a NAT gateway or a secretsmanager VPC endpoint) and try again.',
          dnifMessage: DNIF.unableToConnect,
          cause: err.code,
        };
    }
  }
  const e = (err ?? {}) as ErrorShape;
  if (e.name === 'ConfigError') {
    const variable = (err as { variable?: string }).variable;
    return {
      code: 'ConfigError',
      message: e.message ?? 'The function is misconfigured',
      hint:
        variable === 'SECRET_ID'
          ? 'Set SECRET_ID on the function to the name or ARN of the connector secret (the CDK stack does this).'
          : `Fix the function's environment variable ${variable ?? ''} (docs/test-connection.md).`.replace('  ', ' '),
      dnifMessage: DNIF.configuration,
    };
  }
  if (isTimeout(e)) {
    return {
      code: 'AwsTimeout',
      message: `Secrets Manager did not answer in time${secretId ? ` for ${secretId}` : ''}`,
      hint: 'Try again. If it keeps timing out, check the function can reach Secrets Manager.',
      dnifMessage: DNIF.timeout,
    };
  }
  return unknownFailure(err, 'reading the connector');
}

// ---------------------------------------------------------------------------------------------

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
