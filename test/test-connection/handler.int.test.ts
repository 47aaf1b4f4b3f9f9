/**
 * The test-connection handler driven with function URL events against the loopback
 * stand-ins: real SDK clients (SigV4-verified), real HTTP to the DNIF receiver.
 */
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { logger } from '../../functions/core/logger';
import { handler } from '../../functions/test-connection/handler';
import { MAX_BODY_BYTES } from '../../functions/test-connection/request';
import { startDnifReceiver, startStandIns, type ConnectorDocument, type DnifReceiver, type StandIns } from '../../standins';
import { urlEvent } from '../../standins/lambda';

jest.setTimeout(30_000);

let s: StandIns;
let undoEnv: () => void;
/** Every body answered and every line written to stdout/stderr in this file, for the secret scan. */
const bodies: string[] = [];
const output: string[] = [];
const secrets = new Set<string>();
let restoreOutput: () => void;

function captureOutput(): () => void {
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof stream.write),
  );
  return () => spies.forEach((spy) => spy.mockRestore());
}

interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  body: {
    status: string;
    timestamp: string;
    source?: string;
    connectorName?: string;
    checks: Array<Record<string, unknown> & { name: string; ok: boolean; code: string; message: string; hint: string }>;
  };
  ms: number;
}

async function call(event: LambdaFunctionURLEvent): Promise<Answer> {
  const t = Date.now();
  const r = await handler(event);
  bodies.push(r.body);
  return { statusCode: r.statusCode, headers: r.headers, body: JSON.parse(r.body), ms: Date.now() - t };
}

const get = () => call(urlEvent('GET'));
const post = (doc: ConnectorDocument | string) => call(urlEvent('POST', doc));
const check = (a: Answer, name: string, region?: string) => {
  const c = a.body.checks.find((x) => x.name === name && (region === undefined || x.region === region));
  if (!c) throw new Error(`no ${name} check in ${JSON.stringify(a.body)}`);
  return c;
};
const codes = (a: Answer) => a.body.checks.map((c) => `${c.name}${c.name === 'cloudtrail' ? `[${c.region}]` : ''}:${c.code}`);

