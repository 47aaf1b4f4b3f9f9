/**
 * Failures of the DNIF probes (HttpSink.post, the syslog session) as test-connection codes. TLS
 * and network codes are classified in core/errors; the hints here say what to change.
 */
import { DeadlineReachedError } from '../../core/deadline';
import { NETWORK_ERROR_CODES } from '../../core/errors/network';
import { CLOSED_AFTER_HANDSHAKE, isPeerRefusalCode, isTlsErrorCode, isUnusablePemError } from '../../core/errors/tls';
import { SinkRedirectedError, SinkRejectedError, SinkUnavailableError } from '../../core/sink/errors';
import { SinkTlsError } from '../../core/sink/tls-errors';
import { DNIF, isTimeout, unknownFailure, type ErrorShape, type Failure } from './failure';

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
    if (err.networkCode) return networkFailure(err.networkCode, target, false);
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
  if (code && (NETWORK_ERROR_CODES.has(code) || code.startsWith('ERR_SSL_') || code in TLS_HINTS || isPeerRefusalCode(code) || /^(EPEERCLOSED|EUNEXPECTEDDATA|ETIMEDOUT_)/.test(code))) {
    return networkFailure(code === 'ETIMEDOUT_CONNECT' || code === 'ETIMEDOUT_WRITE' ? 'ETIMEDOUT_REQUEST' : code, target, true);
  }
  // Our own ca/cert/key could not be loaded (thrown before any connection is made).
  if (isUnusablePemError(code, e.message)) {
    return {
      code: 'DnifTlsError',
      message: `The TLS settings in dnif.syslog could not be used (${code ?? 'bad PEM'})`,
      hint: 'Check dnif.syslog.ca, cert and key are PEM strings, and that key belongs to cert.',
      dnifMessage: DNIF.configuration,
      cause: code,
    };
  }
  if (code && (NETWORK_ERROR_CODES.has(code) || isTlsErrorCode(code))) return networkFailure(code, target, true);
  return unknownFailure(err, `connecting to DNIF at ${target}`);
}
