/**
 * The DNIF check (SPEC.md, "Test connection"): the HTTP probe (an empty batch through the
 * forwarder's own HttpSink) or the syslog probe (a confirmed close, as every batch has).
 */
import type { HttpTarget, SyslogTarget } from '../core/connector';
import { Deadline } from '../core/deadline';
import { HttpSink, originOf } from '../core/sink/http-sink';
import { headerField } from '../core/sink/rfc5424';
import { sendConfirmed } from '../core/sink/syslog-session';
import { failedCheck, passedCheck, timed, type CheckResult } from './check-result';
import { classifyDnifHttpError, classifySyslogError } from './error-codes';

/**
 * DNIF over HTTP: POST an empty batch (`[]`, or an empty body for ndjson) with the configured
 * auth, format and gzip, through the forwarder's own HttpSink, once (no retries). An empty
 * batch is the harmless probe: it proves the URL is reachable, TLS is valid and the token is
 * accepted, and adds no event to DNIF (docs/test-connection.md).
 */
export function dnifHttpCheck(http: HttpTarget, timeoutMs: number): Promise<CheckResult> {
  const target = originOf(http.url);
  const details = { target, transport: 'http' as const };
  // HttpSink times the request itself (and says "timed out"); `timed` is only the backstop.
  const requestMs = Math.max(1, timeoutMs - 250);
  return timed(
    timeoutMs,
    async () => {
      const sink = new HttpSink(http, { maxAttempts: 1, requestTimeoutMs: requestMs, userAgent: 'cloudtrail-dnif-forwarder/0.1 (test-connection)' });
      await sink.post(sink.encode([]), new Deadline(Date.now() + requestMs, 0));
      return passedCheck('dnif', `DNIF at ${target} accepted the test request (an empty batch, ${http.auth.type} auth${http.gzip ? ', gzip' : ''})`, details);
    },
    (err) => failedCheck('dnif', classifyDnifHttpError(err, target), details),
  );
}

/** The probe's settle times: the sink's defaults, shorter where the answer is due within seconds. */
const PROBE_TIMINGS = { handshakeSettleMs: 250, confirmSettleMs: 100 };

/**
 * DNIF over syslog: what the sink does for a batch, with no event (syslog-session.ts): connect
 * (TLS with ca/cert/key), watch for a refusal after the handshake, close and wait for the
 * Adapter's answer, the confirmation every batch needs. Plain TCP (loopback receivers only) sends
 * one test message, since a TLS listener takes a silent plain connection and its close quietly;
 * over TLS nothing is sent.
 */
export function dnifSyslogCheck(syslog: SyslogTarget, timeoutMs: number, connectorName = 'test-connection'): Promise<CheckResult> {
  const target = `${syslog.tls ? 'tls' : 'tcp'}://${syslog.host}:${syslog.port}`;
  const details = { target, transport: 'syslog' as const };
  return timed(
    timeoutMs,
    async () => {
      const bytes = syslog.tls ? Buffer.alloc(0) : testMessage(connectorName);
      const budget = Math.max(1, timeoutMs - 100);
      const { protocol } = await sendConfirmed(
        syslog,
        bytes,
        { ...PROBE_TIMINGS, connectTimeoutMs: budget, writeTimeoutMs: budget, closeTimeoutMs: budget },
        new Deadline(Date.now() + budget, 0),
      );
      return passedCheck(
        'dnif',
        syslog.tls
          ? `DNIF at ${target} completed a TLS handshake (${protocol}) and confirmed a clean close; no message was sent`
          : `DNIF at ${target} took a test message over TCP and confirmed it with a clean close`,
        details,
      );
    },
    (err) => failedCheck('dnif', classifySyslogError(err, target), details),
  );
}

/** One RFC 5424 message saying what it is (MSGID test-connection), octet-counted. */
function testMessage(connectorName: string): Buffer {
  const msg = `<134>1 ${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')} ${headerField(connectorName, 255)} cloudtrail - test-connection - {"dnifForwarder":{"connectorName":${JSON.stringify(connectorName)},"testConnection":true}}`;
  const body = Buffer.from(msg, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
