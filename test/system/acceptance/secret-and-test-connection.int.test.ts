/**
 * Acceptance, contract "The connector secret" and "Test connection": schema errors name the
 * field and never echo a secret value; awsRegions, roleArn + externalId, keys absent = the
 * function's role; the function URL answers (GET the stored connector, POST a candidate).
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { lambdaContext, s3TestEvent, scheduledEvent, sqsRecord, urlEvent, type StandIns } from '../../../standins';
import { useStandIns } from '../../helpers/standins';
import { coldHandler, newRecords, uniqueName, withLogs } from './support';

jest.setTimeout(60_000);

const REGION = 'us-west-2';
const env = useStandIns({ region: REGION, putDefaultSecret: false });
let s: StandIns;
let closedPort = 0;
beforeAll(async () => {
  s = env();
  // A port that was just free: connection refused (not a fetch-forbidden port such as 9).
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closedPort = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
});

const MIN = 60_000;
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY99';
const DNIF_TOKEN = 'dnif-token-do-not-echo-4b1c';
const DNIF_VOCABULARY = [/^Configuration Error$/, /^Credentials error$/, /^Unable to connect$/, /^Request Failed - response code: \d+, reason: .*$/, /^Request Timeout$/, /^Unknown Error$/];

const runForwarder = () => withLogs(() => coldHandler('forwarder')(scheduledEvent(), lambdaContext(30_000)));
const testConnection = (method: string, body?: object | string) => withLogs(() => coldHandler('testConnection')(urlEvent(method, body), lambdaContext(10_000, 'test-connection')));

interface Check {
  name: string;
  ok: boolean;
  code?: string;
  message?: string;
  hint?: string;
  dnifMessage?: string;
}
interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

function parseAnswer(a: Answer): { status: string; timestamp: string; checks: Check[] } {
  expect(a).toEqual(expect.objectContaining({ statusCode: expect.any(Number), body: expect.any(String) }));
  const b = JSON.parse(a.body) as { status: string; timestamp: string; checks: Check[] };
  expect(Number.isNaN(Date.parse(b.timestamp))).toBe(false);
  expect(b.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  expect(Array.isArray(b.checks)).toBe(true);
  return b;
}

function expectFailedShape(a: Answer): Check[] {
  expect(a.statusCode).toBeGreaterThanOrEqual(400);
  expect(a.statusCode).toBeLessThan(600);
  const b = parseAnswer(a);
  expect(b.status).toBe('Connection failed');
  const failed = b.checks.filter((c) => !c.ok);
  expect(failed.length).toBeGreaterThan(0);
  for (const c of b.checks) {
    expect(typeof c.name).toBe('string');
    expect(typeof c.ok).toBe('boolean');
  }
  for (const c of failed) {
    expect(c).toEqual(expect.objectContaining({ name: expect.any(String), ok: false, code: expect.any(String), message: expect.any(String), hint: expect.any(String) }));
    expect(DNIF_VOCABULARY.some((re) => re.test(String(c.dnifMessage)))).toBe(true);
  }
  return failed;
}

function noSecretsIn(...texts: string[]): void {
  for (const t of texts) {
    expect(t).not.toContain(SECRET_KEY);
    expect(t).not.toContain(DNIF_TOKEN);
  }
}

function connectorDoc(overrides: Record<string, unknown> = {}, dnif: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...s.connector({ connectorName: uniqueName('sec'), ...overrides }), dnif: { url: s.dnif.url, token: s.dnif.auth.type === 'bearer' ? s.dnif.auth.token : DNIF_TOKEN, ...dnif } };
}

describe('acceptance: the connector secret schema', () => {
  beforeEach(() => s.reset());

  it.each([
    ['an unknown top-level key', { surpriseKey: 'x' }, {}, 'surpriseKey'],
    ['an unknown dnif key', {}, { colour: 'blue' }, 'colour'],
    ['a missing connectorName', { connectorName: undefined }, {}, 'connectorName'],
    ['a missing dnif.url', {}, { url: undefined }, 'url'],
    ['a malformed awsRegions', { awsRegions: 'us-west-2', awsRegion: undefined }, {}, 'awsRegions'],
    ['a malformed awsSecretAccessKey (a number)', { awsSecretAccessKey: 91827364554637 }, {}, 'awsSecretAccessKey'],
    ['a malformed dnif.format', {}, { format: 'xml' }, 'format'],
    ['an hmac algorithm outside sha256/sha1/sha512', {}, { token: undefined, auth: { type: 'hmac', header: 'X-Sig', secret: DNIF_TOKEN, algorithm: 'md5' } }, 'algorithm'],
    ['basic auth without a password', {}, { token: undefined, auth: { type: 'basic', username: 'u' } }, 'password'],
    ['an unknown key inside dnif.auth', {}, { token: undefined, auth: { type: 'header', name: 'X-K', value: DNIF_TOKEN, extraAuthKey: 1 } }, 'extraAuthKey'],
    ['an unknown auth type', {}, { token: undefined, auth: { type: 'oauth', token: DNIF_TOKEN } }, 'type'],
  ])('%s is rejected by name by the forwarder, the S3 forwarder and test connection, without echoing a secret value', async (_what, top, dnif, field) => {
    const doc = connectorDoc({ awsSecretAccessKey: SECRET_KEY, ...top }, { token: DNIF_TOKEN, ...dnif });
    s.putConnectorSecret(doc);
    const fwd = await runForwarder();
    expect(fwd.error).toBeDefined();
    const message = String((fwd.error as Error).message);
    expect(message).toContain(field);
    noSecretsIn(message, String((fwd.error as Error).stack), fwd.logs);
    expect(message).not.toContain('91827364554637');
    expect(s.dnif.requestCount).toBe(0);

    const s3 = await withLogs(() =>
      coldHandler('s3Forwarder')({ Records: [sqsRecord({ body: s3TestEvent('acc-bucket') }, 'arn:aws:sqs:us-west-2:111122223333:acc-q')] }, lambdaContext(60_000, 's3-forwarder')),
    );
    // Either the whole batch fails (an error) or every message is reported failed; the field is named.
    if (!s3.error) expect((s3.result as { batchItemFailures: unknown[] }).batchItemFailures).toHaveLength(1);
    expect(`${String((s3.error as Error | undefined)?.message)}\n${s3.logs}`).toContain(field);
    noSecretsIn(String((s3.error as Error | undefined)?.message), s3.logs);

    const tc = await testConnection('GET');
    const failed = expectFailedShape(tc.result as Answer);
    expect(JSON.stringify(failed)).toContain(field);
    noSecretsIn((tc.result as Answer).body, tc.logs);
    expect((tc.result as Answer).body).not.toContain('91827364554637');
  });

  it('a secret that is not JSON is rejected without echoing it', async () => {
    s.putConnectorSecret(`{"connectorName":"x","awsSecretAccessKey":"${SECRET_KEY}"`);
    const fwd = await runForwarder();
    expect(fwd.error).toBeDefined();
    noSecretsIn(String((fwd.error as Error).message), fwd.logs);
    const tc = await testConnection('GET');
    expectFailedShape(tc.result as Answer);
    noSecretsIn((tc.result as Answer).body, tc.logs);
  });

  it('awsRegions replaces awsRegion: each listed region is read, the single region is not', async () => {
    s.putConnectorSecret(connectorDoc({ awsRegion: undefined, awsRegions: ['ap-southeast-2', 'sa-east-1'] }));
    const now = Date.now();
    const a = newRecords(5, now - 30 * MIN, now - 7 * MIN, 'ap-southeast-2', s.accountId);
    const b = newRecords(4, now - 30 * MIN, now - 7 * MIN, 'sa-east-1', s.accountId);
    const other = newRecords(3, now - 30 * MIN, now - 7 * MIN, REGION, s.accountId);
    s.cloudtrail.addEvents('ap-southeast-2', a, { accountId: s.accountId });
    s.cloudtrail.addEvents('sa-east-1', b, { accountId: s.accountId });
    s.cloudtrail.addEvents(REGION, other, { accountId: s.accountId });
    const out = await runForwarder();
    expect(out.error).toBeUndefined();
    expect([...s.dnif.eventsById().keys()].sort()).toEqual([...a, ...b].map((r) => r.eventID).sort());
    expect(Object.keys((out.result as { regions: object }).regions).sort()).toEqual(['ap-southeast-2', 'sa-east-1']);
  });

  it('keys absent: the function role reads Event history', async () => {
    s.putConnectorSecret(connectorDoc({ awsAccessKeyId: undefined, awsSecretAccessKey: undefined }));
    const now = Date.now();
    const recs = newRecords(5, now - 30 * MIN, now - 7 * MIN, REGION, s.accountId);
    s.cloudtrail.addEvents(REGION, recs, { accountId: s.accountId });
    s.registry.deny(s.connectorUser.accessKeyId, 'cloudtrail:LookupEvents');
    try {
      const out = await runForwarder();
      expect(out.error).toBeUndefined();
      expect(s.dnif.eventsById().size).toBe(5);
    } finally {
      s.registry.allow(s.connectorUser.accessKeyId, 'cloudtrail:LookupEvents');
    }
  });

  it('roleArn + externalId: events are read in the role account through the assumed role', async () => {
    const roleAccount = '777788889999';
    const roleArn = `arn:aws:iam::${roleAccount}:role/acceptance-reader`;
    s.sts.addRole({ roleArn, externalId: 'ext-accept-1', trustedPrincipals: [s.connectorUser.userArn] });
    s.putConnectorSecret(connectorDoc({ roleArn, externalId: 'ext-accept-1' }));
    const now = Date.now();
    const recs = newRecords(6, now - 30 * MIN, now - 7 * MIN, REGION, roleAccount);
    s.cloudtrail.addEvents(REGION, recs, { accountId: roleAccount });
    s.cloudtrail.addEvents(REGION, newRecords(2, now - 30 * MIN, now - 7 * MIN, REGION, s.accountId), { accountId: s.accountId });
    const out = await runForwarder();
    expect(out.error).toBeUndefined();
    expect([...s.dnif.eventsById().keys()].sort()).toEqual(recs.map((r) => r.eventID).sort());
    for (const e of s.dnif.events()) expect(e.dnifForwarder?.accountId).toBe(roleAccount);
  });
});

describe('acceptance: test connection (function URL, payload 2.0)', () => {
  beforeEach(() => s.reset());

  it('GET with a good stored connector: 200 Connection successful, ISO timestamp, checks', async () => {
    s.putConnectorSecret(connectorDoc());
    const tc = await testConnection('GET');
    const a = tc.result as Answer;
    expect(a.statusCode).toBe(200);
    const b = parseAnswer(a);
    expect(b.status).toBe('Connection successful');
    expect(b.checks.every((c) => c.ok)).toBe(true);
    for (const secret of [s.connectorUser.secretAccessKey, 'dnif-test-token']) {
      expect(a.body).not.toContain(secret);
      expect(tc.logs).not.toContain(secret);
    }
  });

  it('a redirect from DNIF is a failed check, and is not followed', async () => {
    s.dnif.reject(302, { location: s.dnif.landingUrl });
    try {
      const tc = await testConnection('POST', connectorDoc());
      expectFailedShape(tc.result as Answer);
      expect(s.dnif.landings).toBe(0);
    } finally {
      s.dnif.normal();
    }
  });

  it('POST with a good candidate connector: 200 and the candidate (not the stored one) is tested', async () => {
    s.putConnectorSecret(connectorDoc({}, { token: 'stale-wrong-token' }));
    const tc = await testConnection('POST', connectorDoc());
    expect((tc.result as Answer).statusCode).toBe(200);
    expect(parseAnswer(tc.result as Answer).status).toBe('Connection successful');
  });

  it.each([
    ['an invalid access key', () => connectorDoc({ awsAccessKeyId: 'AKIAINVALIDINVALID00' }), 'InvalidAccessKey'],
    ['a wrong secret key', () => connectorDoc({ awsSecretAccessKey: SECRET_KEY }), 'SignatureMismatch'],
    ['an invalid region', () => connectorDoc({ awsRegion: 'xx-nowhere-9' }), 'InvalidRegion'],
    ['a DNIF token DNIF refuses', () => connectorDoc({}, { token: DNIF_TOKEN }), 'DnifAuthRejected'],
    ['DNIF unreachable (nothing listens)', () => connectorDoc({}, { url: `http://127.0.0.1:${closedPort}/events`, token: DNIF_TOKEN }), 'DnifUnreachable'],
  ])('POST with %s: Connection failed with the code named in the contract, dnifMessage from DNIF vocabulary, no secret in body or logs', async (_what, make, code) => {
    const candidate = make();
    const tc = await testConnection('POST', candidate);
    const failed = expectFailedShape(tc.result as Answer);
    if (!failed.map((c) => c.code).includes(code)) console.warn('ANSWER', (tc.result as Answer).body);
    expect(failed.map((c) => c.code)).toContain(code);
    noSecretsIn((tc.result as Answer).body, tc.logs);
    expect((tc.result as Answer).body).not.toContain(String(candidate.awsSecretAccessKey));
    expect(tc.logs).not.toContain(String(candidate.awsSecretAccessKey));
  });

  it('LookupEvents denied: AccessDenied', async () => {
    s.registry.deny(s.connectorUser.accessKeyId, 'cloudtrail:LookupEvents');
    try {
      const tc = await testConnection('POST', connectorDoc());
      const failed = expectFailedShape(tc.result as Answer);
      expect(failed.map((c) => c.code)).toContain('AccessDenied');
    } finally {
      s.registry.allow(s.connectorUser.accessKeyId, 'cloudtrail:LookupEvents');
    }
  });

  it('the transport rules apply to test connection too: a user:password URL is refused without echoing it', async () => {
    const tc = await testConnection('POST', connectorDoc({}, { url: s.dnif.url.replace('http://', 'http://bob:hunter2-pw@') }));
    expectFailedShape(tc.result as Answer);
    expect((tc.result as Answer).body).not.toContain('hunter2-pw');
    expect(tc.logs).not.toContain('hunter2-pw');
  });
});