/** A connector for a fresh IAM user of the stand-ins' account; its secrets join the scan list. */
function userConnector(name: string, opts: { deniedActions?: string[] } = {}, overrides: ConnectorDocument = {}): ConnectorDocument {
  const user = s.registry.createUser(s.accountId, name, opts);
  secrets.add(user.accessKeyId).add(user.secretAccessKey);
  return s.connector({ awsAccessKeyId: user.accessKeyId, awsSecretAccessKey: user.secretAccessKey, ...overrides });
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const FAILED_KEYS = ['name', 'ok', 'code', 'message', 'hint', 'dnifMessage'];

beforeAll(async () => {
  restoreOutput = captureOutput();
  // Scan every level, not only what production logs by default.
  logger.setLogLevel('DEBUG');
  // Two regions served: a request signed for any other fails as AWS answers a bad scope.
  s = await startStandIns({ ratePerSecond: 50, regions: ['us-east-1', 'eu-west-1'] });
  undoEnv = s.applyEnv();
  s.putConnectorSecret();
  for (const v of [s.connectorUser.accessKeyId, s.connectorUser.secretAccessKey, s.functionRole.accessKeyId, s.functionRole.secretAccessKey, 'dnif-test-token']) {
    secrets.add(v);
  }
});

afterAll(async () => {
  undoEnv?.();
  await s?.stop();
  restoreOutput?.();
  logger.setLogLevel('ERROR');
});

beforeEach(() => {
  s.dnif.normal();
  s.dnif.clear();
  s.putConnectorSecret();
});

describe('GET: the stored connector', () => {
  it('answers 200 "Connection successful" with every check, and DNIF gets one empty batch', async () => {
    const a = await get();
    expect(a.statusCode).toBe(200);
    expect(a.headers).toEqual({ 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    const target = new URL(s.dnif.url).origin;
    const user = s.connectorUser;
    expect(a.body).toEqual({
      status: 'Connection successful',
      timestamp: expect.stringMatching(ISO),
      source: 'stored',
      connectorName: 'local-cloudtrail',
      checks: [
        {
          name: 'secret',
          ok: true,
          code: 'OK',
          message: `Secret ${s.secretName} was read and holds a valid connector (local-cloudtrail)`,
          hint: '',
          durationMs: expect.any(Number),
        },
        {
          name: 'awsCredentials',
          ok: true,
          code: 'OK',
          message: `AWS accepted the credentials of the access key: ${user.userArn} (account ${s.accountId})`,
          hint: '',
          accountId: s.accountId,
          arn: user.userArn,
          region: 'us-east-1',
          durationMs: expect.any(Number),
        },
        { name: 'regions', ok: true, code: 'OK', message: 'Region us-east-1 valid', hint: '', regions: ['us-east-1'], durationMs: expect.any(Number) },
        {
          name: 'cloudtrail',
          ok: true,
          code: 'OK',
          message: 'cloudtrail:LookupEvents is allowed in us-east-1 (Event history is empty)',
          hint: '',
          region: 'us-east-1',
          durationMs: expect.any(Number),
        },
        {
          name: 'dnif',
          ok: true,
          code: 'OK',
          message: `DNIF at ${target} accepted the test request (an empty batch, bearer auth)`,
          hint: '',
          target,
          transport: 'http',
          durationMs: expect.any(Number),
        },
      ],
    });
    // The probe: `[]` with the configured auth; no event reached DNIF.
    expect(s.dnif.probes).toHaveLength(1);
    expect(s.dnif.probes[0].headers.authorization).toBe('Bearer dnif-test-token');
    expect(s.dnif.requests).toHaveLength(0);
    expect(a.ms).toBeLessThan(3_000);
  });

  it('reads the secret afresh on every call (a just-saved value is what gets tested)', async () => {
    expect((await get()).statusCode).toBe(200);
    s.putConnectorSecret(s.connector({ dnif: { token: 'rotated-but-wrong' } }));
    secrets.add('rotated-but-wrong');
    const a = await get();
    expect(a.statusCode).toBe(502);
    expect(check(a, 'dnif').code).toBe('DnifAuthRejected');
  });

  it('names the newest event when Event history has some', async () => {
    const t = new Date(Date.now() - 60_000);
    s.cloudtrail.addEvents('us-east-1', [
      { eventID: 'e-1', eventTime: t.toISOString().replace(/\.\d{3}Z$/, 'Z'), eventName: 'ConsoleLogin', eventSource: 'signin.amazonaws.com', recipientAccountId: s.accountId },
    ]);
    try {
      const a = await get();
      expect(check(a, 'cloudtrail').message).toBe(
        `cloudtrail:LookupEvents is allowed in us-east-1 (newest event in Event history: ${new Date(Math.floor(t.getTime() / 1000) * 1000).toISOString()})`,
      );
    } finally {
      s.cloudtrail.clearEvents();
    }
  });

  it('secret not found → SecretNotFound, 502, no other check', async () => {
    process.env.SECRET_ID = 'no/such/secret';
    try {
      const a = await get();
      expect(a.statusCode).toBe(502);
      expect(a.body.status).toBe('Connection failed');
      expect(a.body.checks).toEqual([
        {
          name: 'secret',
          ok: false,
          code: 'SecretNotFound',
          message: 'Secret no/such/secret (SECRET_ID) was not found',
          hint: expect.stringContaining('SECRET_ID'),
          dnifMessage: 'Configuration Error',
          cause: 'SecretNotFound',
          durationMs: expect.any(Number),
        },
      ]);
    } finally {
      process.env.SECRET_ID = s.secretName;
    }
  });

  it('secret not allowed → SecretAccessDenied', async () => {
    s.secrets.failNext(1, { code: 'AccessDeniedException', status: 400, message: 'not authorized to perform: secretsmanager:GetSecretValue' });
    const a = await get();
    expect(a.statusCode).toBe(502);
    expect(a.body.checks.map((c) => [c.name, c.code, c.dnifMessage])).toEqual([['secret', 'SecretAccessDenied', 'Credentials error']]);
  });

  it('stored secret that is not JSON → InvalidConnector naming (secret), 400', async () => {
    s.putConnectorSecret('{"connectorName": "x", awsAccessKeyId: oops');
    const a = await get();
    expect(a.statusCode).toBe(400);
    expect(a.body.checks).toEqual([
      expect.objectContaining({ name: 'secret', ok: false, code: 'InvalidConnector', dnifMessage: 'Configuration Error', field: '(secret)', problems: [{ field: '(secret)', problem: 'is not valid JSON' }] }),
    ]);
  });

  it('stored secret with a bad field → InvalidConnector naming the field, without its value', async () => {
    s.putConnectorSecret(s.connector({ awsRegion: 'US East 1' }));
    const a = await get();
    expect(a.statusCode).toBe(400);
    const c = check(a, 'secret');
    expect(c).toMatchObject({ code: 'InvalidConnector', field: 'awsRegion' });
    expect(c.message).toContain('awsRegion must be an AWS region code');
    expect(a.body.checks).toHaveLength(1);
  });
});

describe('AWS credentials and permissions', () => {
  it('unknown access key → InvalidAccessKey', async () => {
    const a = await post(s.connector({ awsAccessKeyId: 'AKIAUNKNOWNKEY000001', awsSecretAccessKey: 'unknown-secret-key-0123456789abcdef' }));
    secrets.add('AKIAUNKNOWNKEY000001').add('unknown-secret-key-0123456789abcdef');
    expect(a.statusCode).toBe(502);
    expect(a.body.status).toBe('Connection failed');
    expect(codes(a)).toEqual(['connector:OK', 'awsCredentials:InvalidAccessKey', 'regions:OK', 'cloudtrail[us-east-1]:InvalidAccessKey', 'dnif:OK']);
    const c = check(a, 'awsCredentials');
    expect(Object.keys(c)).toEqual([...FAILED_KEYS, 'region', 'cause', 'durationMs']);
    expect(c).toMatchObject({ ok: false, dnifMessage: 'Credentials error', cause: 'InvalidClientTokenId', region: 'us-east-1' });
    expect(c.message).toBe('AWS does not recognise the access key id (InvalidClientTokenId from sts:GetCallerIdentity in us-east-1)');
    expect(check(a, 'cloudtrail')).toMatchObject({ code: 'InvalidAccessKey', cause: 'UnrecognizedClientException', dnifMessage: 'Credentials error' });
  });

  it('right key, wrong secret key → SignatureMismatch', async () => {
    const a = await post(s.connector({ awsSecretAccessKey: 'wrong-secret-key-0123456789abcdefXYZ' }));
    secrets.add('wrong-secret-key-0123456789abcdefXYZ');
    expect(a.statusCode).toBe(502);
    expect(codes(a)).toEqual(['connector:OK', 'awsCredentials:SignatureMismatch', 'regions:OK', 'cloudtrail[us-east-1]:SignatureMismatch', 'dnif:OK']);
    expect(check(a, 'awsCredentials')).toMatchObject({ cause: 'SignatureDoesNotMatch', dnifMessage: 'Credentials error' });
    expect(check(a, 'cloudtrail')).toMatchObject({ cause: 'InvalidSignatureException' });
    expect(check(a, 'cloudtrail').hint).toContain('awsSecretAccessKey');
  });

  it('no cloudtrail:LookupEvents → AccessDenied naming the action; the credentials themselves pass', async () => {
    const a = await post(userConnector('no-lookup', { deniedActions: ['cloudtrail:LookupEvents'] }));
    expect(a.statusCode).toBe(502);
    expect(codes(a)).toEqual(['connector:OK', 'awsCredentials:OK', 'regions:OK', 'cloudtrail[us-east-1]:AccessDenied', 'dnif:OK']);
    const c = check(a, 'cloudtrail');
    expect(Object.keys(c)).toEqual([...FAILED_KEYS, 'region', 'cause', 'durationMs']);
    expect(c).toMatchObject({ ok: false, code: 'AccessDenied', dnifMessage: 'Credentials error', cause: 'AccessDeniedException', region: 'us-east-1' });
    expect(c.message).toMatch(/^Not allowed to call cloudtrail:LookupEvents in us-east-1: User: arn:aws:iam::111122223333:user\/no-lookup is not authorized to perform: cloudtrail:LookupEvents/);
    expect(c.hint).toContain('AWSCloudTrail_ReadOnlyAccess');
  });

  it('expired key → ExpiredToken', async () => {
    const doc = userConnector('expired');
    s.registry.expire(doc.awsAccessKeyId as string, Date.now() - 1000);
    const a = await post(doc);
    expect(a.statusCode).toBe(502);
    expect(codes(a)).toEqual(['connector:OK', 'awsCredentials:ExpiredToken', 'regions:OK', 'cloudtrail[us-east-1]:ExpiredToken', 'dnif:OK']);
    expect(check(a, 'awsCredentials')).toMatchObject({ cause: 'ExpiredToken', dnifMessage: 'Credentials error' });
    expect(check(a, 'cloudtrail')).toMatchObject({ cause: 'ExpiredTokenException' });
  });

  it('roleArn: assumes the role (once per region, like the forwarder) and reports the assumed-role ARN', async () => {
    const roleArn = 'arn:aws:iam::444455556666:role/dnif-cloudtrail-reader';
    s.sts.addRole({ roleArn, trustedPrincipals: [s.accountId], externalId: 'ext-id-42' });
    const a = await post(s.connector({ roleArn, externalId: 'ext-id-42' }));
    for (const session of s.sts.sessions) secrets.add(session.principal.accessKeyId).add(session.principal.secretAccessKey).add(session.principal.sessionToken as string);
    expect(a.statusCode).toBe(200);
    expect(check(a, 'awsCredentials')).toMatchObject({
      ok: true,
      accountId: '444455556666',
      arn: 'arn:aws:sts::444455556666:assumed-role/dnif-cloudtrail-reader/cloudtrail-dnif-forwarder',
    });
    expect(check(a, 'awsCredentials').message).toContain(`role ${roleArn}`);
  });

  it('roleArn the credentials may not assume → AccessDenied naming sts:AssumeRole', async () => {
    const roleArn = 'arn:aws:iam::444455556666:role/not-trusting-us';
    s.sts.addRole({ roleArn, trustedPrincipals: ['999999999999'] });
    const a = await post(s.connector({ roleArn }));
    expect(a.statusCode).toBe(502);
    expect(codes(a)).toEqual(['connector:OK', 'awsCredentials:AccessDenied', 'regions:OK', 'cloudtrail[us-east-1]:AccessDenied', 'dnif:OK']);
    const c = check(a, 'cloudtrail');
    expect(c.message).toMatch(new RegExp(`^Could not assume role ${roleArn}: Not allowed to call sts:AssumeRole in us-east-1: .*sts:AssumeRole`));
    expect(c.hint).toContain('trust policy');
  });

  it('no keys in the connector: the function\'s own role is used and named', async () => {
    const { awsAccessKeyId: _k, awsSecretAccessKey: _s, ...doc } = s.connector();
    const a = await post(doc);
    expect(a.statusCode).toBe(200);
    expect(check(a, 'awsCredentials')).toMatchObject({ arn: s.functionRole.userArn });
    expect(check(a, 'awsCredentials').message).toContain("the function's own role");
  });

  it('throttled LookupEvents is retried: throttling says nothing about the connector', async () => {
    s.cloudtrail.injectFault({ kind: 'throttle', times: 2 });
    const a = await get();
    expect(a.statusCode).toBe(200);
    expect(s.cloudtrail.pendingFaults()).toBe(0);
  });
});

describe('regions', () => {
  it('a region the service does not know (signed for xx-fake-1) → InvalidRegion; the others still pass', async () => {
    const a = await post(s.connector({ awsRegion: undefined, awsRegions: ['us-east-1', 'xx-fake-1'] }));
    expect(a.statusCode).toBe(502);
    expect(codes(a)).toEqual(['connector:OK', 'awsCredentials:OK', 'regions:InvalidRegion', 'cloudtrail[us-east-1]:OK', 'cloudtrail[xx-fake-1]:InvalidRegion', 'dnif:OK']);
    expect(check(a, 'regions')).toMatchObject({ ok: false, message: 'Not valid AWS regions: xx-fake-1', dnifMessage: 'Configuration Error', regions: ['us-east-1', 'xx-fake-1'] });
    expect(check(a, 'cloudtrail', 'xx-fake-1')).toMatchObject({ dnifMessage: 'Configuration Error', cause: 'InvalidSignatureException' });
  });

  it('without the endpoint override the SDK resolves cloudtrail.xx-fake-1.amazonaws.com: DNS fails (ENOTFOUND) → InvalidRegion, fast', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_CLOUDTRAIL;
    delete process.env.AWS_ENDPOINT_URL_CLOUDTRAIL;
    try {
      const a = await post(s.connector({ awsRegion: 'xx-fake-1' }));
      expect(a.statusCode).toBe(502);
      const c = check(a, 'cloudtrail', 'xx-fake-1');
      expect(c).toMatchObject({ ok: false, code: 'InvalidRegion', cause: 'ENOTFOUND', dnifMessage: 'Configuration Error' });
      expect(c.message).toBe('Region xx-fake-1 has no CloudTrail endpoint (cloudtrail.xx-fake-1.amazonaws.com does not resolve): it is not an AWS region');
      expect(check(a, 'regions')).toMatchObject({ code: 'InvalidRegion', cause: 'ENOTFOUND' });
      // STS still answers (its override is kept): signed for xx-fake-1 it is refused, so the
      // credentials are checked in the partition's home region instead.
      expect(check(a, 'awsCredentials')).toMatchObject({ ok: true, region: 'us-east-1' });
      expect(a.ms).toBeLessThan(3_000);
    } finally {
      process.env.AWS_ENDPOINT_URL_CLOUDTRAIL = saved;
    }
  });

  it('us-east-1 missing: a warning, not a failure', async () => {
    const a = await post(s.connector({ awsRegion: undefined, awsRegions: ['eu-west-1'] }));
    expect(a.statusCode).toBe(200);
    const c = check(a, 'regions');
    expect(c).toMatchObject({ ok: true, code: 'OK', hint: 'Consider adding us-east-1 to awsRegions (see warnings).' });
    expect(c.warnings).toEqual([expect.stringContaining('global services (IAM, STS, console sign-in) are recorded in us-east-1 only')]);
  });
});

describe('DNIF', () => {
  it('receiver down (ECONNREFUSED) → DnifUnreachable', async () => {
    await s.dnif.down('refuse');
    try {
      const a = await get();
      expect(a.statusCode).toBe(502);
      expect(codes(a)).toEqual(['secret:OK', 'awsCredentials:OK', 'regions:OK', 'cloudtrail[us-east-1]:OK', 'dnif:DnifUnreachable']);
      const c = check(a, 'dnif');
      expect(Object.keys(c)).toEqual([...FAILED_KEYS, 'target', 'transport', 'cause', 'durationMs']);
      expect(c).toMatchObject({ ok: false, cause: 'ECONNREFUSED', dnifMessage: 'Unable to connect', target: new URL(s.dnif.url).origin });
      expect(c.message).toBe(`Could not reach DNIF at ${new URL(s.dnif.url).origin}: the connection was refused (nothing listens on that port)`);
    } finally {
      await s.dnif.up();
    }
  });

  it('wrong token (401) → DnifAuthRejected with DNIF\'s "Request Failed" wording', async () => {
    const a = await post(s.connector({ dnif: { token: 'not-the-dnif-token' } }));
    secrets.add('not-the-dnif-token');
    expect(a.statusCode).toBe(502);
    const c = check(a, 'dnif');
    expect(Object.keys(c)).toEqual([...FAILED_KEYS, 'target', 'transport', 'status', 'durationMs']);
    expect(c).toMatchObject({ code: 'DnifAuthRejected', status: 401, dnifMessage: 'Request Failed - response code: 401, reason: Unauthorized' });
    expect(s.dnif.attempts.map((x) => x.status)).toEqual([401]);
  });

  it('other auth modes: basic, header and hmac with gzip and ndjson are probed with the configured auth', async () => {
    const modes = [
      { type: 'basic', username: 'dnif-user', password: 'basic-pass-5678' },
      { type: 'header', name: 'X-Api-Key', value: 'header-value-9012' },
      { type: 'hmac', header: 'X-Signature', secret: 'hmac-secret-3456', algorithm: 'sha256' },
    ] as const;
    for (const auth of modes) {
      s.dnif.setAuth(auth);
      for (const v of ['basic-pass-5678', 'header-value-9012', 'hmac-secret-3456']) secrets.add(v);
      const a = await post(s.connector({ dnif: { token: undefined, auth, gzip: true } }));
      expect([auth.type, check(a, 'dnif').code]).toEqual([auth.type, 'OK']);
    }
    expect(s.dnif.probes.every((p) => p.gzip)).toBe(true);
    s.dnif.setAuth({ type: 'bearer', token: 'dnif-test-token' });
  });

  it('DNIF 500 → DnifRejected', async () => {
    s.dnif.reject(500);
    const a = await get();
    expect(a.statusCode).toBe(502);
    expect(check(a, 'dnif')).toMatchObject({ code: 'DnifRejected', status: 500, dnifMessage: 'Request Failed - response code: 500, reason: Internal Server Error' });
  });

  it('DNIF 404 (wrong path) → DnifRejected with a hint about the path', async () => {
    const a = await post(s.connector({ dnif: { url: `${s.dnif.baseUrl}/ingest` } }));
    expect(check(a, 'dnif')).toMatchObject({ code: 'DnifRejected', status: 404, dnifMessage: 'Request Failed - response code: 404, reason: Not Found' });
    expect(check(a, 'dnif').hint).toContain('/events');
  });

  it('hanging DNIF → DnifTimeout within the time bound; the other checks still report', async () => {
    s.dnif.hang();
    const a = await get();
    expect(a.statusCode).toBe(502);
    expect(codes(a)).toEqual(['secret:OK', 'awsCredentials:OK', 'regions:OK', 'cloudtrail[us-east-1]:OK', 'dnif:DnifTimeout']);
    expect(check(a, 'dnif')).toMatchObject({ dnifMessage: 'Request Timeout', cause: 'ETIMEDOUT' });
    // Default bound: 5 s per check, 8 s in all.
    expect(a.ms).toBeGreaterThanOrEqual(4_500);
    expect(a.ms).toBeLessThan(8_000);
  });

  it('untrusted TLS (self-signed certificate) → DnifTlsError', async () => {
    const tlsReceiver: DnifReceiver = await startDnifReceiver({ tls: 'untrusted' });
    try {
      const a = await post(s.connector({ dnif: { url: tlsReceiver.url } }));
      expect(a.statusCode).toBe(502);
      const c = check(a, 'dnif');
      expect(c).toMatchObject({ code: 'DnifTlsError', cause: 'DEPTH_ZERO_SELF_SIGNED_CERT', dnifMessage: 'Unable to connect', target: tlsReceiver.baseUrl });
      expect(c.hint).toContain('self-signed');
      expect(tlsReceiver.attempts).toHaveLength(0);
    } finally {
      await tlsReceiver.close();
    }
  });
});

describe('the request', () => {
  const failedRequest = (a: Answer) => {
    expect(a.body.status).toBe('Connection failed');
    expect(a.body.timestamp).toMatch(ISO);
    expect(a.body.checks).toHaveLength(1);
    return a.body.checks[0];
  };

  it('a body over the limit → 400 RequestTooLarge', async () => {
    const a = await call(urlEvent('POST', JSON.stringify({ ...s.connector(), padding: 'x'.repeat(MAX_BODY_BYTES) })));
    expect(a.statusCode).toBe(400);
    expect(failedRequest(a)).toEqual({
      name: 'request',
      ok: false,
      code: 'RequestTooLarge',
      message: `The request body is larger than ${MAX_BODY_BYTES} bytes`,
      hint: expect.any(String),
      dnifMessage: 'Configuration Error',
      field: '(body)',
      durationMs: 0,
    });
  });

  it('a body that is not JSON → 400 BadRequest, without echoing it', async () => {
    const a = await call(urlEvent('POST', `awsSecretAccessKey=${s.connectorUser.secretAccessKey}`));
    expect(a.statusCode).toBe(400);
    expect(failedRequest(a)).toMatchObject({ name: 'request', code: 'BadRequest', message: 'The request body is not valid JSON', field: '(body)' });
  });

  it('base64 bodies are decoded (the URL base64-encodes non-text content types)', async () => {
    const ok = await call(urlEvent('POST', s.connector(), { base64: true, headers: { 'content-type': 'application/octet-stream' } }));
    expect(ok.statusCode).toBe(200);
    const bad = await call(urlEvent('POST', 'not json at all', { base64: true }));
    expect(bad.statusCode).toBe(400);
    expect(failedRequest(bad)).toMatchObject({ code: 'BadRequest', message: 'The request body is not valid JSON' });
  });

  it('an empty POST → 400 BadRequest', async () => {
    const a = await call(urlEvent('POST'));
    expect(a.statusCode).toBe(400);
    expect(failedRequest(a)).toMatchObject({ code: 'BadRequest', message: 'The request body is empty' });
  });

  it('an unknown field → 400 InvalidConnector naming it, and no value in the answer', async () => {
    const a = await post({ ...s.connector(), awsSecretKey: 'pasted-into-the-wrong-field-123' });
    secrets.add('pasted-into-the-wrong-field-123');
    expect(a.statusCode).toBe(400);
    expect(a.body.checks).toEqual([
      {
        name: 'connector',
        ok: false,
        code: 'InvalidConnector',
        message: 'The connector in the request body is invalid: awsSecretKey is not a known field',
        hint: expect.stringContaining('awsSecretKey'),
        dnifMessage: 'Configuration Error',
        field: 'awsSecretKey',
        problems: [{ field: 'awsSecretKey', problem: 'is not a known field' }],
        durationMs: expect.any(Number),
      },
    ]);
    expect(a.body.connectorName).toBeUndefined();
  });

  it('a missing field → 400 InvalidConnector naming it', async () => {
    const { connectorName: _n, ...doc } = s.connector();
    const a = await post(doc);
    expect(a.statusCode).toBe(400);
    expect(check(a, 'connector')).toMatchObject({ code: 'InvalidConnector', field: 'connectorName', problems: [{ field: 'connectorName', problem: 'is required' }] });
  });

  it('several bad fields are all named', async () => {
    const a = await post(s.connector({ awsRegion: 'US East', dnif: { format: 'xml' } }));
    expect(check(a, 'connector').problems).toEqual([
      { field: 'awsRegion', problem: 'must be an AWS region code such as us-east-1 (lower case, no spaces)' },
      { field: 'dnif.format', problem: 'must be one of "json", "ndjson"' },
    ]);
  });

  it('other methods → 405 with Allow', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH', 'HEAD']) {
      const a = await call(urlEvent(method, s.connector()));
      expect(a.statusCode).toBe(405);
      expect(a.headers.allow).toBe('GET, POST');
      expect(failedRequest(a)).toMatchObject({ name: 'request', code: 'MethodNotAllowed', message: `Method ${method} is not allowed: use GET or POST` });
    }
  });
});

