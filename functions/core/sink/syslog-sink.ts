/**
 * Sends batches to a DNIF Adapter as RFC 5424 syslog over TCP or TLS, framed by octet counting
 * (RFC 6587), over one connection per run that the run closes at its end.
 *
 * Delivery. Syslog over TCP has no application acknowledgement, so:
 *  - `send` resolves only when every byte of the batch was written and flushed to the kernel
 *    (the socket's write callback). That is what "delivered" means to the caller, as a 2xx does
 *    for the HTTP sink.
 *  - Before writing, pending socket events are processed, so a connection the Adapter has
 *    closed or reset is noticed and replaced instead of written into.
 *  - Batches written on a connection stay "unconfirmed" until the Adapter closes that connection
 *    in answer to ours (TLS close_notify, which RFC 5425 §4.4 requires it to answer, or a TCP
 *    FIN): it can only do that after reading everything before it. The sink confirms this way
 *    every `confirmEveryEvents` / `confirmEveryBytes` and at `close()`. If the connection breaks
 *    first (reset, error, or a close we did not ask for), the unconfirmed batches are written
 *    again on the next connection: at-least-once, duplicates bounded by that window, and the
 *    receiver can drop them by dnifForwarder.eventId.
 *  - What remains: bytes the Adapter read and then lost, or a crash of this process between a
 *    write and its confirmation (docs/connector.md, "What a syslog delivery means").
 *
 * Errors. Connection failures are retried with backoff (reconnecting) while attempts and the
 * deadline allow, then SinkUnavailableError. A TLS failure that retrying cannot fix (DNIF's
 * certificate not trusted, our client certificate refused, unusable PEMs) stops at once with
 * SyslogTlsError, counted as an auth rejection so the handler reads the secret again once.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { SyslogTarget } from '../connector';
import { logger } from '../logger';
import { backoffDelayMs, Deadline, DeadlineReachedError, sleep } from '../time';
import { SinkRejectedError, SinkUnavailableError } from './errors';
import type { SendStats, Sink } from './sink';
import type { OutgoingRecord } from './records';
import { frameBatch } from './rfc5424';
import { connectSyslog } from './syslog-connect';

export interface SyslogSinkOptions {
  /** HOSTNAME of every message (the connector name). */
  hostname: string;
  maxAttempts?: number;
  connectTimeoutMs?: number;
  /** Longest wait for a batch to be flushed (the Adapter not reading fills the buffers). */
  writeTimeoutMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Confirm (close and reconnect) once this many events / bytes are unconfirmed. */
  confirmEveryEvents?: number;
  confirmEveryBytes?: number;
  /** How long to wait for the Adapter to close its side after ours. */
  closeTimeoutMs?: number;
  /** TLS 1.3: how long to wait for a sign that the Adapter accepted the handshake (our certificate, or none). */
  handshakeSettleMs?: number;
  /** Before closing to confirm, leave the Adapter this long after our last write to show a break first. */
  confirmSettleMs?: number;
  random?: () => number;
}

/** A TLS problem retrying will not fix; `isAuthError` makes the handler refetch the secret once. */
export class SyslogTlsError extends SinkRejectedError {
  constructor(
    message: string,
    readonly networkCode: string | undefined,
    private readonly authRelated: boolean,
    attempts: number,
  ) {
    super(0, networkCode ?? 'TLS', attempts);
    this.message = message;
    this.name = 'SyslogTlsError';
  }

  override get isAuthError(): boolean {
    return this.authRelated;
  }
}

interface Connection {
  socket: Socket | TLSSocket;
  /** Set once the connection can no longer be trusted: an error, or a close we did not ask for. */
  broken?: NodeJS.ErrnoException;
  /** We called end(): a close from the Adapter now is its answer. */
  ending: boolean;
  peerEnded: boolean;
  closed: boolean;
}

interface Unconfirmed {
  frame: Buffer;
  events: number;
}

// Our side refused DNIF's certificate.
const SERVER_CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The Adapter refused our client certificate (alerts), or a TLS handshake no retry will change. */
const isPeerTlsAlert = (code: string): boolean => /^ERR_SSL_(SSLV3|TLSV1|TLSV13)_ALERT_/.test(code) || code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE';

function peerClosed(): NodeJS.ErrnoException {
  return Object.assign(new Error('DNIF closed the connection'), { code: 'EPEERCLOSED' });
}

function timeoutError(what: string, code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${what} timed out`), { code });
}

const describeError = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}${e.message && !e.message.includes(e.code) ? ` (${e.message})` : ''}` : (e.message ?? String(err));
};

