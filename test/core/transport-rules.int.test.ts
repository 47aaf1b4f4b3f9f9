/**
 * Issue 11 through the real handlers and the stand-ins: a redirect is a failed delivery (#1),
 * no secret leaves the forwarder in a log line, summary or thrown error (#5), plain http only to
 * a loopback IP with DNIF_ALLOW_LOOPBACK_PLAINTEXT=1 (#7), and test connection's reason phrase (#11).
 */
import { logger } from '../../functions/core/logger';
import { loadConnector } from '../../functions/core/secret';
import { ForwarderRunError } from '../../functions/forwarder/forward';
import { handler as testConnection } from '../../functions/test-connection/handler';
import { urlEvent } from '../../standins/lambda';
import { useStandIns } from '../helpers/standins';
import { captureStdout, invokeForwarder, newConnector } from '../helpers/forwarder-harness';
import { recentEvents, storedCursor } from '../helpers/forwarder-helpers';

jest.setTimeout(60_000);

const env = useStandIns({ putDefaultSecret: false });

/** Every form a secret may take in output: as is, JSON-escaped, and its pieces between control characters. */
function forms(secret: string): string[] {
  const pieces = secret.split(/[\x00-\x1f\x7f]+/).filter((p) => p.length >= 8);
  return [secret, JSON.stringify(secret).slice(1, -1), ...pieces];
}

function expectNoLeak(text: string, secrets: string[]): void {
  for (const secret of secrets) for (const form of forms(secret)) expect(text).not.toContain(form);
}

describe('a redirect from DNIF (issue 11 #1)', () => {
  it.each([301, 302, 303, 307])('%i: the run fails, the checkpoint stays, nothing lands on the redirect target; the next run delivers', async (status) => {
    const s = env();
    const name = await newConnector(s);
    const events = recentEvents(30, s.region, s.accountId, 700 + status);
    s.cloudtrail.addEvents(s.region, events);
    s.dnif.reject(status, { location: `${s.dnif.landingUrl}?session=abc123` });

    const { error, output } = await captureStdout(() => invokeForwarder());

    expect(error).toBeInstanceOf(ForwarderRunError);
    const region = (error as ForwarderRunError).summary.regions[s.region];
    expect(region.error).toMatchObject({ code: 'DnifRedirected', message: expect.stringContaining(`HTTP ${status}`) });
    expect(region.error?.message).toContain(new URL(s.dnif.url).host);
    expect(region.error?.message).not.toContain('abc123');
    expect(region.forwarded).toBe(0);
    expect(region.sinkErrors).toBeGreaterThan(0);
    expect(s.dnif.landings).toBe(0);
    const oldest = Math.min(...events.map((e) => Date.parse(e.eventTime) / 1000));
    expect(Number((await storedCursor(s, name, s.region))?.head ?? 0)).toBeLessThanOrEqual(oldest);
    expect(output).toContain('DnifRedirected');

    s.dnif.normal();
    expect((await invokeForwarder()).forwarded).toBe(30);
    expect(s.dnif.eventsById().size).toBe(30);
  });

  it('test connection names the redirect and its status', async () => {
    const s = env();
    await newConnector(s);
    s.dnif.reject(302, { location: s.dnif.landingUrl });
    const r = await testConnection(urlEvent('GET'));
    const check = (JSON.parse(r.body) as { checks: { name: string }[] }).checks.find((c) => c.name === 'dnif');
    expect(r.statusCode).toBe(502);
    expect(check).toMatchObject({ ok: false, code: 'DnifRedirected', status: 302, dnifMessage: 'Request Failed - response code: 302, reason: Found' });
    s.dnif.normal();
  });
});