describe('secrets never leave the function', () => {
  it('even when every secret of a connector is wrong, misplaced or echoed by a remote, no body or log line holds one', async () => {
    const token = 'session-token-that-is-not-valid-0123456789';
    const doc = s.connector({ awsSessionToken: token, dnif: { token: 'bearer-token-never-shown-777', headers: { 'X-Extra-Key': 'extra-header-secret-888' } } });
    secrets.add(token).add('bearer-token-never-shown-777').add('extra-header-secret-888');
    await post(doc);
    // A remote that echoes the token back in its answer (the handler never shows response bodies).
    s.dnif.reject(400, { body: JSON.stringify({ error: 'bad token bearer-token-never-shown-777' }) });
    await post(doc);
    s.dnif.normal();
    // Invalid connectors: every string of the body is hidden, even in the wrong field.
    await post({ ...doc, connectorName: '!bad name!', secretKey: 'misplaced-secret-999' });
    secrets.add('misplaced-secret-999');
    expect(bodies.length).toBeGreaterThan(10);
  });

  it('scan: across every request of this file, no answer body and no log line contains a secret value', () => {
    const logs = output.join('');
    expect(logs).toContain('Test connection answered'); // the capture works
    const leaks = [...secrets].filter((v) => bodies.some((b) => b.includes(v)) || logs.includes(v));
    expect(leaks).toEqual([]);
  });
});