export class SyslogSink implements Sink {
  private readonly maxAttempts: number;
  private readonly connectTimeoutMs: number;
  private readonly writeTimeoutMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly confirmEveryEvents: number;
  private readonly confirmEveryBytes: number;
  private readonly closeTimeoutMs: number;
  private readonly handshakeSettleMs: number;
  private readonly confirmSettleMs: number;
  private readonly random: () => number;
  private readonly label: string;

  private conn: Connection | undefined;
  private unconfirmed: Unconfirmed[] = [];
  /** false once the Adapter did not answer our close in time: confirmations are then skipped. */
  private peerConfirms = true;
  private lastDeadline: Deadline | undefined;
  private lastWriteAt = 0;
  private queue: Promise<unknown> = Promise.resolve();
  /** For tests and logs: connections opened, batches written again after a break, confirmations. */
  readonly counters = { connections: 0, replayedEvents: 0, confirmations: 0 };

  constructor(
    private readonly target: SyslogTarget,
    private readonly options: SyslogSinkOptions,
  ) {
    this.maxAttempts = options.maxAttempts ?? 6;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.writeTimeoutMs = options.writeTimeoutMs ?? 30_000;
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 20_000;
    this.confirmEveryEvents = options.confirmEveryEvents ?? 1000;
    this.confirmEveryBytes = options.confirmEveryBytes ?? 2 * 1024 * 1024;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    this.handshakeSettleMs = options.handshakeSettleMs ?? 500;
    this.confirmSettleMs = options.confirmSettleMs ?? 100;
    this.random = options.random ?? Math.random;
    this.label = `${target.tls ? 'tls' : 'tcp'}://${target.host}:${target.port}`;
  }

  /** Events written but not yet confirmed by a clean close. */
  get unconfirmedEvents(): number {
    return this.unconfirmed.reduce((n, u) => n + u.events, 0);
  }

  private get unconfirmedBytes(): number {
    return this.unconfirmed.reduce((n, u) => n + u.frame.length, 0);
  }

  /** One batch at a time on the one connection: regions wait their turn, first come first served. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  send(records: OutgoingRecord[], deadline: Deadline): Promise<SendStats> {
    return this.exclusive(() => this.sendNow(records, deadline));
  }

  private async sendNow(records: OutgoingRecord[], deadline: Deadline): Promise<SendStats> {
    this.lastDeadline = deadline;
    const frame = frameBatch(records, { hostname: this.options.hostname });
    const stats: SendStats = { attempts: 0, errors: 0, bytesSent: 0 };
    let lastProblem = '';
    let lastCode: string | undefined;
    while (stats.attempts < this.maxAttempts) {
      if (deadline.reached) throw new DeadlineReachedError('delivering to DNIF');
      stats.attempts += 1;
      try {
        if (this.confirmDue()) await this.confirm(deadline);
        const fresh = await this.ensureConnection(deadline);
        const replay = fresh ? this.unconfirmed : [];
        if (replay.length > 0) {
          const events = replay.reduce((n, u) => n + u.events, 0);
          this.counters.replayedEvents += events;
          logger.warn('Connection to DNIF broke before it confirmed earlier batches; sending them again', { events, target: this.label });
        }
        const bytes = Buffer.concat([...replay.map((u) => u.frame), frame]);
        await this.write(this.conn as Connection, bytes, deadline);
        this.unconfirmed.push({ frame, events: records.length });
        stats.bytesSent += bytes.length;
        return stats;
      } catch (err) {
        stats.errors += 1;
        this.drop();
        if (err instanceof DeadlineReachedError) throw err;
        const fatal = this.fatalTlsError(err, stats.attempts);
        if (fatal) throw fatal;
        lastProblem = describeError(err);
        lastCode = (err as NodeJS.ErrnoException).code;
        if (stats.attempts >= this.maxAttempts) break;
        const delay = backoffDelayMs(stats.attempts - 1, this.baseDelayMs, this.maxDelayMs, this.random);
        if (!deadline.allows(delay)) break;
        await sleep(delay);
      }
    }
    throw new SinkUnavailableError(`DNIF at ${this.label} did not take the batch after ${stats.attempts} attempts: ${lastProblem}`, stats.attempts, undefined, lastCode);
  }

  /**
   * Confirms what is outstanding (sending it again if the connection broke) and closes the
   * connection. Throws SinkUnavailableError when some events written in this run could not be
   * confirmed: they may not have reached DNIF.
   */
  close(): Promise<void> {
    return this.exclusive(async () => {
      if (!this.conn && this.unconfirmed.length === 0) return;
      // The run's own deadline may be spent: then use part of the reserve it keeps before the
      // Lambda's end (DEADLINE_RESERVE_MS, 15 s by default), at most 3 close timeouts.
      const budget = Math.min(Math.max(this.lastDeadline?.remainingMs() ?? 0, this.closeTimeoutMs), 3 * this.closeTimeoutMs);
      const deadline = new Deadline(Date.now() + budget, 0);
      let lastProblem = '';
      for (let attempt = 1; attempt <= 3; attempt++) {
        try {
          if (this.unconfirmed.length > 0 && (await this.ensureConnection(deadline))) {
            const events = this.unconfirmedEvents;
            this.counters.replayedEvents += events;
            logger.warn('Connection to DNIF broke before it confirmed earlier batches; sending them again', { events, target: this.label });
            await this.write(this.conn as Connection, Buffer.concat(this.unconfirmed.map((u) => u.frame)), deadline);
          }
          await this.confirm(deadline);
          return;
        } catch (err) {
          this.drop();
          lastProblem = describeError(err);
          if (this.fatalTlsError(err, attempt)) break;
          const delay = backoffDelayMs(attempt - 1, this.baseDelayMs, this.maxDelayMs, this.random);
          if (!deadline.allows(delay)) break;
          await sleep(delay);
        }
      }
      const events = this.unconfirmedEvents;
      this.unconfirmed = [];
      if (events > 0) {
        throw new SinkUnavailableError(
          `${events} events written to DNIF at ${this.label} in this run were not confirmed (the connection broke and could not be restored: ${lastProblem}); they may be missing in DNIF`,
          3,
        );
      }
    });
  }

