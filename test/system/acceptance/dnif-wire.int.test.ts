/**
 * Acceptance, contract "What DNIF receives" and "Transport rules", byte level: the forwarder
 * posts to a bare HTTP capture that keeps the exact bytes, so every header and every body byte
 * is checked against the contract (not against the stand-in receiver's own parsing).
 */
import { createHmac } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { lambdaContext, scheduledEvent, type CloudTrailRecord, type StandIns } from '../../../standins';
import { useStandIns } from '../../helpers/standins';
import { coldHandler, newRecords, startCapture, uniqueName, withEnv, withLogs, type Captured } from './support';

jest.setTimeout(60_000);

const REGION = 'eu-central-1';
const env = useStandIns({ region: REGION, putDefaultSecret: false });
let s: StandIns;
let capture: Awaited<ReturnType<typeof startCapture>>;
beforeAll(async () => {
  s = env();
  capture = await startCapture();
});
afterAll(() => capture.close());

const MIN = 60_000;

/** A fresh connector posting to the capture, `n` new records in Event history; runs the forwarder once (cold). */
async function deliverWith(dnif: Record<string, unknown>, n = 9, top: Record<string, unknown> = {}): Promise<{ name: string; records: CloudTrailRecord[]; posts: Captured[]; result?: unknown; error?: unknown; logs: string }> {
  s.reset();
  capture.requests.length = 0;
  capture.setRespond(() => ({ status: 200 }));
  const name = uniqueName('wire');
  s.putConnectorSecret({ ...s.connector({ connectorName: name, ...top }), dnif: { url: capture.url, ...dnif } });
  const now = Date.now();
  const records = newRecords(n, now - 40 * MIN, now - 8 * MIN, REGION, s.accountId);
  s.cloudtrail.addEvents(REGION, records, { accountId: s.accountId });
  const out = await withLogs(() => coldHandler('forwarder')(scheduledEvent(), lambdaContext(60_000)));
  const posts = capture.requests.filter((r) => r.method === 'POST' && r.body.length > 0);
  if (out.error) console.warn('run failed:', (out.error as Error).message);
  return { name, records, posts, ...out };
}

const decoded = (c: Captured) => (c.headers['content-encoding'] === 'gzip' ? gunzipSync(c.body) : c.body).toString('utf8');

function parseJsonArrayPosts(posts: Captured[]): Record<string, unknown>[] {
  return posts.flatMap((p) => {
    const v = JSON.parse(decoded(p)) as unknown;
    expect(Array.isArray(v)).toBe(true);
    return v as Record<string, unknown>[];
  });
}

function expectElementsAreRecords(elements: Record<string, unknown>[], records: CloudTrailRecord[], name: string): void {
  const byId = new Map(records.map((r) => [r.eventID, r]));
  expect(elements.map((e) => e.eventID).sort()).toEqual([...byId.keys()].sort());
  for (const el of elements) {
    const { dnifForwarder, ...rest } = el;
    expect(rest).toEqual(byId.get(String(el.eventID)));
    expect(dnifForwarder).toMatchObject({ connectorName: name, eventId: el.eventID, region: REGION, accountId: s.accountId });
    expect(typeof (dnifForwarder as { forwardedAt: unknown }).forwardedAt).toBe('string');
    expect(Number.isNaN(Date.parse((dnifForwarder as { forwardedAt: string }).forwardedAt))).toBe(false);
  }
}

