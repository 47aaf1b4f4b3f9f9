import { ConnectorValidationError, parseConnector, secretValuesOf } from '../../functions/core/connector';

const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const TOKEN = 'dnif-token-9f8e7d6c';

const valid = () => ({
  connectorName: 'prod-cloudtrail',
  awsAccessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  awsSecretAccessKey: SECRET_KEY,
  awsRegion: 'us-east-1',
  dnif: { url: 'https://dnif.example.net/ingest/events', token: TOKEN },
});

function problemsOf(input: unknown): { field: string; problem: string }[] {
  try {
    parseConnector(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectorValidationError);
    const e = err as ConnectorValidationError;
    // Whatever went wrong, no value of the input may appear in the error.
    for (const value of [SECRET_KEY, TOKEN, 'AKIAIOSFODNN7EXAMPLE']) expect(e.message).not.toContain(value);
    return e.problems;
  }
  throw new Error('expected the connector to be rejected');
}

describe('parseConnector', () => {
  it('accepts the SPEC example and folds dnif.token into bearer auth', () => {
    const c = parseConnector(JSON.stringify(valid()));
    expect(c.name).toBe('prod-cloudtrail');
    expect(c.regions).toEqual(['us-east-1']);
    expect(c.http).toEqual({
      url: 'https://dnif.example.net/ingest/events',
      auth: { type: 'bearer', token: TOKEN },
      format: 'json',
      gzip: false,
      flatten: false,
      headers: {},
    });
    expect(secretValuesOf(c)).toEqual(expect.arrayContaining([SECRET_KEY, TOKEN]));
  });

  it('takes awsRegions instead of awsRegion, and the four auth modes', () => {
    const c = parseConnector({
      ...valid(),
      awsRegion: undefined,
      awsRegions: ['us-east-1', 'eu-west-1', 'us-gov-west-1'],
      dnif: { url: 'https://d.example/events', auth: { type: 'hmac', header: 'X-Signature', secret: 's3cr3t-hmac' } },
    });
    expect(c.regions).toEqual(['us-east-1', 'eu-west-1', 'us-gov-west-1']);
    expect(c.http?.auth).toEqual({ type: 'hmac', header: 'X-Signature', secret: 's3cr3t-hmac', algorithm: 'sha256' });
    for (const auth of [
      { type: 'basic', username: 'u', password: 'p' },
      { type: 'header', name: 'X-Api-Key', value: 'v' },
      { type: 'bearer', token: 't' },
    ]) {
      expect(parseConnector({ ...valid(), dnif: { url: 'https://d.example/events', auth } }).http?.auth).toEqual(auth);
    }
  });

  it('allows plain http only for a loopback receiver', () => {
    expect(parseConnector({ ...valid(), dnif: { url: 'http://127.0.0.1:8080/events', token: TOKEN } }).http?.url).toBe('http://127.0.0.1:8080/events');
    expect(problemsOf({ ...valid(), dnif: { url: 'http://dnif.example.net/events', token: TOKEN } })).toEqual([
      { field: 'dnif.url', problem: expect.stringContaining('https://') },
    ]);
  });

  it('rejects text that is not JSON without quoting it', () => {
    expect(problemsOf(`{"awsSecretAccessKey": "${SECRET_KEY}"`)).toEqual([{ field: '(secret)', problem: 'is not valid JSON' }]);
    expect(problemsOf('[1,2]')).toEqual([{ field: '(secret)', problem: 'must be a JSON object' }]);
  });

  // The bad-input table: each case names the field at fault.
  const cases: [string, (c: Record<string, any>) => unknown, string, RegExp][] = [
    ['missing connectorName', (c) => ({ ...c, connectorName: undefined }), 'connectorName', /required/],
    ['empty connectorName', (c) => ({ ...c, connectorName: '' }), 'connectorName', /1-128/],
    ['unknown top-level field', (c) => ({ ...c, awsSecretKey: SECRET_KEY }), 'awsSecretKey', /not a known field/],
    ['unknown dnif field', (c) => ({ ...c, dnif: { ...c.dnif, tokn: TOKEN } }), 'dnif.tokn', /not a known field/],
    ['region with a trailing space', (c) => ({ ...c, awsRegion: 'us-east-1 ' }), 'awsRegion', /region code/],
    ['region in upper case', (c) => ({ ...c, awsRegion: 'US-EAST-1' }), 'awsRegion', /region code/],
    ['region that is no region', (c) => ({ ...c, awsRegion: 'mars-1' }), 'awsRegion', /region code/],
    ['no region at all', (c) => ({ ...c, awsRegion: undefined }), 'awsRegion', /required/],
    ['both awsRegion and awsRegions', (c) => ({ ...c, awsRegions: ['us-east-1'] }), 'awsRegions', /either/],
    ['a region listed twice', (c) => ({ ...c, awsRegion: undefined, awsRegions: ['eu-west-1', 'eu-west-1'] }), 'awsRegions', /twice/],
    ['access key of the wrong type', (c) => ({ ...c, awsAccessKeyId: 12345 }), 'awsAccessKeyId', /type string/],
    ['access key malformed', (c) => ({ ...c, awsAccessKeyId: 'akia-lower' }), 'awsAccessKeyId', /access key id/],
    ['secret key missing', (c) => ({ ...c, awsSecretAccessKey: undefined }), 'awsSecretAccessKey', /required when/],
    ['secret key too short', (c) => ({ ...c, awsSecretAccessKey: 'short' }), 'awsSecretAccessKey', /at least 16/],
    ['dnif missing', (c) => ({ ...c, dnif: undefined }), 'dnif', /required/],
    ['dnif.url missing', (c) => ({ ...c, dnif: { token: TOKEN } }), 'dnif.url', /required/],
    ['dnif.url malformed', (c) => ({ ...c, dnif: { url: 'not a url', token: TOKEN } }), 'dnif.url', /https/],
    ['dnif.url not https', (c) => ({ ...c, dnif: { url: 'ftp://dnif.example.net/', token: TOKEN } }), 'dnif.url', /https/],
    ['token empty', (c) => ({ ...c, dnif: { url: c.dnif.url, token: '' } }), 'dnif.token', /empty/],
    ['token and auth both', (c) => ({ ...c, dnif: { ...c.dnif, auth: { type: 'bearer', token: 'x' } } }), 'dnif.auth', /either/],
    ['unknown auth type', (c) => ({ ...c, dnif: { url: c.dnif.url, auth: { type: 'oauth', token: 'x' } } }), 'dnif.auth.type', /one of/],
    ['unknown format', (c) => ({ ...c, dnif: { ...c.dnif, format: 'xml' } }), 'dnif.format', /"json", "ndjson"/],
    ['gzip not boolean', (c) => ({ ...c, dnif: { ...c.dnif, gzip: 'yes' } }), 'dnif.gzip', /type boolean/],
    ['roleArn malformed', (c) => ({ ...c, roleArn: 'arn:aws:iam::123:user/x' }), 'roleArn', /role ARN/],
    ['externalId without roleArn', (c) => ({ ...c, externalId: 'abc123' }), 'externalId', /roleArn/],
    ['syslog port out of range', (c) => ({ ...c, dnif: { syslog: { host: 'h', port: 70000 } } }), 'dnif.syslog.port', /.+/],
    ['empty filter rule', (c) => ({ ...c, filters: { exclude: [{}] } }), 'filters.exclude.0', /needs eventSource/],
  ];

  it.each(cases)('%s → names the field', (_name, mutate, field, problem) => {
    const problems = problemsOf(mutate(valid()));
    expect(problems.map((p) => p.field)).toContain(field);
    expect(problems.find((p) => p.field === field)?.problem).toMatch(problem);
  });

  // Issue 11: the transport rules and bounds, each named by field, none echoing a value.
  const ALL_REGIONS = Array.from({ length: 41 }, (_, i) => `us-east-${i + 1}`);
  const issue11: [string, (c: Record<string, any>) => unknown, string, RegExp][] = [
    ['#6 a user and password in dnif.url', (c) => ({ ...c, dnif: { url: 'https://u:p4ssw0rd-9@dnif.example.net/events', token: TOKEN } }), 'dnif.url', /user name or password/],
    ['#6 only a user in dnif.url', (c) => ({ ...c, dnif: { url: 'https://someone@dnif.example.net/events', token: TOKEN } }), 'dnif.url', /user name or password/],
    ['#6 an unknown key that looks like a secret is named by position', (c) => ({ ...c, dnif: { ...c.dnif, ghp_16C7e42F292c6912E7710c838347Ae178B4a: 1 } }), 'dnif.(unknown key 1)', /not a known field/],
    ['#6 a secret access key pasted as a key', (c) => ({ ...c, [SECRET_KEY]: true }), '(unknown key 1)', /not a known field/],
    ['#7 http to a name that starts with 127.', (c) => ({ ...c, dnif: { url: 'http://127.attacker.example/events', token: TOKEN } }), 'dnif.url', /loopback IP/],
    ['#7 http to localhost (a name)', (c) => ({ ...c, dnif: { url: 'http://localhost:8080/events', token: TOKEN } }), 'dnif.url', /loopback IP/],
    ['#7 http to a private IP', (c) => ({ ...c, dnif: { url: 'http://10.0.0.5/events', token: TOKEN } }), 'dnif.url', /loopback IP/],
    ['#7 syslog without TLS to a host name', (c) => ({ ...c, dnif: { syslog: { host: 'adapter.example.net', port: 514, tls: false } } }), 'dnif.syslog.tls', /loopback IP/],
    ['#7 syslog without TLS to 127.x by name', (c) => ({ ...c, dnif: { syslog: { host: '127.0.0.1.nip.io', port: 514, tls: false } } }), 'dnif.syslog.tls', /loopback IP/],
    ['#8 a header name with a space', (c) => ({ ...c, dnif: { ...c.dnif, headers: { 'X Key': 'v' } } }), 'dnif.headers.(header 1)', /header name/],
    ['#8 a CR LF in a header value', (c) => ({ ...c, dnif: { ...c.dnif, headers: { 'X-Key': 'v\r\nX-Other: 1' } } }), 'dnif.headers.X-Key', /control characters/],
    ['#8 a NUL in a header value', (c) => ({ ...c, dnif: { ...c.dnif, headers: { 'X-Key': 'v\u0000w' } } }), 'dnif.headers.X-Key', /control characters/],
    ['#8 a header value beyond Latin-1', (c) => ({ ...c, dnif: { ...c.dnif, headers: { 'X-Key': 'schlüssel ✓' } } }), 'dnif.headers.X-Key', /Latin-1/],
    ['#8 a CR LF in the bearer token', (c) => ({ ...c, dnif: { url: c.dnif.url, token: 'tok\r\nX: 1' } }), 'dnif.token', /control characters/],
    ['#8 a LF in a header auth value', (c) => ({ ...c, dnif: { url: c.dnif.url, auth: { type: 'header', name: 'X-Api-Key', value: 'abc\n' } } }), 'dnif.auth.value', /control characters/],
    ...['Host', 'content-length', 'Transfer-Encoding', 'connection', 'Upgrade', 'TE', 'expect', 'Keep-Alive'].map(
      (h): [string, (c: Record<string, any>) => unknown, string, RegExp] => [`#8 the framing header ${h}`, (c) => ({ ...c, dnif: { ...c.dnif, headers: { [h]: 'x' } } }), `dnif.headers.${h}`, /frames the request/],
    ),
    ['#8 Authorization beside bearer auth', (c) => ({ ...c, dnif: { ...c.dnif, headers: { authorization: 'Bearer other' } } }), 'dnif.headers.authorization', /dnif.auth sets/],
    ['#8 the shared-secret header twice', (c) => ({ ...c, dnif: { url: c.dnif.url, auth: { type: 'header', name: 'X-Api-Key', value: 'v' }, headers: { 'x-api-key': 'w' } } }), 'dnif.headers.x-api-key', /dnif.auth sets/],
    ['#8 the HMAC header twice', (c) => ({ ...c, dnif: { url: c.dnif.url, auth: { type: 'hmac', header: 'X-Sig', secret: 'sss' }, headers: { 'X-SIG': 'w' } } }), 'dnif.headers.(header 1)', /dnif.auth sets/],
    ['#9 more regions than AWS has', (c) => ({ ...c, awsRegion: undefined, awsRegions: ALL_REGIONS }), 'awsRegions', /at most 40/],
    ['#9 too many filter rules', (c) => ({ ...c, filters: { include: Array.from({ length: 101 }, () => ({ eventName: 'Get*' })) } }), 'filters.include', /at most 100/],
    ['#9 a pattern too long', (c) => ({ ...c, filters: { exclude: [{ eventName: `${'a'.repeat(300)}*` }] } }), 'filters.exclude.0.eventName', /at most 256/],
    ['#10 a basic username with a colon', (c) => ({ ...c, dnif: { url: c.dnif.url, auth: { type: 'basic', username: 'ops:team', password: 'pw-123456' } } }), 'dnif.auth.username', /":" \(RFC 7617\)/],
  ];

  it.each(issue11)('issue 11 %s → names the field', (_name, mutate, field, problem) => {
    const problems = problemsOf(mutate(valid()));
    expect(problems.map((p) => p.field)).toContain(field);
    expect(problems.find((p) => p.field === field)?.problem).toMatch(problem);
    for (const p of problems) for (const v of ['p4ssw0rd-9', 'ghp_16C7e42F292c6912E7710c838347Ae178B4a', 'Bearer other', 'ops:team']) expect(`${p.field} ${p.problem}`).not.toContain(v);
  });

  it('issue 11 #7: plain http and syslog without TLS to a loopback IP, only with DNIF_ALLOW_LOOPBACK_PLAINTEXT=1', () => {
    const saved = process.env.DNIF_ALLOW_LOOPBACK_PLAINTEXT;
    try {
      for (const url of ['http://127.0.0.1:8080/events', 'http://127.8.9.10/events', 'http://[::1]:8080/events']) {
        process.env.DNIF_ALLOW_LOOPBACK_PLAINTEXT = '1';
        expect(parseConnector({ ...valid(), dnif: { url, token: TOKEN } }).http?.url).toBe(url);
        delete process.env.DNIF_ALLOW_LOOPBACK_PLAINTEXT;
        expect(problemsOf({ ...valid(), dnif: { url, token: TOKEN } })).toEqual([{ field: 'dnif.url', problem: expect.stringContaining('DNIF_ALLOW_LOOPBACK_PLAINTEXT=1') }]);
      }
      process.env.DNIF_ALLOW_LOOPBACK_PLAINTEXT = '1';
      expect(parseConnector({ ...valid(), dnif: { syslog: { host: '127.0.0.1', port: 514, tls: false } } }).syslog).toMatchObject({ tls: false, maxMessageBytes: 8192 });
      process.env.DNIF_ALLOW_LOOPBACK_PLAINTEXT = 'true';
      expect(problemsOf({ ...valid(), dnif: { syslog: { host: '127.0.0.1', port: 514, tls: false } } }).map((p) => p.field)).toEqual(['dnif.syslog.tls']);
    } finally {
      process.env.DNIF_ALLOW_LOOPBACK_PLAINTEXT = saved;
    }
  });

  it('issue 11 #3: dnif.syslog.maxMessageBytes defaults to 8192 and is bounded', () => {
    const syslog = { host: 'adapter.example.net', port: 6514 };
    expect(parseConnector({ ...valid(), dnif: { syslog } }).syslog?.maxMessageBytes).toBe(8192);
    expect(parseConnector({ ...valid(), dnif: { syslog: { ...syslog, maxMessageBytes: 65536 } } }).syslog?.maxMessageBytes).toBe(65536);
    expect(problemsOf({ ...valid(), dnif: { syslog: { ...syslog, maxMessageBytes: 100 } } })).toEqual([{ field: 'dnif.syslog.maxMessageBytes', problem: 'must be at least 1024' }]);
  });

  it('issue 11 #5: the URL user part and query values and the basic credential are secret values', () => {
    const c = parseConnector({ ...valid(), dnif: { url: 'https://dnif.example.net/events?key=q-9f8e7d6c5b', auth: { type: 'basic', username: 'fwd', password: 'pw-123456789' } } });
    expect(secretValuesOf(c)).toEqual(expect.arrayContaining(['q-9f8e7d6c5b', 'pw-123456789', Buffer.from('fwd:pw-123456789').toString('base64')]));
  });

  it('reports every bad field at once', () => {
    const problems = problemsOf({ connectorName: '', awsRegion: 'mars-1', dnif: { url: 'x' } });
    expect(problems.map((p) => p.field).sort()).toEqual(['awsRegion', 'connectorName', 'dnif.token', 'dnif.url']);
  });
});
