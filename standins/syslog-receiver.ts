/**
 * A DNIF Adapter stand-in for syslog: RFC 5424 messages over TCP or TLS, framed by octet
 * counting (RFC 6587 §3.4.1: `MSG-LEN SP SYSLOG-MSG`, no trailer). It parses strictly: a
 * frame or header that breaks the RFCs is recorded in `problems`, the connection is cut, and
 * `waitForEvents` / `expectClean` fail at once, so a framing bug cannot pass unnoticed.
 *
 * For tests it can drop the connection after N more messages (a crash of the Adapter: what
 * it had not yet parsed is discarded) and refuse connections (an outage).
 */
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { testCerts, type DnifEvent } from './dnif-receiver';
import { EventLedger } from './event-ledger';
import { listenLoopback } from './http';

export interface SyslogReceiverOptions {
  /** TLS with the CA-signed server certificate (default), with the self-signed one, or plain TCP. */
  tls?: false | 'trusted' | 'untrusted';
  /** Ask for a client certificate signed by the test CA and refuse connections without one (DNIF's default for TLS). */
  requireClientCert?: boolean;
  port?: number;
  /** Largest MSG-LEN accepted (default 4 MiB); a larger one is a framing problem. */
  maxMessageBytes?: number;
}

export interface SdElement {
  id: string;
  params: Record<string, string>;
}

/** One RFC 5424 message as received. */
export interface SyslogMessage {
  /** Which connection (1-based, see `connections`) carried it. */
  connection: number;
  at: number;
  /** MSG-LEN: bytes of the SYSLOG-MSG. */
  length: number;
  pri: number;
  facility: number;
  severity: number;
  version: number;
  /** null for NILVALUE. */
  timestamp: string | null;
  hostname: string | null;
  appName: string | null;
  procId: string | null;
  msgId: string | null;
  structuredData: SdElement[] | null;
  msg: string;
  /** MSG parsed as JSON, when it is a JSON object. */
  json?: DnifEvent;
}

export interface SyslogConnection {
  id: number;
  openedAt: number;
  closedAt?: number;
  tlsProtocol?: string;
  /** Subject CN of the client certificate, when one was presented and verified. */
  clientCert?: string;
  messages: number;
  /** Who ended it: the client (FIN / close_notify), the receiver (drop, refuse, problem), or an error. */
  closedBy?: 'client' | 'receiver' | 'error';
  /** Bytes read but never parsed because the receiver dropped the connection. */
  discardedBytes: number;
}

export interface SyslogReceiver {
  host: string;
  port: number;
  tls: boolean;
  /** `dnif.syslog` for a connector that sends here: host, port, tls and, for TLS, the test CA and client certificate. */
  target(overrides?: Record<string, unknown>): Record<string, unknown>;
  /** Every message in arrival order, duplicates included. */
  readonly messages: readonly SyslogMessage[];
  readonly connections: readonly SyslogConnection[];
  /** Framing and format violations; any entry means the sender is wrong. */
  readonly problems: readonly string[];
  /** JSON of every message, duplicates included. */
  events(): DnifEvent[];
  /** First copy of each event by `dnifForwarder.eventId`. */
  eventsById(): Map<string, DnifEvent>;
  /** Messages whose eventId had been received before. */
  readonly duplicates: number;
  /** Resolves once `n` distinct eventIds have arrived; rejects at once on a problem. */
  waitForEvents(n: number, timeoutMs?: number): Promise<void>;
  /** Throws listing the problems, if any. */
  expectClean(): void;
  /** After `n` more messages, cut the connection that carried the n-th, discarding whatever it had not parsed yet. */
  dropAfter(n: number): void;
  /**
   * The next `n` connections the client closes get a reset instead of the receiver's close: every
   * message was taken, but the client gets no confirmation (an Adapter failing after it read them).
   */
  withholdConfirmation(n: number): void;
  /** Connections whose confirmation was withheld. */
  readonly withheld: number;
  /** Cancel dropAfter and withholdConfirmation not yet used. */
  normal(): void;
  /** Stop listening (ECONNREFUSED) and cut open connections. */
  refuse(): Promise<void>;
  /** Listen again on the same port. */
  accept(): Promise<void>;
  clear(): void;
  close(): Promise<void>;
}

const NIL = '-';
const PRINTUSASCII = /^[\x21-\x7e]+$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

class FrameError extends Error {}