describe('acceptance: what DNIF receives (bytes on the wire)', () => {
  it('default: POST to the URL path, application/json, a JSON array of the records themselves + dnifForwarder, bearer from dnif.token alone', async () => {
    const out = await deliverWith({ token: 'tok-abc-123' });
    expect(out.error).toBeUndefined();
    expect(out.posts.length).toBeGreaterThan(0);
    for (const p of out.posts) {
      expect(p.url).toBe('/events');
      expect(String(p.headers['content-type'])).toMatch(/^application\/json\b/);
      expect(p.headers.authorization).toBe('Bearer tok-abc-123');
      expect(p.headers['content-encoding']).toBeUndefined();
    }
    expectElementsAreRecords(parseJsonArrayPosts(out.posts), out.records, out.name);
  });

  it('gzip: Content-Encoding gzip, the body gunzips to the JSON array', async () => {
    const out = await deliverWith({ token: 't', gzip: true });
    expect(out.posts.length).toBeGreaterThan(0);
    for (const p of out.posts) {
      expect(p.headers['content-encoding']).toBe('gzip');
      expect(p.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    }
    expectElementsAreRecords(parseJsonArrayPosts(out.posts), out.records, out.name);
  });

  it('ndjson + gzip: both at once', async () => {
    const out = await deliverWith({ token: 't', format: 'ndjson', gzip: true });
    expect(out.posts.length).toBeGreaterThan(0);
    const elements = out.posts.flatMap((p) => {
      expect(String(p.headers['content-type'])).toMatch(/^application\/x-ndjson\b/);
      expect(p.headers['content-encoding']).toBe('gzip');
      return decoded(p)
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    });
    expectElementsAreRecords(elements, out.records, out.name);
  });

  it('basic auth: Authorization: Basic base64(username:password)', async () => {
    const out = await deliverWith({ auth: { type: 'basic', username: 'dnif-user', password: 'pa:ss word!' } });
    expect(out.posts.length).toBeGreaterThan(0);
    for (const p of out.posts) expect(p.headers.authorization).toBe(`Basic ${Buffer.from('dnif-user:pa:ss word!').toString('base64')}`);
  });

  it('header auth: <name>: <value>; dnif.headers are added; batches honour BATCH_MAX_EVENTS', async () => {
    const out = await withEnv({ BATCH_MAX_EVENTS: '4' }, () => deliverWith({ auth: { type: 'header', name: 'X-Dnif-Shared', value: 'shh-value' }, headers: { 'X-Extra-Tag': 'acc' } }, 10));
    expect(out.posts.length).toBeGreaterThan(0);
    for (const p of out.posts) {
      expect(p.headers['x-dnif-shared']).toBe('shh-value');
      expect(p.headers['x-extra-tag']).toBe('acc');
    }
    const sizes = out.posts.map((p) => (JSON.parse(decoded(p)) as unknown[]).length);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(10);
    for (const n of sizes) expect(n).toBeLessThanOrEqual(4);
  });

  it.each([
    [undefined, 'sha256', false],
    ['sha1', 'sha1', false],
    ['sha512', 'sha512', true],
  ] as const)('hmac algorithm %s (computed as %s, gzip %s): hex HMAC over the exact body bytes sent', async (algorithm, algo, gzip) => {
    const auth: Record<string, unknown> = { type: 'hmac', header: 'X-Signature', secret: 'hmac-secret-ü' };
    if (algorithm) auth.algorithm = algorithm;
    const out = await deliverWith({ auth, gzip });
    expect(out.posts.length).toBeGreaterThan(0);
    for (const p of out.posts) {
      expect(p.headers['x-signature']).toBe(createHmac(algo, 'hmac-secret-ü').update(p.body).digest('hex'));
    }
    expectElementsAreRecords(parseJsonArrayPosts(out.posts), out.records, out.name);
  });

  it('flatten: every record flattened to dotted keys, arrays as JSON strings', async () => {
    const out = await deliverWith({ token: 't', flatten: true });
    const elements = parseJsonArrayPosts(out.posts);
    expect(elements).toHaveLength(out.records.length);
    const byId = new Map(out.records.map((r) => [r.eventID, r]));
    for (const el of elements) {
      const original = byId.get(String(el.eventID)) as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(original).toBeDefined();
      expect(el['userIdentity.arn']).toBe(original.userIdentity.arn);
      const tags = el['requestParameters.tags'];
      if (original.requestParameters?.tags) expect(JSON.parse(String(tags))).toEqual(original.requestParameters.tags);
      for (const [k, v] of Object.entries(el)) {
        if (k === 'dnifForwarder') continue; // the contract does not say whether the stamp is flattened too
        expect(v === null || typeof v !== 'object').toBe(true);
      }
    }
  });

  it('any 2xx is success (201, 204)', async () => {
    s.reset();
    capture.requests.length = 0;
    let i = 0;
    const name = uniqueName('wire');
    s.putConnectorSecret({ ...s.connector({ connectorName: name }), dnif: { url: capture.url, token: 't' } });
    capture.setRespond(() => ({ status: i++ % 2 ? 204 : 201 }));
    const now = Date.now();
    s.cloudtrail.addEvents(REGION, newRecords(6, now - 30 * MIN, now - 8 * MIN, REGION, s.accountId), { accountId: s.accountId });
    const h = coldHandler('forwarder');
    const first = await h(scheduledEvent(), lambdaContext(60_000));
    expect(first.forwarded).toBe(6);
    const second = await h(scheduledEvent(), lambdaContext(60_000));
    expect(second.forwarded).toBe(0);
    capture.setRespond(() => ({ status: 200 }));
  });
});

describe('acceptance: transport rules', () => {
  const secretToken = 'never-echo-this-token-9f8e7d';

  async function refused(url: string, envVars: Record<string, string | undefined>): Promise<{ error?: unknown; logs: string; posts: number }> {
    s.reset();
    capture.requests.length = 0;
    s.putConnectorSecret({ ...s.connector({ connectorName: uniqueName('tr') }), dnif: { url, token: secretToken } });
    const now = Date.now();
    s.cloudtrail.addEvents(REGION, newRecords(3, now - 30 * MIN, now - 8 * MIN, REGION, s.accountId), { accountId: s.accountId });
    const out = await withEnv(envVars, () => withLogs(() => coldHandler('forwarder')(scheduledEvent(), lambdaContext(30_000))));
    return { error: out.error, logs: out.logs, posts: capture.requests.length };
  }

  it('plain http to loopback without DNIF_ALLOW_LOOPBACK_PLAINTEXT=1 is refused: nothing is sent', async () => {
    const out = await refused(capture.url, { DNIF_ALLOW_LOOPBACK_PLAINTEXT: undefined });
    expect(out.error).toBeDefined();
    expect(out.posts).toBe(0);
    expect(String((out.error as Error).message)).not.toContain(secretToken);
    expect(out.logs).not.toContain(secretToken);
  });

  it('plain http to a loopback host name (not an IP literal) is refused even with DNIF_ALLOW_LOOPBACK_PLAINTEXT=1', async () => {
    const out = await refused(capture.url.replace('127.0.0.1', 'localhost'), {});
    expect(out.error).toBeDefined();
    expect(out.posts).toBe(0);
  });

  it('a URL with a user:password part is refused, and the password is not echoed', async () => {
    const out = await refused(capture.url.replace('http://', 'http://alice:p4ssw0rd-secret@'), {});
    expect(out.error).toBeDefined();
    expect(out.posts).toBe(0);
    expect(String((out.error as Error).message)).not.toContain('p4ssw0rd-secret');
    expect(out.logs).not.toContain('p4ssw0rd-secret');
  });

  it('a non-https, non-http scheme is refused', async () => {
    const out = await refused(capture.url.replace('http://', 'ftp://'), {});
    expect(out.error).toBeDefined();
    expect(out.posts).toBe(0);
  });
});
