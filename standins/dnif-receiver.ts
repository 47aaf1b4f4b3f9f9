/**
 * A DNIF HTTP Connector stand-in: takes POSTed JSON / NDJSON (optionally gzip), checks one of
 * the four auth modes of SPEC.md, records what it accepted, and misbehaves on demand
 * (status codes, refused or reset connections, hanging or slow answers).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import path from 'node:path';
import type { Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { EventLedger } from './event-ledger';
import { closeServer, header, listenLoopback, readBody, sleep } from './http';

export type ReceiverAuth =
  | { type: 'none' }
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'header'; name: string; value: string }
  | { type: 'hmac'; header: string; secret: string; algorithm?: 'sha256' | 'sha1' | 'sha512' };

export const CERTS_DIR = path.resolve(__dirname, 'certs');
/** Test-only PEMs (see certs/README.md). `ca` signs `server`; `untrusted` is self-signed. */
export const testCerts = {
  ca: () => readFileSync(path.join(CERTS_DIR, 'ca.crt'), 'utf8'),
  server: () => ({ cert: readFileSync(path.join(CERTS_DIR, 'server.crt'), 'utf8'), key: readFileSync(path.join(CERTS_DIR, 'server.key'), 'utf8') }),
  client: () => ({ cert: readFileSync(path.join(CERTS_DIR, 'client.crt'), 'utf8'), key: readFileSync(path.join(CERTS_DIR, 'client.key'), 'utf8') }),
  untrusted: () => ({ cert: readFileSync(path.join(CERTS_DIR, 'untrusted.crt'), 'utf8'), key: readFileSync(path.join(CERTS_DIR, 'untrusted.key'), 'utf8') }),
};

export interface ReceiverOptions {
  /** Default bearer `dnif-test-token`. */
  auth?: ReceiverAuth;
  /** Plain HTTP (default), HTTPS with the CA-signed cert, or HTTPS with the self-signed one. */
  tls?: false | 'trusted' | 'untrusted';
  port?: number;
  /**
   * false: keep only each event's `dnifForwarder.eventId` (the delivery check still works): for
   * benchmarks, whose received records would otherwise fill this process's heap and stall it in GC.
   */
  keepEvents?: boolean;
}

/** One record as received: the CloudTrail record plus the forwarder's stamp. */
export type DnifEvent = Record<string, unknown> & { dnifForwarder?: { eventId?: string; [k: string]: unknown } };

export interface ReceivedRequest {
  /** Epoch ms. */
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  /** Body size as sent on the wire (compressed when gzip). */
  rawBytes: number;
  /** Body size after decompression. */
  bytes: number;
  contentType: string;
  gzip: boolean;
  events: DnifEvent[];
}

export interface Attempt {
  at: number;
  method: string;
  path: string;
  status: number | 'hung';
  /** Why a non-2xx was sent. */
  reason?: string;
}

export interface FailOptions {
  /** Retry-After header: seconds, or an HTTP date. */
  retryAfter?: number | string;
  /** Location header (a redirect); `landingUrl` answers any GET with 200, as a login or landing page would. */
  location?: string;
  body?: string;
}

export interface DnifReceiver {
  /** `<scheme>://127.0.0.1:<port>/events`. */
  url: string;
  baseUrl: string;
  /** `<baseUrl>/landing`: answers GET with 200 and records nothing (where a redirect may lead). */
  landingUrl: string;
  /** GETs that reached `landingUrl` (a client that followed a redirect). */
  readonly landings: number;
  readonly auth: ReceiverAuth;
  setAuth(auth: ReceiverAuth): void;

  /** Accepted requests that carried events, oldest first. */
  readonly requests: readonly ReceivedRequest[];
  /** Accepted `[]` probes (the test-connection feature). */
  readonly probes: readonly ReceivedRequest[];
  /** Every request that reached the receiver, with the status it got. */
  readonly attempts: readonly Attempt[];
  readonly requestCount: number;
  /** Every accepted event in arrival order, duplicates included. */
  events(): DnifEvent[];
  /** First copy of each event by `dnifForwarder.eventId`. */
  eventsById(): Map<string, DnifEvent>;
  /** Accepted events whose eventId had been accepted before. */
  readonly duplicates: number;
  /** Resolves once `n` distinct eventIds have arrived. */
  waitForEvents(n: number, timeoutMs?: number): Promise<void>;
  clear(): void;

