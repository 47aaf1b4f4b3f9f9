/**
 * The connector options of issue 7 as the schema sees them: regions, role, filters, syslog,
 * and the rule that a connector has one DNIF destination (dnif.url or dnif.syslog).
 */
import { ConnectorValidationError, parseConnector, secretValuesOf } from '../../functions/core/connector';
import { createSink } from '../../functions/core/sink/create-sink';
import { HttpSink } from '../../functions/core/sink/http-sink';
import { SyslogSink } from '../../functions/core/sink/syslog-sink';

const KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const PEM_CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n';

const base = (dnif: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  connectorName: 'multi',
  awsAccessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  awsSecretAccessKey: KEY,
  awsRegions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
  ...extra,
  dnif,
});
const syslog = { host: 'adapter.example.net', port: 6514, tls: true, ca: PEM_CERT, cert: PEM_CERT, key: PEM_KEY };

function problems(input: unknown): Array<{ field: string; problem: string }> {
  try {
    parseConnector(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectorValidationError);
    const message = (err as Error).message;
    for (const secret of [KEY, PEM_KEY, 'tok-123']) expect(message).not.toContain(secret);
    return (err as ConnectorValidationError).problems;
  }
  throw new Error('expected a validation error');
}

describe('connector options', () => {
  it('takes regions, a role with an external id, filters and a syslog destination', () => {
    const c = parseConnector(
      base(
        { syslog },
        {
          roleArn: 'arn:aws:iam::444455556666:role/dnif-cloudtrail-reader',
          externalId: 'dnif-7f3a',
          filters: { include: [{ eventSource: '*.amazonaws.com' }], exclude: [{ eventName: 'Describe*', readOnly: true }] },
        },
      ),
    );
    expect(c.regions).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-2']);
    expect(c.aws).toMatchObject({ roleArn: 'arn:aws:iam::444455556666:role/dnif-cloudtrail-reader', externalId: 'dnif-7f3a' });
    expect(c.syslog).toEqual({ ...syslog, maxMessageBytes: 8192 });
    expect(c.http).toBeUndefined();
    expect(c.filters.exclude).toEqual([{ eventName: 'Describe*', readOnly: true }]);
    expect(secretValuesOf(c)).toContain(PEM_KEY);
    expect(createSink(c)).toBeInstanceOf(SyslogSink);
  });

  it('defaults syslog to TLS, and plain TCP (to a loopback IP, in tests) takes no TLS material', () => {
    expect(parseConnector(base({ syslog: { host: 'h', port: 514 } })).syslog?.tls).toBe(true);
    expect(parseConnector(base({ syslog: { host: '127.0.0.1', port: 514, tls: false } })).syslog).toEqual({ host: '127.0.0.1', port: 514, tls: false, maxMessageBytes: 8192 });
    expect(problems(base({ syslog: { host: '127.0.0.1', port: 514, tls: false, ca: PEM_CERT } }))).toEqual([{ field: 'dnif.syslog.ca', problem: 'applies only with dnif.syslog.tls true' }]);
    expect(problems(base({ syslog: { host: 'h', port: 514, tls: false } })).map((p) => p.field)).toEqual(['dnif.syslog.tls']);
  });

  it('rejects dnif.url and dnif.syslog together, naming the field', () => {
    expect(problems(base({ url: 'https://dnif.example.net/events', token: 'tok-123', syslog }))).toEqual([
      { field: 'dnif.syslog', problem: 'give either dnif.url or dnif.syslog, not both' },
      { field: 'dnif.token', problem: 'applies to dnif.url only, not to dnif.syslog' },
    ]);
  });

  it('rejects HTTP-only settings next to dnif.syslog', () => {
    const found = problems(base({ syslog, auth: { type: 'basic', username: 'u', password: 'p' }, gzip: true, format: 'ndjson', headers: { 'X-Key': 'v' } }));
    expect(found.map((p) => p.field).sort()).toEqual(['dnif.auth', 'dnif.format', 'dnif.gzip', 'dnif.headers']);
  });

  it('wants the client certificate and its key together', () => {
    expect(problems(base({ syslog: { ...syslog, key: undefined } }))).toEqual([{ field: 'dnif.syslog.key', problem: 'is required with dnif.syslog.cert' }]);
    expect(problems(base({ syslog: { ...syslog, cert: undefined } }))).toEqual([{ field: 'dnif.syslog.cert', problem: 'is required with dnif.syslog.key' }]);
    expect(problems(base({ syslog: { ...syslog, key: 'not pem' } }))).toEqual([{ field: 'dnif.syslog.key', problem: 'must be a PEM string' }]);
    expect(problems(base({ syslog: { ...syslog, port: 0 } }))[0].field).toBe('dnif.syslog.port');
    expect(problems(base({ syslog: { ...syslog, hostname: 'x' } }))).toEqual([{ field: 'dnif.syslog.hostname', problem: 'is not a known field' }]);
  });

  it('still builds the HTTP sink for dnif.url', () => {
    expect(createSink(parseConnector(base({ url: 'https://dnif.example.net/events', token: 'tok-123' })))).toBeInstanceOf(HttpSink);
  });

  it('names filter rules and role fields that are wrong', () => {
    expect(problems(base({ syslog }, { filters: { include: [{ eventSource: '' }] } }))[0].field).toBe('filters.include.0.eventSource');
    expect(problems(base({ syslog }, { filters: { drop: [] } }))).toEqual([{ field: 'filters.drop', problem: 'is not a known field' }]);
    expect(problems(base({ syslog }, { filters: { exclude: [{ readOnly: 'yes' }] } }))[0]).toEqual({ field: 'filters.exclude.0.readOnly', problem: 'must be of type boolean' });
    expect(problems(base({ syslog }, { roleArn: 'arn:aws:iam::444455556666:role/r', externalId: 'x' }))).toEqual([{ field: 'externalId', problem: 'must be 2-1224 characters' }]);
  });
});