  private confirmDue(): boolean {
    if (!this.peerConfirms || !this.conn || this.conn.broken) return false;
    return this.unconfirmedEvents >= this.confirmEveryEvents || this.unconfirmedBytes >= this.confirmEveryBytes;
  }

  /**
   * Ends our side and waits for the Adapter to close its side: proof it read everything before.
   * A break on the way throws (the caller sends the unconfirmed batches again).
   */
  private async confirm(deadline: Deadline): Promise<void> {
    const conn = this.conn;
    if (!conn) {
      if (this.unconfirmed.length > 0) throw peerClosed();
      return;
    }
    // A close the Adapter sent before ours must not pass for its answer: give a break that the
    // last write caused time to show, then look at pending socket events.
    const settle = Math.min(this.lastWriteAt + this.confirmSettleMs - Date.now(), deadline.remainingMs());
    if (settle > 0) await sleep(settle);
    await new Promise((resolve) => setImmediate(resolve));
    if (conn.broken) throw conn.broken;
    conn.ending = true;
    const waitMs = Math.max(0, Math.min(this.peerConfirms ? this.closeTimeoutMs : 1000, deadline.remainingMs()));
    const outcome = await new Promise<'closed' | 'timeout' | NodeJS.ErrnoException>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), waitMs);
      const finish = (result: 'closed' | NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve(result);
      };
      conn.socket.once('close', () => finish(conn.broken ?? (conn.peerEnded ? 'closed' : peerClosed())));
      conn.socket.end();
    });
    if (outcome === 'timeout') {
      if (this.peerConfirms) {
        logger.warn('DNIF did not close its side of the connection after ours; from now on batches count as delivered once flushed, unconfirmed', {
          target: this.label,
          waitedMs: waitMs,
        });
      }
      this.peerConfirms = false;
    } else if (outcome !== 'closed') {
      conn.broken ??= outcome;
      throw outcome;
    } else {
      this.counters.confirmations += 1;
    }
    conn.socket.destroy();
    this.conn = undefined;
    this.unconfirmed = [];
  }

  /** The open connection, or a new one (true). Pending socket events are seen first. */
  private async ensureConnection(deadline: Deadline): Promise<boolean> {
    // A close or reset the Adapter sent is processed in the poll phase, before this resolves.
    await new Promise((resolve) => setImmediate(resolve));
    const conn = this.conn;
    if (conn && !conn.broken && !conn.closed && !conn.ending && conn.socket.writable) return false;
    this.drop();
    this.conn = await this.connect(deadline);
    this.counters.connections += 1;
    return true;
  }

  private drop(): void {
    this.conn?.socket.destroy();
    this.conn = undefined;
  }

  private connect(deadline: Deadline): Promise<Connection> {
    const t = this.target;
    const timeoutMs = Math.min(this.connectTimeoutMs, deadline.remainingMs());
    if (timeoutMs <= 0) return Promise.reject(new DeadlineReachedError('connecting to DNIF'));
    return new Promise<Connection>((resolve, reject) => {
      let socket: Socket | TLSSocket;
      let settled = false;
      let settleTimer: NodeJS.Timeout | undefined;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(settleTimer);
        socket?.destroy();
        reject(err);
      };
      const ready = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(settleTimer);
        socket.removeListener('error', fail);
        socket.removeListener('close', onEarlyClose);
        resolve(this.track(socket));
      };
      const onEarlyClose = () => fail(peerClosed());
      const timer = setTimeout(() => fail(timeoutError(`Connecting to DNIF at ${this.label}`, 'ETIMEDOUT_CONNECT')), timeoutMs);
      try {
        socket = connectSyslog(t, (tlsSocket) => {
          // TLS 1.3: the Adapter checks our certificate (or its absence) after our side thinks
          // the handshake is done, and refuses with an alert. Wait for its session ticket (sent
          // once it has accepted us) or a short while, so no batch goes into a refused connection.
          if (!tlsSocket || tlsSocket.getProtocol() !== 'TLSv1.3') return ready();
          tlsSocket.once('session', () => setImmediate(ready));
          settleTimer = setTimeout(ready, Math.min(this.handshakeSettleMs, Math.max(0, timeoutMs - 1)));
        });
      } catch (err) {
        // Unusable PEMs throw while the secure context is built.
        return fail(err);
      }
      socket.once('error', fail);
      socket.once('close', onEarlyClose);
      // The Adapter sends nothing; reading keeps us informed of its close.
      socket.resume();
    });
  }

  private track(socket: Socket | TLSSocket): Connection {
    const conn: Connection = { socket, ending: false, peerEnded: false, closed: false };
    socket.setKeepAlive(true, 30_000);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      conn.broken ??= err;
    });
    socket.on('end', () => {
      conn.peerEnded = true;
      if (!conn.ending) conn.broken ??= peerClosed();
    });
    socket.on('close', () => {
      conn.closed = true;
      if (!conn.ending) conn.broken ??= peerClosed();
    });
    return conn;
  }

  /** Resolves once every byte was flushed to the kernel; rejects on any break or timeout. */
  private write(conn: Connection, bytes: Buffer, deadline: Deadline): Promise<void> {
    const timeoutMs = Math.min(this.writeTimeoutMs, deadline.remainingMs());
    if (timeoutMs <= 0) return Promise.reject(new DeadlineReachedError('writing to DNIF'));
    if (conn.broken) return Promise.reject(conn.broken);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const done = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.socket.removeListener('error', done);
        conn.socket.removeListener('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onClose = () => done(conn.broken ?? peerClosed());
      const timer = setTimeout(() => done(timeoutError(`Writing to DNIF at ${this.label}`, 'ETIMEDOUT_WRITE')), timeoutMs);
      conn.socket.once('error', done);
      conn.socket.once('close', onClose);
      conn.socket.write(bytes, (err) => {
        this.lastWriteAt = Date.now();
        done(err ?? undefined);
      });
    });
  }

  private fatalTlsError(err: unknown, attempts: number): SyslogTlsError | undefined {
    if (err instanceof SyslogTlsError) return err;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const message = (err as Error).message ?? '';
    if (SERVER_CERT_CODES.has(code) || code.startsWith('ERR_TLS_CERT')) {
      return new SyslogTlsError(
        `DNIF's TLS certificate at ${this.label} is not trusted (${code}): give DNIF's CA as dnif.syslog.ca, and a host name the certificate names`,
        code,
        true,
        attempts,
      );
    }
    if (isPeerTlsAlert(code)) {
      return new SyslogTlsError(
        `DNIF at ${this.label} refused the TLS connection (${code}): check the client certificate and key in dnif.syslog.cert/key are the ones DNIF expects`,
        code,
        true,
        attempts,
      );
    }
    if (code.startsWith('ERR_OSSL') || /PEM|key values mismatch|DECODER/i.test(message)) {
      return new SyslogTlsError(`The TLS settings in dnif.syslog could not be used (${code || 'bad PEM'}): check ca, cert and key are PEM and key belongs to cert`, code, false, attempts);
    }
    return undefined;
  }
}