  /** The next `n` requests get `status` (before auth, as from a load balancer). */
  failNext(n: number, status: number, opts?: FailOptions): void;
  /** Every request gets `status` until normal(). */
  reject(status: number, opts?: FailOptions): void;
  /** Read requests but never answer, until normal(). */
  hang(): void;
  /** Accept requests, then dribble the response body over `ms`, until normal(). */
  slowBody(ms: number): void;
  /** Clear failNext, reject, hang and slowBody. */
  normal(): void;
  /** 'refuse': stop listening (ECONNREFUSED); 'reset': accept then reset each connection. */
  down(mode?: 'refuse' | 'reset'): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

function sameBytes(a: string | Buffer, b: string | Buffer): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Why the request's credentials are wrong, or undefined when they are right. */
export function checkAuth(auth: ReceiverAuth, req: IncomingMessage, rawBody: Buffer): string | undefined {
  const authorization = header(req, 'authorization') ?? '';
  switch (auth.type) {
    case 'none':
      return undefined;
    case 'bearer': {
      const m = /^Bearer\s+(.+)$/i.exec(authorization);
      return m && sameBytes(m[1].trim(), auth.token) ? undefined : 'bearer token missing or wrong';
    }
    case 'basic': {
      const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization);
      const given = m ? Buffer.from(m[1], 'base64') : Buffer.alloc(0);
      return sameBytes(given, Buffer.from(`${auth.username}:${auth.password}`, 'utf8')) ? undefined : 'basic credentials missing or wrong';
    }
    case 'header': {
      const v = header(req, auth.name);
      return v !== undefined && sameBytes(v, auth.value) ? undefined : `header ${auth.name} missing or wrong`;
    }
    case 'hmac': {
      const v = header(req, auth.header)?.trim().toLowerCase();
      const expected = createHmac(auth.algorithm ?? 'sha256', auth.secret).update(rawBody).digest('hex');
      return v !== undefined && sameBytes(v, expected) ? undefined : `HMAC in ${auth.header} missing or wrong`;
    }
  }
}

class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** JSON array / single object, or NDJSON, into records. `null` = the `[]` probe. */
function parseEvents(contentType: string, text: string): DnifEvent[] | null {
  const isObject = (v: unknown): v is DnifEvent => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (/^application\/x-ndjson\b/i.test(contentType)) {
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) throw new BadRequest(400, 'empty body');
    return lines.map((line, i) => {
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        throw new BadRequest(400, `line ${i + 1} is not JSON`);
      }
      if (!isObject(v)) throw new BadRequest(400, `line ${i + 1} is not a JSON object`);
      return v;
    });
  }
  if (!/^application\/json\b/i.test(contentType)) throw new BadRequest(415, `unsupported Content-Type ${contentType || '(none)'}`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new BadRequest(400, 'body is not JSON');
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return null;
    if (!v.every(isObject)) throw new BadRequest(400, 'array elements must be JSON objects');
    return v;
  }
  if (isObject(v)) return [v];
  throw new BadRequest(400, 'body must be a JSON array or object');
}