/** Splits `SP`-separated header fields off the front of `text`. */
function takeField(text: string, pos: number, name: string): [string, number] {
  const end = text.indexOf(' ', pos);
  if (end < 0) throw new FrameError(`${name}: no SP after it`);
  const value = text.slice(pos, end);
  if (value === '') throw new FrameError(`${name}: empty (two SPs in a row)`);
  return [value, end + 1];
}

function checkField(value: string, name: string, max: number): string | null {
  if (value === NIL) return null;
  if (!PRINTUSASCII.test(value)) throw new FrameError(`${name}: must be printable US-ASCII`);
  if (value.length > max) throw new FrameError(`${name}: longer than ${max} characters`);
  return value;
}

function checkTimestamp(value: string): string | null {
  if (value === NIL) return null;
  const m = TIMESTAMP.exec(value);
  if (!m || Number.isNaN(Date.parse(value))) throw new FrameError(`TIMESTAMP: ${JSON.stringify(value)} is not an RFC 5424 timestamp`);
  const [, , month, day, hour, minute, second] = m.map(Number);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    throw new FrameError(`TIMESTAMP: ${JSON.stringify(value)} is out of range`);
  }
  return value;
}

/** STRUCTURED-DATA at `pos`: NILVALUE or SD-ELEMENTs; returns the elements and where it ended. */
function parseStructuredData(text: string, pos: number): [SdElement[] | null, number] {
  if (text[pos] === '-') return [null, pos + 1];
  if (text[pos] !== '[') throw new FrameError('STRUCTURED-DATA: must be "-" or start with "["');
  const elements: SdElement[] = [];
  const sdName = /^[\x21-\x7e]{1,32}$/;
  while (text[pos] === '[') {
    pos += 1;
    let end = pos;
    while (end < text.length && text[end] !== ' ' && text[end] !== ']') end++;
    const id = text.slice(pos, end);
    if (!sdName.test(id) || /[="]/.test(id)) throw new FrameError(`SD-ID ${JSON.stringify(id)} is not valid`);
    const element: SdElement = { id, params: {} };
    pos = end;
    while (text[pos] === ' ') {
      pos += 1;
      const eq = text.indexOf('=', pos);
      if (eq < 0) throw new FrameError('SD-PARAM: no "="');
      const name = text.slice(pos, eq);
      if (!sdName.test(name) || /[\] "]/.test(name)) throw new FrameError(`PARAM-NAME ${JSON.stringify(name)} is not valid`);
      if (text[eq + 1] !== '"') throw new FrameError('PARAM-VALUE: must be in double quotes');
      let value = '';
      let i = eq + 2;
      for (; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\' && ['"', '\\', ']'].includes(text[i + 1])) value += text[++i];
        else if (text[i] === ']') throw new FrameError('PARAM-VALUE: unescaped "]"');
        else value += text[i];
      }
      if (i >= text.length) throw new FrameError('PARAM-VALUE: no closing quote');
      element.params[name] = value;
      pos = i + 1;
    }
    if (text[pos] !== ']') throw new FrameError('SD-ELEMENT: no closing "]"');
    pos += 1;
    elements.push(element);
  }
  return [elements, pos];
}

/** Parses one SYSLOG-MSG (RFC 5424 §6) strictly. */
export function parseRfc5424(frame: Buffer): Omit<SyslogMessage, 'connection' | 'at' | 'length'> {
  const text = frame.toString('utf8');
  const pri = /^<(\d{1,3})>([1-9]\d{0,2}) /.exec(text);
  if (!pri) throw new FrameError('HEADER: must start with "<PRI>VERSION SP"');
  if ((pri[1].length > 1 && pri[1].startsWith('0')) || Number(pri[1]) > 191) throw new FrameError(`PRI ${pri[1]} is not 0-191 without leading zeros`);
  const prival = Number(pri[1]);
  const version = Number(pri[2]);
  if (version !== 1) throw new FrameError(`VERSION ${version}: only 1 is defined`);
  let pos = pri[0].length;
  let field: string;
  [field, pos] = takeField(text, pos, 'TIMESTAMP');
  const timestamp = checkTimestamp(field);
  [field, pos] = takeField(text, pos, 'HOSTNAME');
  const hostname = checkField(field, 'HOSTNAME', 255);
  [field, pos] = takeField(text, pos, 'APP-NAME');
  const appName = checkField(field, 'APP-NAME', 48);
  [field, pos] = takeField(text, pos, 'PROCID');
  const procId = checkField(field, 'PROCID', 128);
  [field, pos] = takeField(text, pos, 'MSGID');
  const msgId = checkField(field, 'MSGID', 32);
  const [structuredData, sdEnd] = parseStructuredData(text, pos);
  let msg = '';
  if (sdEnd < text.length) {
    if (text[sdEnd] !== ' ') throw new FrameError('MSG: STRUCTURED-DATA must be followed by SP or the end of the message');
    msg = text.slice(sdEnd + 1);
  }
  let json: DnifEvent | undefined;
  try {
    const parsed: unknown = JSON.parse(msg);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) json = parsed as DnifEvent;
  } catch {
    // Not every syslog message is JSON; tests look at `json` when they expect it.
  }
  return { pri: prival, facility: prival >> 3, severity: prival & 7, version, timestamp, hostname, appName, procId, msgId, structuredData, msg, json };
}

/** Octet-counting deframer (RFC 6587 §3.4.1) for one connection: push bytes, get frames. */
export class OctetCountingDeframer {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.buffer.length;
  }

  /** The whole frames now complete, in order, and the framing error that stopped the rest, if any. */
  push(chunk: Buffer): { frames: Buffer[]; error?: Error } {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const frames: Buffer[] = [];
    try {
      for (;;) {
        const frame = this.next();
        if (!frame) return { frames };
        frames.push(frame);
      }
    } catch (error) {
      return { frames, error: error as Error };
    }
  }

  private next(): Buffer | undefined {
    const space = this.buffer.indexOf(0x20);
    const head = space < 0 ? this.buffer : this.buffer.subarray(0, space);
    // MSG-LEN = NONZERO-DIGIT *DIGIT: check what has arrived so far, even before the SP.
    for (let i = 0; i < head.length; i++) {
      const c = head[i];
      if (c < 0x30 || c > 0x39 || (i === 0 && c === 0x30)) {
        const shown = JSON.stringify(head.subarray(0, Math.min(head.length, 16)).toString('latin1'));
        throw new FrameError(
          c === 0x3c && i === 0
            ? 'frame starts with "<": non-transparent framing or no MSG-LEN, not octet counting'
            : `MSG-LEN must be a decimal number without leading zeros followed by SP, got ${shown}`,
        );
      }
    }
    if (space < 0) {
      if (head.length > String(this.maxMessageBytes).length) throw new FrameError(`MSG-LEN is longer than ${this.maxMessageBytes}`);
      return undefined;
    }
    if (space === 0) throw new FrameError('MSG-LEN is missing before SP');
    const length = Number(head.toString('latin1'));
    if (length > this.maxMessageBytes) throw new FrameError(`MSG-LEN ${length} is larger than ${this.maxMessageBytes}`);
    if (this.buffer.length < space + 1 + length) return undefined;
    const frame = this.buffer.subarray(space + 1, space + 1 + length);
    this.buffer = this.buffer.subarray(space + 1 + length);
    return frame;
  }
}

export async function startSyslogReceiver(opts: SyslogReceiverOptions = {}): Promise<SyslogReceiver> {
  const tlsMode = opts.tls ?? 'trusted';
  const maxMessageBytes = opts.maxMessageBytes ?? 4 * 1024 * 1024;
  const messages: SyslogMessage[] = [];
  const connections: SyslogConnection[] = [];
  const problems: string[] = [];
  const open = new Set<Socket>();
  const ledger = new EventLedger(() => (problems.length > 0 ? new Error(`syslog receiver saw bad framing: ${problems.join('; ')}`) : undefined));
  let dropIn: number | undefined;
  let withhold = 0;
  let withheld = 0;
  let port = opts.port ?? 0;

  const notify = () => ledger.notify();

  function onConnection(socket: Socket | TLSSocket, tlsSocket?: TLSSocket): void {
    const conn: SyslogConnection = { id: connections.length + 1, openedAt: Date.now(), messages: 0, discardedBytes: 0 };
    connections.push(conn);
    if (tlsSocket) {
      conn.tlsProtocol = tlsSocket.getProtocol() ?? undefined;
      const peer = tlsSocket.getPeerCertificate();
      if (tlsSocket.authorized && peer?.subject) conn.clientCert = String(peer.subject.CN);
    }
    open.add(socket);
    const deframer = new OctetCountingDeframer(maxMessageBytes);
    let dropped = false;
    const cut = (why: 'receiver') => {
      dropped = true;
      conn.closedBy ??= why;
      socket.destroy();
    };

    socket.on('data', (chunk: Buffer) => {
      if (dropped) return;
      const { frames, error } = deframer.push(chunk);
      const framingProblem = () => {
        if (!error) return false;
        problems.push(`connection ${conn.id}, after ${conn.messages} messages: ${error.message}`);
        cut('receiver');
        notify();
        return true;
      };
      for (let i = 0; i < frames.length; i++) {
        const frame = frames[i];
        let parsed: ReturnType<typeof parseRfc5424>;
        try {
          parsed = parseRfc5424(frame);
        } catch (err) {
          problems.push(`connection ${conn.id}, message ${conn.messages + 1}: ${(err as Error).message}`);
          cut('receiver');
          return notify();
        }
        const message: SyslogMessage = { connection: conn.id, at: Date.now(), length: frame.length, ...parsed };
        messages.push(message);
        conn.messages += 1;
        ledger.add(message.json);
        if (dropIn !== undefined && --dropIn <= 0) {
          dropIn = undefined;
          // A crash: the rest of this read, and whatever the kernel still holds, is never parsed.
          conn.discardedBytes = frames.slice(i + 1).reduce((n, f) => n + f.length, 0) + deframer.pending + (error ? 1 : 0);
          cut('receiver');
          return notify();
        }
      }
      if (!framingProblem()) notify();
    });
    socket.on('end', () => {
      conn.closedBy ??= 'client';
      if (deframer.pending > 0 && !dropped) problems.push(`connection ${conn.id}: closed by the client in the middle of a frame (${deframer.pending} bytes)`);
      if (withhold > 0 && !dropped) {
        withhold -= 1;
        withheld += 1;
        // An RST on the TCP socket under TLS: no close_notify, no FIN, no confirmation.
        const raw = (socket as Socket & { _parent?: Socket })._parent ?? socket;
        raw.resetAndDestroy();
      }
      notify();
    });
    socket.on('error', () => {
      conn.closedBy ??= 'error';
    });
    socket.on('close', () => {
      conn.closedAt = Date.now();
      open.delete(socket);
    });
  }

  let server: Server;
  if (tlsMode) {
    const cert = tlsMode === 'trusted' ? testCerts.server() : testCerts.untrusted();
    server = createTlsServer({
      ...cert,
      ca: testCerts.ca(),
      requestCert: Boolean(opts.requireClientCert),
      rejectUnauthorized: Boolean(opts.requireClientCert),
    });
    server.on('secureConnection', (s: TLSSocket) => onConnection(s, s));
    // A refused client certificate or a client that distrusts us: not a framing problem.
    server.on('tlsClientError', () => undefined);
  } else {
    server = createNetServer((s) => onConnection(s));
  }

  const listen = async () => {
    port = await listenLoopback(server, port);
  };
  const stopListening = () =>
    new Promise<void>((resolve) => {
      for (const s of open) s.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  await listen();

  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    tls: Boolean(tlsMode),
    target(overrides = {}) {
      const client = testCerts.client();
      return {
        host: '127.0.0.1',
        port,
        tls: Boolean(tlsMode),
        ...(tlsMode ? { ca: testCerts.ca(), cert: client.cert, key: client.key } : {}),
        ...overrides,
      };
    },
    messages,
    connections,
    problems,
    events: () => messages.map((m) => m.json).filter((j): j is DnifEvent => j !== undefined),
    eventsById: () => ledger.byId(),
    get duplicates() {
      return ledger.duplicates;
    },
    waitForEvents: (n, timeoutMs = 10_000) => ledger.waitFor(n, timeoutMs),
    expectClean() {
      if (problems.length > 0) throw new Error(`syslog receiver saw bad framing: ${problems.join('; ')}`);
    },
    dropAfter(n) {
      if (!(n >= 1)) throw new Error('dropAfter needs n >= 1');
      dropIn = n;
    },
    withholdConfirmation(n) {
      withhold = n;
    },
    normal() {
      dropIn = undefined;
      withhold = 0;
    },
    get withheld() {
      return withheld;
    },
    refuse: stopListening,
    accept: () => (server.listening ? Promise.resolve() : listen()),
    clear() {
      messages.length = 0;
      connections.length = 0;
      problems.length = 0;
      ledger.clear();
      dropIn = undefined;
      withhold = 0;
      withheld = 0;
    },
    close: stopListening,
  };
}
