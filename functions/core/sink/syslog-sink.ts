/**
 * Sends batches to a DNIF Adapter as RFC 5424 syslog over TLS (or, for a loopback test receiver,
 * TCP), framed by octet counting (RFC 6587).
 *
 * Delivery (docs/contract.md, "Transport rules"). Syslog has no per-message acknowledgement, so
 * each batch goes on its own connection and `send` resolves only once the Adapter confirmed it by
 * answering our close (syslog-session.ts). Only then does the caller record the batch, so the
 * checkpoint never passes an unconfirmed event. A failed confirmation is retried on a new
 * connection (the batch again: at most that batch twice in DNIF, which drops it by
 * dnifForwarder.eventId) and, once attempts or the deadline run out, thrown: the run fails with
 * the batch still ahead of the cursor. The cost is a connection (a TLS handshake) per batch.
 *
 * Size. A stock rsyslog takes messages up to 8 KB (maxMessageSize) and frames up to 200,000 bytes;
 * past either it cuts the message or loses the framing of everything after it on the connection.
 * `maxRecordBytes` tells the source how large a record may be for `dnif.syslog.maxMessageBytes`
 * (the header included), so it shrinks larger ones and counts them (EventsTruncated); a record
 * that still comes in too large is shrunk here the same way.
 *
 * Errors. Connection failures are retried with backoff while attempts and the deadline allow, then
 * SinkUnavailableError. A TLS failure that retrying cannot fix (DNIF's certificate not trusted,
 * our client certificate refused, with an alert or by a close right after the handshake, unusable
 * PEMs) stops at once with SinkTlsError; the refusals count as auth rejections, so the handler
 * reads the secret again once.
 */
import type { SyslogTarget } from '../connector';
import { logger } from '../logger';
import { Deadline, DeadlineReachedError } from '../deadline';
import { backoffDelayMs, retry } from '../retry';
import { SinkUnavailableError } from './errors';
import type { OutgoingRecord } from './records';
import { frameBatch, headerBytesBound } from './rfc5424';
import type { SendStats, Sink } from './sink';
import { sendConfirmed, type SessionTimings } from './syslog-session';
import { CLOSED_AFTER_HANDSHAKE, isPeerRefusalCode, isServerCertCode, isUnusablePemError } from '../errors/tls';
import { SinkTlsError } from './tls-errors';

export interface SyslogSinkOptions extends Partial<SessionTimings> {
  /** HOSTNAME of every message (the connector name). */
  hostname: string;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
}

const describeError = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).name ?? 'error';

export class SyslogSink implements Sink {
  /** The largest serialised record one message can carry under `maxMessageBytes`. */
  readonly maxRecordBytes: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;
  private readonly timings: SessionTimings;
  private readonly label: string;
  /** Once the Adapter has confirmed a batch, our certificate is known good: later connections skip the handshake settle. */
  private certificateAccepted = false;
  private queue: Promise<unknown> = Promise.resolve();
  /** For tests and logs: connections opened, batches confirmed, events sent again after a failed attempt. */
  readonly counters = { connections: 0, confirmations: 0, replayedEvents: 0, shrunk: 0 };

  constructor(
    private readonly target: SyslogTarget,
    private readonly options: SyslogSinkOptions,
  ) {
    this.maxAttempts = options.maxAttempts ?? 6;
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 20_000;
    this.random = options.random ?? Math.random;
    this.timings = {
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      writeTimeoutMs: options.writeTimeoutMs ?? 30_000,
      closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
      handshakeSettleMs: options.handshakeSettleMs ?? 250,
      confirmSettleMs: options.confirmSettleMs ?? 100,
    };
    this.label = `${target.tls ? 'tls' : 'tcp'}://${target.host}:${target.port}`;
    this.maxRecordBytes = target.maxMessageBytes - headerBytesBound(options.hostname);
  }

  /** One batch at a time: regions wait their turn, first come first served. */
  send(records: OutgoingRecord[], deadline: Deadline): Promise<SendStats> {
    const run = this.queue.then(() => this.sendNow(records, deadline));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Nothing is ever left unconfirmed between sends; waits for a send in progress. */
  async close(): Promise<void> {
    await this.queue;
  }

  private async sendNow(records: OutgoingRecord[], deadline: Deadline): Promise<SendStats> {
    const frame = frameBatch(records, { hostname: this.options.hostname, maxMessageBytes: this.target.maxMessageBytes });
    if (frame.shrunk) {
      this.counters.shrunk += frame.shrunk;
      logger.warn('Records larger than dnif.syslog.maxMessageBytes were shrunk before sending', { records: frame.shrunk, maxMessageBytes: this.target.maxMessageBytes });
    }
    const stats: SendStats = { attempts: 0, errors: 0, bytesSent: 0 };
    let lastCode: string | undefined;
    await retry(
      async () => {
        if (deadline.reached) throw new DeadlineReachedError('delivering to DNIF');
        if (stats.attempts > 0) this.counters.replayedEvents += records.length;
        stats.attempts += 1;
        this.counters.connections += 1;
        try {
          await sendConfirmed(this.target, frame, { ...this.timings, handshakeSettleMs: this.certificateAccepted ? 0 : this.timings.handshakeSettleMs }, deadline);
        } catch (err) {
          stats.errors += 1;
          // Settle again on the next connection, so a refusal after the handshake is seen as one.
          this.certificateAccepted = false;
          if (err instanceof DeadlineReachedError) throw err;
          throw syslogTlsFailure(err, this.label, stats.attempts) ?? new RetryableAttempt((lastCode = describeError(err)));
        }
        this.certificateAccepted = true;
        this.counters.confirmations += 1;
        stats.bytesSent += frame.length;
      },
      {
        maxAttempts: this.maxAttempts,
        isRetryable: (err) => err instanceof RetryableAttempt,
        backoff: (attempt) => backoffDelayMs(attempt, this.baseDelayMs, this.maxDelayMs, this.random),
        deadline,
        exhausted: () =>
          new SinkUnavailableError(
            `DNIF at ${this.label} did not confirm the batch after ${stats.attempts} attempts (last: ${lastCode}); it stays ahead of the checkpoint`,
            stats.attempts,
            undefined,
            lastCode,
          ),
      },
    );
    return stats;
  }
}

/** A connection that failed in a way another connection may not (resets, timeouts, no confirmation). */
class RetryableAttempt extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/** The SinkTlsError for a syslog connection failure that retrying will not fix, or undefined. */
export function syslogTlsFailure(err: unknown, label: string, attempts: number): SinkTlsError | undefined {
  if (err instanceof SinkTlsError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const message = (err as Error).message ?? '';
  if (isServerCertCode(code)) {
    return new SinkTlsError(`DNIF's TLS certificate at ${label} is not trusted (${code}): give DNIF's CA as dnif.syslog.ca, and a host name the certificate names`, code, true, attempts);
  }
  if (isPeerRefusalCode(code)) {
    const how = code === CLOSED_AFTER_HANDSHAKE ? 'closed the connection right after the TLS handshake' : `refused the TLS connection (${code})`;
    return new SinkTlsError(`DNIF at ${label} ${how}: check the client certificate and key in dnif.syslog.cert/key are the ones DNIF expects`, code, true, attempts);
  }
  if (isUnusablePemError(code, message)) {
    return new SinkTlsError(`The TLS settings in dnif.syslog could not be used (${code || 'bad PEM'}): check ca, cert and key are PEM and key belongs to cert`, code, false, attempts);
  }
  return undefined;
}
