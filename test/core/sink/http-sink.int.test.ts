import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { HttpTarget } from '../../../functions/core/connector';
import { SinkRedirectedError, SinkRejectedError, SinkUnavailableError } from '../../../functions/core/sink/errors';
import { SinkTlsError } from '../../../functions/core/sink/tls-errors';
import { testCerts } from '../../../standins';
import { HttpSink, parseRetryAfter } from '../../../functions/core/sink/http-sink';
import type { OutgoingRecord } from '../../../functions/core/sink/records';
import { Deadline } from '../../../functions/core/deadline';

interface Seen {
  headers: IncomingMessage['headers'];
  body: Buffer;
  at: number;
}

/** A scripted receiver: answers each request with the next status in `script` (then 200). */
async function scriptedServer(script: { status: number; headers?: Record<string, string> }[]) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
      const step = script.shift() ?? { status: 200 };
      res.writeHead(step.status, step.headers).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const record = (id: string): OutgoingRecord => {
  const json = JSON.stringify({ eventID: id, dnifForwarder: { eventId: id } });
  return { eventId: id, eventTime: 0, json, bytes: Buffer.byteLength(json), unparsed: false, truncated: false };
};
const target = (url: string, extra: Partial<HttpTarget> = {}): HttpTarget => ({
  url,
  auth: { type: 'bearer', token: 'tkn-123' },
  format: 'json',
  gzip: false,
  flatten: false,
  headers: {},
  ...extra,
});
const longDeadline = () => new Deadline(Date.now() + 60_000, 0);
const fast = { baseDelayMs: 5, maxDelayMs: 20 };