export async function startDnifReceiver(opts: ReceiverOptions = {}): Promise<DnifReceiver> {
  let auth: ReceiverAuth = opts.auth ?? { type: 'bearer', token: 'dnif-test-token' };
  const requests: ReceivedRequest[] = [];
  const probes: ReceivedRequest[] = [];
  const attempts: Attempt[] = [];
  const ledger = new EventLedger();
  let all: DnifEvent[] = [];

  let failQueue: { remaining: number; status: number; opts: FailOptions } | undefined;
  let rejectAll: { status: number; opts: FailOptions } | undefined;
  let hanging = false;
  let slowMs = 0;
  let downMode: 'refuse' | 'reset' | undefined;
  let landings = 0;

  function sendStatus(res: ServerResponse, status: number, message: string, extra: FailOptions = {}): void {
    const body = extra.body ?? JSON.stringify({ status: status < 300 ? 'success' : 'error', message });
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    if (extra.retryAfter !== undefined) headers['Retry-After'] = String(extra.retryAfter);
    if (extra.location !== undefined) headers.Location = extra.location;
    if (status === 401) headers['WWW-Authenticate'] = auth.type === 'basic' ? 'Basic realm="dnif"' : 'Bearer';
    res.writeHead(status, headers);
    res.end(body);
  }

  function record(req: IncomingMessage, rawBody: Buffer, body: Buffer, events: DnifEvent[] | null): void {
    const entry: ReceivedRequest = {
      at: Date.now(),
      path: req.url ?? '/',
      headers: req.headers,
      rawBytes: rawBody.length,
      bytes: body.length,
      contentType: header(req, 'content-type') ?? '',
      gzip: /gzip/i.test(header(req, 'content-encoding') ?? ''),
      events: events ?? [],
    };
    if (events === null) return void probes.push(entry);
    if (opts.keepEvents === false) entry.events = events.map((e) => ({ dnifForwarder: { eventId: e.dnifForwarder?.eventId } }));
    requests.push(entry);
    for (const e of entry.events) {
      all.push(e);
      ledger.add(e);
    }
    ledger.notify();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    const attempt: Attempt = { at: Date.now(), method: req.method ?? '', path: req.url ?? '/', status: 200 };
    attempts.push(attempt);
    const answer = (status: number, reason: string, extra?: FailOptions) => {
      Object.assign(attempt, { status, reason });
      sendStatus(res, status, reason, extra);
    };

    if (hanging) return void (attempt.status = 'hung');
    if (req.method === 'GET' && new URL(req.url ?? '/', 'http://x').pathname === '/landing') {
      landings += 1;
      return answer(200, 'landing page');
    }
    if (failQueue && failQueue.remaining > 0) {
      failQueue.remaining--;
      return answer(failQueue.status, 'failNext', failQueue.opts);
    }
    if (rejectAll) return answer(rejectAll.status, 'reject', rejectAll.opts);
    if (req.method !== 'POST') return answer(405, 'only POST is accepted');
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (pathname !== '/events' && pathname !== '/event') return answer(404, `no connector at ${pathname}`);

    const authProblem = checkAuth(auth, req, rawBody);
    if (authProblem) return answer(401, authProblem);

    let events: DnifEvent[] | null;
    let body = rawBody;
    try {
      const encoding = (header(req, 'content-encoding') ?? 'identity').toLowerCase();
      if (encoding === 'gzip') {
        try {
          body = gunzipSync(rawBody);
        } catch {
          throw new BadRequest(400, 'body is not valid gzip');
        }
      } else if (encoding !== 'identity') throw new BadRequest(415, `unsupported Content-Encoding ${encoding}`);
      events = parseEvents(header(req, 'content-type') ?? '', body.toString('utf8'));
    } catch (err) {
      if (err instanceof BadRequest) return answer(err.status, err.message);
      throw err;
    }
    record(req, rawBody, body, events);

    const text = JSON.stringify({ status: 'success', received: events?.length ?? 0 });
    if (slowMs <= 0) return answer(200, 'ok');
    // Headers now, then the body one byte at a time spread over slowMs.
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    for (const ch of text) {
      await sleep(slowMs / text.length);
      if (res.destroyed) return;
      res.write(ch);
    }
    res.end();
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendStatus(res, 500, String(err));
      else res.destroy();
    });
  };
  const tls = opts.tls ? (opts.tls === 'trusted' ? testCerts.server() : testCerts.untrusted()) : undefined;
  // https.Server shares http.Server's listen/close API; the cast lets the helpers serve both.
  const server = (tls ? createHttpsServer(tls, onRequest) : createHttpServer(onRequest)) as unknown as Server;
  server.on('connection', (socket: Socket) => {
    if (downMode === 'reset') socket.resetAndDestroy();
  });
  const port = await listenLoopback(server, opts.port ?? 0);
  const baseUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  return {
    url: `${baseUrl}/events`,
    baseUrl,
    landingUrl: `${baseUrl}/landing`,
    get landings() {
      return landings;
    },
    get auth() {
      return auth;
    },
    setAuth(a) {
      auth = a;
    },
    requests,
    probes,
    attempts,
    get requestCount() {
      return attempts.length;
    },
    events: () => [...all],
    eventsById: () => ledger.byId(),
    get duplicates() {
      return ledger.duplicates;
    },
    waitForEvents: (n, timeoutMs = 10_000) => ledger.waitFor(n, timeoutMs),
    clear() {
      requests.length = 0;
      probes.length = 0;
      attempts.length = 0;
      all = [];
      landings = 0;
      ledger.clear();
    },
    failNext(n, status, o = {}) {
      failQueue = { remaining: n, status, opts: o };
    },
    reject(status, o = {}) {
      rejectAll = { status, opts: o };
    },
    hang() {
      hanging = true;
    },
    slowBody(ms) {
      slowMs = ms;
    },
    normal() {
      failQueue = undefined;
      rejectAll = undefined;
      hanging = false;
      slowMs = 0;
    },
    async down(mode = 'refuse') {
      downMode = mode;
      // Drop open keep-alive connections so the next request meets the outage.
      if (mode === 'refuse') await closeServer(server);
      else server.closeAllConnections();
    },
    async up() {
      if (downMode === 'refuse') await listenLoopback(server, port);
      downMode = undefined;
    },
    close: () => closeServer(server),
  };
}