describe('no secret leaves the forwarder (issue 11 #5, #6)', () => {
  const cases: [string, (s: ReturnType<typeof env>) => { dnif: Record<string, unknown>; secrets: string[] }][] = [
    ['a CRLF in a bearer token', (s) => ({ dnif: { url: s.dnif.url, token: 'tok-SECRET-4711\r\nX-Injected: yes' }, secrets: ['tok-SECRET-4711\r\nX-Injected: yes'] })],
    ['a CRLF in a header auth value', (s) => ({ dnif: { url: s.dnif.url, auth: { type: 'header', name: 'X-Api-Key', value: 'hdr-SECRET-0815\r\n' } }, secrets: ['hdr-SECRET-0815\r\n'] })],
    ['a NUL in an extra header value', (s) => ({ dnif: { url: s.dnif.url, token: 'dnif-test-token', headers: { 'X-Tenant-Key': 'nul\u0000SECRET-tenant-99' } }, secrets: ['nul\u0000SECRET-tenant-99'] })],
    ['a user and password in dnif.url', (s) => ({ dnif: { url: s.dnif.url.replace('http://', 'http://dnif-user:pw-SECRET-2024@'), token: 'dnif-test-token' }, secrets: ['pw-SECRET-2024', 'dnif-user:pw-SECRET-2024'] })],
  ];

  it.each(cases)('%s: refused by name, and no form of it in the logs or the thrown error', async (_what, make) => {
    const s = env();
    const { dnif, secrets } = make(s);
    await newConnector(s, (name) => ({ ...s.connector({ connectorName: name }), dnif }));
    s.cloudtrail.addEvents(s.region, recentEvents(5, s.region, s.accountId, 4711));
    logger.setLogLevel('DEBUG');
    try {
      const { error, output } = await captureStdout(() => invokeForwarder());
      expect(error).toBeDefined();
      expect((error as Error).name).toBe('ConnectorValidationError');
      expect((error as Error).message).toMatch(/dnif\.(token|auth\.value|headers\.X-Tenant-Key|url): /);
      expectNoLeak(`${output}\n${(error as Error).message}\n${(error as Error).stack}\n${JSON.stringify(error)}`, secrets);
      expect(s.dnif.requestCount).toBe(0);
    } finally {
      logger.setLogLevel('ERROR');
    }
  });

  it('every forwarder log line goes through the scrubber that knows the connector read (URL query and basic auth included)', async () => {
    const s = env();
    await newConnector(s, (name) => ({ ...s.connector({ connectorName: name }), dnif: { url: `${s.dnif.url}?apikey=q-SECRET-31337`, auth: { type: 'basic', username: 'fwd', password: 'bpw-SECRET-1999' } } }));
    await loadConnector(s.secretName, { maxAgeSeconds: 0, forceFetch: true });
    const { output } = await captureStdout(async () => {
      logger.error('an upstream text quoting values', { error: 'got q-SECRET-31337 and bpw-SECRET-1999 and ZndkOmJwdy1TRUNSRVQtMTk5OQ==' });
    });
    expect(output).toContain('[redacted]');
    expectNoLeak(output, ['q-SECRET-31337', 'bpw-SECRET-1999', Buffer.from('fwd:bpw-SECRET-1999').toString('base64')]);
  });
});

describe('plain http only to a loopback IP, and only with DNIF_ALLOW_LOOPBACK_PLAINTEXT=1 (issue 11 #7)', () => {
  it.each([
    ['a host name that starts with 127.', (url: string) => url.replace('127.0.0.1', '127.attacker.example'), '1'],
    ['localhost (a name, not an IP)', (url: string) => url.replace('127.0.0.1', 'localhost'), '1'],
    ['a loopback IP without the switch', (url: string) => url, undefined],
  ])('%s is refused before any request, naming dnif.url', async (_what, change, allow) => {
    const s = env();
    await newConnector(s, (name) => s.connector({ connectorName: name, dnif: { url: change(s.dnif.url) } }));
    const saved = process.env.DNIF_ALLOW_LOOPBACK_PLAINTEXT;
    if (allow === undefined) delete process.env.DNIF_ALLOW_LOOPBACK_PLAINTEXT;
    try {
      const { error } = await captureStdout(() => invokeForwarder());
      expect((error as Error).name).toBe('ConnectorValidationError');
      expect((error as Error).message).toMatch(/dnif\.url: must be an https:\/\/ URL \(http:\/\/ only to a loopback IP .*DNIF_ALLOW_LOOPBACK_PLAINTEXT=1/);
      const r = await testConnection(urlEvent('GET'));
      expect(r.statusCode).toBeGreaterThanOrEqual(400);
      expect(r.body).toContain('dnif.url');
      expect(s.dnif.requestCount).toBe(0);
    } finally {
      process.env.DNIF_ALLOW_LOOPBACK_PLAINTEXT = saved;
    }
  });
});

describe('test connection, DNIF 5xx (issue 11 #11)', () => {
  it('carries the reason phrase DNIF sent', async () => {
    const s = env();
    await newConnector(s);
    s.dnif.reject(502);
    const r = await testConnection(urlEvent('GET'));
    const check = (JSON.parse(r.body) as { checks: { name: string }[] }).checks.find((c) => c.name === 'dnif');
    expect(check).toMatchObject({ ok: false, code: 'DnifRejected', status: 502, dnifMessage: 'Request Failed - response code: 502, reason: Bad Gateway' });
    s.dnif.normal();
  });
});
