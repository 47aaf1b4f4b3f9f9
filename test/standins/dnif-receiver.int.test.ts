import { createHmac } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { gzipSync } from 'node:zlib';
import { startDnifReceiver, testCerts, type DnifReceiver } from '../../standins/dnif-receiver';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  ms: number;
}

/** A bare client, so the test sees exactly what goes over the wire. */
function post(url: string, body: string | Buffer, headers: Record<string, string>, opts: { ca?: string; timeoutMs?: number } = {}): Promise<Reply> {
  const started = Date.now();
  const u = new URL(url);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(u, { method: 'POST', headers, ca: opts.ca, agent: false, timeout: opts.timeoutMs ?? 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), ms: Date.now() - started }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const event = (id: string, extra: Record<string, unknown> = {}) => ({
  eventID: id,
  eventName: 'ConsoleLogin',
  ...extra,
  dnifForwarder: { connectorName: 'c', eventId: id, region: 'us-east-1', accountId: '111122223333', forwardedAt: '2026-01-01T00:00:00Z' },
});
const json = { 'Content-Type': 'application/json' };
const bearer = { ...json, Authorization: 'Bearer dnif-test-token' };

describe('DNIF receiver stand-in', () => {
  let rx: DnifReceiver;
  beforeAll(async () => {
    rx = await startDnifReceiver();
  });
  afterAll(() => rx.close());
  beforeEach(() => {
    rx.normal();
    rx.clear();
    rx.setAuth({ type: 'bearer', token: 'dnif-test-token' });
  });

  it('accepts a JSON array with the bearer token, records it and counts duplicates by eventId', async () => {
    expect(rx.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/events$/);
    const body = JSON.stringify([event('a'), event('b')]);
    expect((await post(rx.url, body, bearer)).status).toBe(200);
    expect((await post(rx.url, JSON.stringify([event('b'), event('c')]), bearer)).status).toBe(200);
    expect(rx.events().map((e) => e.eventID)).toEqual(['a', 'b', 'b', 'c']);
    expect([...rx.eventsById().keys()]).toEqual(['a', 'b', 'c']);
    expect(rx.duplicates).toBe(1);
    expect(rx.requests[0]).toMatchObject({ path: '/events', rawBytes: Buffer.byteLength(body), gzip: false, contentType: 'application/json' });
    expect(rx.requestCount).toBe(2);
  });

  it('refuses missing or wrong bearer tokens with 401', async () => {
    expect((await post(rx.url, JSON.stringify([event('a')]), json)).status).toBe(401);
    expect((await post(rx.url, JSON.stringify([event('a')]), { ...json, Authorization: 'Bearer nope' })).status).toBe(401);
    expect(rx.events()).toHaveLength(0);
    expect(rx.attempts.map((a) => a.status)).toEqual([401, 401]);
  });

  it('checks basic and shared-header auth', async () => {
    rx.setAuth({ type: 'basic', username: 'dnif', password: 'p:ss' });
    const basic = (u: string, p: string) => ({ ...json, Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    expect((await post(rx.url, JSON.stringify(event('a')), basic('dnif', 'p:ss'))).status).toBe(200);
    expect((await post(rx.url, JSON.stringify(event('a')), basic('dnif', 'p:sS'))).status).toBe(401);

    rx.setAuth({ type: 'header', name: 'X-Dnif-Key', value: 'k-123' });
    expect((await post(rx.url, JSON.stringify(event('b')), { ...json, 'x-dnif-key': 'k-123' })).status).toBe(200);
    expect((await post(rx.url, JSON.stringify(event('b')), { ...json, 'x-dnif-key': 'k-124' })).status).toBe(401);
    expect(rx.events().map((e) => e.eventID)).toEqual(['a', 'b']);
  });

  it('checks an HMAC over the exact bytes sent, gzip included, and reads NDJSON', async () => {
    rx.setAuth({ type: 'hmac', header: 'X-Signature', secret: 's3cret', algorithm: 'sha512' });
    const ndjson = `${JSON.stringify(event('a'))}\n${JSON.stringify(event('b'))}\n`;
    const gz = gzipSync(Buffer.from(ndjson));
    const mac = (data: Buffer, secret = 's3cret') => createHmac('sha512', secret).update(data).digest('hex');
    const headers = { 'Content-Type': 'application/x-ndjson', 'Content-Encoding': 'gzip' };
    expect((await post(rx.url, gz, { ...headers, 'X-Signature': mac(gz) })).status).toBe(200);
    // Signed over the uncompressed text instead of what was sent: refused.
    expect((await post(rx.url, gz, { ...headers, 'X-Signature': mac(Buffer.from(ndjson)) })).status).toBe(401);
    expect((await post(rx.url, gz, { ...headers, 'X-Signature': mac(gz, 'other') })).status).toBe(401);
    expect(rx.requests[0]).toMatchObject({ gzip: true, rawBytes: gz.length, bytes: Buffer.byteLength(ndjson) });
    expect(rx.events().map((e) => e.eventID)).toEqual(['a', 'b']);
  });

  it('treats [] as a probe, not as events', async () => {
    expect((await post(rx.url, '[]', bearer)).status).toBe(200);
    expect((await post(rx.url, '[]', json)).status).toBe(401);
    expect(rx.probes).toHaveLength(1);
    expect(rx.requests).toHaveLength(0);
    expect(rx.events()).toHaveLength(0);
  });

  it('answers 4xx for bodies, types and paths it cannot take', async () => {
    expect((await post(rx.url, '{not json', bearer)).status).toBe(400);
    expect((await post(rx.url, '[1,2]', bearer)).status).toBe(400);
    expect((await post(rx.url, 'x', { ...bearer, 'Content-Type': 'text/plain' })).status).toBe(415);
    expect((await post(rx.url, JSON.stringify([event('a')]), { ...bearer, 'Content-Encoding': 'gzip' })).status).toBe(400);
    expect((await post(`${rx.baseUrl}/wrong`, '[]', bearer)).status).toBe(404);
  });

  it('fails the next n requests with a status and Retry-After, then recovers', async () => {
    rx.failNext(2, 503, { retryAfter: 3 });
    const a = await post(rx.url, JSON.stringify([event('a')]), bearer);
    const b = await post(rx.url, JSON.stringify([event('a')]), bearer);
    const c = await post(rx.url, JSON.stringify([event('a')]), bearer);
    expect([a.status, b.status, c.status]).toEqual([503, 503, 200]);
    expect(a.headers['retry-after']).toBe('3');
    expect(rx.events()).toHaveLength(1);
  });

  it('rejects everything until normal()', async () => {
    rx.reject(429);
    expect((await post(rx.url, '[]', bearer)).status).toBe(429);
    expect((await post(rx.url, '[]', bearer)).status).toBe(429);
    rx.normal();
    expect((await post(rx.url, '[]', bearer)).status).toBe(200);
  });

  it('goes down (refused or reset connections) and comes back on the same URL', async () => {
    await rx.down();
    await expect(post(rx.url, '[]', bearer)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await rx.up();
    expect((await post(rx.url, '[]', bearer)).status).toBe(200);
    await rx.down('reset');
    await expect(post(rx.url, '[]', bearer)).rejects.toMatchObject({ code: 'ECONNRESET' });
    await rx.up();
    expect((await post(rx.url, '[]', bearer)).status).toBe(200);
  });

  it('hangs without answering, or answers slowly', async () => {
    rx.hang();
    await expect(post(rx.url, JSON.stringify([event('a')]), bearer, { timeoutMs: 200 })).rejects.toThrow('client timeout');
    expect(rx.attempts[0].status).toBe('hung');
    expect(rx.events()).toHaveLength(0);
    rx.normal();
    rx.slowBody(300);
    const slow = await post(rx.url, JSON.stringify([event('b')]), bearer);
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeGreaterThanOrEqual(250);
    expect(JSON.parse(slow.body)).toEqual({ status: 'success', received: 1 });
    expect(rx.events().map((e) => e.eventID)).toEqual(['b']);
  });

  it('waits for a number of distinct events', async () => {
    const waiting = rx.waitForEvents(2, 2000);
    await post(rx.url, JSON.stringify([event('a'), event('a')]), bearer);
    await post(rx.url, JSON.stringify([event('b')]), bearer);
    await expect(waiting).resolves.toBeUndefined();
    await expect(rx.waitForEvents(3, 50)).rejects.toThrow('got 2');
  });
});

describe('DNIF receiver over TLS', () => {
  it('serves a cert the test CA vouches for, and one nobody does', async () => {
    const trusted = await startDnifReceiver({ tls: 'trusted' });
    const untrusted = await startDnifReceiver({ tls: 'untrusted' });
    try {
      expect(trusted.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/events$/);
      expect((await post(trusted.url, '[]', bearer, { ca: testCerts.ca() })).status).toBe(200);
      await expect(post(trusted.url, '[]', bearer)).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
      await expect(post(untrusted.url, '[]', bearer, { ca: testCerts.ca() })).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      expect(trusted.probes).toHaveLength(1);
      expect(untrusted.attempts).toHaveLength(0);
    } finally {
      await Promise.all([trusted.close(), untrusted.close()]);
    }
  });
});
