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

  it('reports every bad field at once', () => {
    const problems = problemsOf({ connectorName: '', awsRegion: 'mars-1', dnif: { url: 'x' } });
    expect(problems.map((p) => p.field).sort()).toEqual(['awsRegion', 'connectorName', 'dnif.token', 'dnif.url']);
  });
});