describe('HttpSink', () => {
  it('posts a JSON array with bearer auth', async () => {
    const srv = await scriptedServer([]);
    try {
      const stats = await new HttpSink(target(srv.url)).send([record('a'), record('b')], longDeadline());
      expect(stats).toMatchObject({ attempts: 1, errors: 0 });
      expect(srv.seen[0].headers).toMatchObject({ authorization: 'Bearer tkn-123', 'content-type': 'application/json' });
      expect(JSON.parse(srv.seen[0].body.toString()).map((r: any) => r.eventID)).toEqual(['a', 'b']);
    } finally {
      await srv.close();
    }
  });

  it('sends gzip NDJSON with an HMAC over the exact bytes sent, and basic and header auth', async () => {
    const srv = await scriptedServer([]);
    try {
      await new HttpSink(target(srv.url, { format: 'ndjson', gzip: true, auth: { type: 'hmac', header: 'X-Sig', secret: 'k', algorithm: 'sha512' } })).send([record('a'), record('b')], longDeadline());
      const first = srv.seen[0];
      expect(first.headers).toMatchObject({ 'content-encoding': 'gzip', 'content-type': 'application/x-ndjson' });
      expect(first.headers['x-sig']).toBe(createHmac('sha512', 'k').update(first.body).digest('hex'));
      expect(gunzipSync(first.body).toString().trim().split('\n').map((l) => JSON.parse(l).eventID)).toEqual(['a', 'b']);

      await new HttpSink(target(srv.url, { auth: { type: 'basic', username: 'user', password: 'pa:ss' }, headers: { 'X-Tenant': 't1' } })).send([record('c')], longDeadline());
      expect(srv.seen[1].headers.authorization).toBe(`Basic ${Buffer.from('user:pa:ss').toString('base64')}`);
      expect(srv.seen[1].headers['x-tenant']).toBe('t1');

      await new HttpSink(target(srv.url, { auth: { type: 'header', name: 'X-Api-Key', value: 'v1' } })).send([record('d')], longDeadline());
      expect(srv.seen[2].headers['x-api-key']).toBe('v1');
    } finally {
      await srv.close();
    }
  });

  it('retries 503 and 429, honouring Retry-After, then succeeds', async () => {
    const srv = await scriptedServer([{ status: 503 }, { status: 429, headers: { 'retry-after': '1' } }]);
    try {
      const stats = await new HttpSink(target(srv.url), fast).send([record('a')], longDeadline());
      expect(stats).toMatchObject({ attempts: 3, errors: 2 });
      expect(srv.seen[2].at - srv.seen[1].at).toBeGreaterThanOrEqual(950);
    } finally {
      await srv.close();
    }
  });

  it('stops at once on a 4xx other than 429, saying which', async () => {
    const srv = await scriptedServer([{ status: 401 }]);
    try {
      const err = await new HttpSink(target(srv.url), fast).send([record('a')], longDeadline()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkRejectedError);
      expect((err as SinkRejectedError).isAuthError).toBe(true);
      expect((err as Error).message).toBe('DNIF rejected the batch: HTTP 401 Unauthorized');
      expect(srv.seen).toHaveLength(1);
    } finally {
      await srv.close();
    }
  });

  it('gives up after its attempts when DNIF is unreachable, naming the network error', async () => {
    const srv = await scriptedServer([]);
    await srv.close();
    const err = await new HttpSink(target(srv.url), { ...fast, maxAttempts: 3 }).send([record('a')], longDeadline()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkUnavailableError);
    expect((err as Error).message).toMatch(/after 3 attempts: network error ECONNREFUSED/);
  });

  it('reaches ports fetch refuses (9, 6000, ...): a DNIF there is told as unreachable, not as an unknown error', async () => {
    // undici's fetch blocks the WHATWG "bad ports" before connecting; node:http does not.
    const err = await new HttpSink(target('http://127.0.0.1:9/ingest'), { ...fast, maxAttempts: 2 }).send([record('a')], longDeadline()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkUnavailableError);
    expect((err as Error).message).toMatch(/after 2 attempts: network error ECONNREFUSED/);
  });

  it('lets a request that started before the deadline finish inside the reserve, so DNIF is not left holding a batch we send again', async () => {
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => setTimeout(() => res.writeHead(200).end('{}'), 400));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
    try {
      // 100 ms of work left, 2 s reserve: the answer comes 400 ms later, within half the reserve.
      const deadline = new Deadline(Date.now() + 2_100, 2_000);
      await expect(new HttpSink(target(url), fast).send([record('a')], deadline)).resolves.toMatchObject({ attempts: 1, errors: 0 });
      // Past the deadline, no new request starts.
      await expect(new HttpSink(target(url), fast).send([record('b')], new Deadline(Date.now() + 1_000, 2_000))).rejects.toThrow(/Lambda deadline/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('takes a 2xx status line as the answer even when its body is slow: one request, no resend, bounded by the timeout', async () => {
    let requests = 0;
    const server: Server = createServer((req, res) => {
      requests += 1;
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-length': '2' });
        res.write('{');
        setTimeout(() => res.end('}'), 3_000);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
    try {
      const started = Date.now();
      await expect(new HttpSink(target(url), { ...fast, requestTimeoutMs: 300 }).send([record('a')], longDeadline())).resolves.toMatchObject({ attempts: 1, errors: 0 });
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(requests).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it.each([301, 302, 303, 307, 308])('does not follow a %i redirect: a failed delivery naming the status and the Location host only (issue 11 #1)', async (status) => {
    // Where a followed redirect would land: a page that answers any GET with 200.
    const landing = await scriptedServer([]);
    const landingHost = new URL(landing.url).host;
    const srv = await scriptedServer([{ status, headers: { location: `${landing.url.replace('/events', '/login')}?session=s3cr3t-session-id` } }]);
    try {
      const err = await new HttpSink(target(srv.url), fast).send([record('a')], longDeadline()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkRedirectedError);
      expect(err).toBeInstanceOf(SinkRejectedError);
      expect(err).toMatchObject({ status, attempts: 1, locationHost: landingHost });
      expect((err as Error).message).toContain(`HTTP ${status}`);
      expect((err as Error).message).toContain(landingHost);
      expect((err as Error).message).not.toContain('s3cr3t-session-id');
      expect(srv.seen).toHaveLength(1);
      expect(landing.seen).toHaveLength(0);
    } finally {
      await srv.close();
      await landing.close();
    }
  });

  it('stops at once on a certificate DNIF cannot prove, with the TLS code, instead of retrying (issue 11 #11)', async () => {
    const server = createHttpsServer(testCerts.untrusted(), (_req, res) => res.writeHead(200).end('{}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
      const err = await new HttpSink(target(url), { ...fast, maxAttempts: 6 }).send([record('a')], longDeadline()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkTlsError);
      expect(err).toMatchObject({ attempts: 1, networkCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', isAuthError: false });
      expect((err as Error).message).toMatch(/not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('builds its error text from codes, never from the library message that quotes header values (issue 11 #5)', async () => {
    const srv = await scriptedServer([]);
    try {
      // Past the connector schema (which refuses it) the sink must still not echo the value.
      const bad = 'tok-1234567890\r\nX-Injected: yes';
      const err = await new HttpSink(target(srv.url, { auth: { type: 'bearer', token: bad } }), { ...fast, maxAttempts: 2 }).send([record('a')], longDeadline()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkUnavailableError);
      expect((err as Error).message).toMatch(/network error \(TypeError\)$/);
      expect((err as Error).message).not.toContain('tok-1234567890');
      expect(srv.seen).toHaveLength(0);
    } finally {
      await srv.close();
    }
  });

  it('parses Retry-After as seconds or a date, capped', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('999999')).toBe(120_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
