/**
 * One confirmed delivery to a DNIF Adapter: connect, write, and have the Adapter confirm it read
 * everything, as the syslog sink does for every batch and the test-connection probe does once.
 *
 * Syslog over TCP has no acknowledgement, so the confirmation is the close handshake: we end our
 * side (TLS close_notify, then FIN) and the Adapter can only answer with its own close once it
 * has read all that came before (RFC 5425 §4.4 asks a TLS receiver to answer close_notify). Any
 * other sign from the Adapter before that is a failure:
 *  - it closes, resets or sends data (an Adapter never sends any) before we ended our side;
 *  - over TLS it closes right after the handshake, before anything was written: rsyslog with
 *    GnuTLS refuses a client certificate this way, with no alert (CLOSED_AFTER_HANDSHAKE);
 *  - it does not answer our close within `closeTimeoutMs`.
 * `confirmSettleMs` after the write (and `handshakeSettleMs` after a TLS handshake, cut short by a
 * TLS 1.3 session ticket, which a server sends once it has accepted us) leave a refusal or break
 * time to arrive before our close, so it is not taken for the answer.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { SyslogTarget } from '../connector';
import { DeadlineReachedError, type Deadline } from '../deadline';
import { connectSyslog } from './syslog-connect';
import { CLOSED_AFTER_HANDSHAKE } from '../errors/tls';

export interface SessionTimings {
  connectTimeoutMs: number;
  /** Longest wait for the bytes to be flushed (an Adapter not reading fills the buffers). */
  writeTimeoutMs: number;
  /** Longest wait for the Adapter's close in answer to ours. */
  closeTimeoutMs: number;
  /** After a TLS handshake, how long to watch for a refusal before writing (0: write at once). */
  handshakeSettleMs: number;
  /** After the write, how long to watch for a break before closing to confirm. */
  confirmSettleMs: number;
}

export interface SessionResult {
  /** TLS protocol, or 'tcp'. */
  protocol: string;
  /** Connect (and TLS handshake) time. */
  handshakeMs: number;
}

export const codeError = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

type Phase = 'connecting' | 'settling' | 'writing' | 'confirming';

/** Writes `bytes` (may be empty) on a new connection and resolves once the Adapter confirmed them. */
export function sendConfirmed(target: SyslogTarget, bytes: Buffer, timings: SessionTimings, deadline: Deadline): Promise<SessionResult> {
  const started = Date.now();
  const within = (ms: number) => Math.max(1, Math.min(ms, deadline.remainingMs()));
  if (deadline.remainingMs() <= 0) return Promise.reject(new DeadlineReachedError('connecting to DNIF'));
  return new Promise<SessionResult>((resolve, reject) => {
    let socket: Socket | TLSSocket | undefined;
    let phase: Phase = 'connecting';
    let done = false;
    let peerEnded = false;
    let ticket = false;
    let protocol = 'tcp';
    let handshakeMs = 0;
    let timer: NodeJS.Timeout | undefined;

    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (socket) {
        socket.removeAllListeners('data');
        socket.on('error', () => undefined);
        socket.destroy();
      }
      if (err) reject(err);
      else resolve({ protocol, handshakeMs });
    };
    const after = (ms: number, next: () => void) => {
      clearTimeout(timer);
      timer = setTimeout(next, ms);
    };
    const timeout = (code: string, what: string) => () => finish(codeError(code, `${what} timed out`));
    /** The Adapter closed (or reset) before answering our close. */
    const early = (err?: NodeJS.ErrnoException) => {
      if (phase === 'settling' && protocol !== 'tcp' && (!err || err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        return finish(codeError(CLOSED_AFTER_HANDSHAKE, 'DNIF closed the TLS connection right after the handshake'));
      }
      finish(err ?? codeError('EPEERCLOSED', 'DNIF closed the connection before confirming'));
    };

    const confirm = () => {
      phase = 'confirming';
      after(within(timings.closeTimeoutMs), timeout('ETIMEDOUT_CONFIRM', 'Waiting for DNIF to close its side'));
      socket?.end();
    };
    const write = () => {
      phase = 'writing';
      if (bytes.length === 0) return after(within(timings.confirmSettleMs), confirm);
      after(within(timings.writeTimeoutMs), timeout('ETIMEDOUT_WRITE', 'Writing to DNIF'));
      socket?.write(bytes, (err) => {
        if (err) return finish(err);
        if (!done) after(within(timings.confirmSettleMs), confirm);
      });
    };
    const connected = (tlsSocket: TLSSocket | undefined) => {
      handshakeMs = Date.now() - started;
      if (!tlsSocket) return write();
      protocol = tlsSocket.getProtocol() ?? 'TLS';
      phase = 'settling';
      // TLS 1.3: the server checks our certificate after our side is done; its ticket says it accepted us.
      if (ticket && protocol === 'TLSv1.3') return write();
      if (timings.handshakeSettleMs <= 0) return write();
      after(within(timings.handshakeSettleMs), write);
    };

    try {
      socket = connectSyslog(target, connected);
    } catch (err) {
      // Unusable PEMs throw while the secure context is built.
      return finish(err);
    }
    after(within(timings.connectTimeoutMs), timeout('ETIMEDOUT_CONNECT', 'Connecting to DNIF'));
    socket.once('session', () => {
      ticket = true;
      if (phase === 'settling' && protocol === 'TLSv1.3') setImmediate(() => phase === 'settling' && !done && write());
    });
    socket.on('data', () => finish(codeError('EUNEXPECTEDDATA', 'DNIF sent data, which a syslog Adapter never does')));
    socket.on('error', (err: NodeJS.ErrnoException) => (phase === 'connecting' ? finish(err) : early(err)));
    socket.on('end', () => {
      peerEnded = true;
      if (phase !== 'confirming') early();
    });
    socket.on('close', () => (phase === 'confirming' && peerEnded ? finish() : early()));
  });
}
