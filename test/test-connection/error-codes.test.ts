/**
 * Error → code mapping, unit level: AWS errors as the SDK throws them (through
 * aws-sdk-client-mock where a check drives a client), HttpSink's errors, and the docs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { ConnectorValidationError, parseConnector } from '../../functions/core/connector';
import { SecretReadError } from '../../functions/core/secret';
import { SinkRejectedError, SinkUnavailableError } from '../../functions/core/sink/errors';
import { describeNetworkError, networkErrorCode } from '../../functions/core/sink/http-sink';
import { awsCredentialsCheck, cloudTrailCheck } from '../../functions/test-connection/checks';
import {
  blameOf,
  classifyAwsError,
  classifyConnectorError,
  classifyDnifHttpError,
  CODES,
  DNIF,
  RoleAssumptionError,
} from '../../functions/test-connection/error-codes';

/** An error shaped as the SDK throws a modelled service error. */
function awsError(name: string, status: number, message = `${name} message`) {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}
/** A socket-level failure as the SDK passes it through. */
function netError(code: string, hostname?: string) {
  return Object.assign(new Error(`getaddrinfo ${code} ${hostname ?? ''}`.trim()), { code, hostname, $metadata: {} });
}

const ctx = { action: 'cloudtrail:LookupEvents', region: 'eu-west-1' };

describe('classifyAwsError', () => {
  it.each([
    ['InvalidClientTokenId', 403, 'InvalidAccessKey'],
    ['UnrecognizedClientException', 400, 'InvalidAccessKey'],
    ['SignatureDoesNotMatch', 403, 'SignatureMismatch'],
    ['InvalidSignatureException', 400, 'SignatureMismatch'],
    ['AccessDenied', 403, 'AccessDenied'],
    ['AccessDeniedException', 400, 'AccessDenied'],
    ['ExpiredToken', 400, 'ExpiredToken'],
    ['ExpiredTokenException', 400, 'ExpiredToken'],
    ['RegionDisabledException', 403, 'RegionNotEnabled'],
    ['ThrottlingException', 400, 'Throttled'],
    ['Throttling', 400, 'Throttled'],
    ['InternalFailure', 500, 'AwsServiceError'],
    ['ServiceUnavailable', 503, 'AwsServiceError'],
  ])('%s (HTTP %i) → %s', (name, status, code) => {
    const f = classifyAwsError(awsError(name, status), ctx);
    expect(f.code).toBe(code);
    expect(f.cause).toBe(name);
    expect(f.hint).not.toBe('');
    expect(blameOf(f.code)).toBe('remote');
  });

  it('a signature scoped to a region AWS does not have → InvalidRegion, not SignatureMismatch', () => {
    const f = classifyAwsError(awsError('InvalidSignatureException', 400, "Credential should be scoped to a valid region, not 'xx-fake-1'."), { ...ctx, region: 'xx-fake-1' });
    expect(f).toMatchObject({ code: 'InvalidRegion', dnifMessage: DNIF.configuration });
  });

  it('DNS failure of the regional endpoint → InvalidRegion naming the host', () => {
    const f = classifyAwsError(netError('ENOTFOUND', 'cloudtrail.xx-fake-1.amazonaws.com'), { ...ctx, region: 'xx-fake-1' });
    expect(f).toMatchObject({ code: 'InvalidRegion', cause: 'ENOTFOUND' });
    expect(f.message).toBe('Region xx-fake-1 has no CloudTrail endpoint (cloudtrail.xx-fake-1.amazonaws.com does not resolve): it is not an AWS region');
  });

  it('the same DNS failure wrapped by smithy (only the text left) is still recognised', () => {
    const wrapped = Object.assign(new Error('AWS SDK error wrapper for Error: getaddrinfo ENOTFOUND sts.xx-fake-1.amazonaws.com'), { $metadata: {} });
    const f = classifyAwsError(wrapped, { action: 'sts:GetCallerIdentity', region: 'xx-fake-1' });
    expect(f).toMatchObject({ code: 'InvalidRegion', cause: 'ENOTFOUND' });
    expect(f.message).toContain('no STS endpoint (sts.xx-fake-1.amazonaws.com does not resolve)');
  });

  it.each(['ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNRESET'])('%s → AwsUnreachable', (code) => {
    expect(classifyAwsError(netError(code), ctx)).toMatchObject({ code: 'AwsUnreachable', dnifMessage: DNIF.unableToConnect, cause: code });
  });

  it('timeouts → AwsTimeout with "Request Timeout"', () => {
    for (const name of ['TimeoutError', 'AbortError', 'CheckTimeoutError']) {
      expect(classifyAwsError(Object.assign(new Error('t'), { name }), ctx)).toMatchObject({ code: 'AwsTimeout', dnifMessage: DNIF.timeout });
    }
  });

  it('no credentials anywhere → NoCredentials', () => {
    const f = classifyAwsError(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), ctx);
    expect(f).toMatchObject({ code: 'NoCredentials', dnifMessage: DNIF.credentials });
  });

  it('AccessDenied names the action; an assume-role failure names sts:AssumeRole and the role', () => {
    const denied = awsError('AccessDeniedException', 400, 'User: arn:aws:iam::1:user/u is not authorized to perform: cloudtrail:LookupEvents');
    expect(classifyAwsError(denied, ctx).message).toContain('Not allowed to call cloudtrail:LookupEvents in eu-west-1');
    const roleArn = 'arn:aws:iam::123456789012:role/r';
    const f = classifyAwsError(new RoleAssumptionError(roleArn, awsError('AccessDenied', 403)), ctx);
    expect(f.code).toBe('AccessDenied');
    expect(f.message).toMatch(/^Could not assume role arn:aws:iam::123456789012:role\/r: Not allowed to call sts:AssumeRole/);
    expect(f.hint).toContain('trust policy');
  });

  it('anything else is Unknown (500) and keeps the error for the log only', () => {
    const err = new TypeError('x is undefined');
    const f = classifyAwsError(err, ctx);
    expect(f).toMatchObject({ code: 'Unknown', dnifMessage: DNIF.unknown });
    expect(f.error).toBe(err);
    expect(blameOf('Unknown')).toBe('internal');
  });
});

describe('classifyDnifHttpError', () => {
  const target = 'https://dnif.example.net';

  it('401 and 403 → DnifAuthRejected; other 4xx and 5xx → DnifRejected, in DNIF\'s words', () => {
    expect(classifyDnifHttpError(new SinkRejectedError(401, 'Unauthorized'), target)).toMatchObject({
      code: 'DnifAuthRejected',
      status: 401,
      dnifMessage: 'Request Failed - response code: 401, reason: Unauthorized',
    });
    expect(classifyDnifHttpError(new SinkRejectedError(403, 'Forbidden'), target).code).toBe('DnifAuthRejected');
    expect(classifyDnifHttpError(new SinkRejectedError(400, 'Bad Request'), target)).toMatchObject({ code: 'DnifRejected', status: 400 });
    expect(classifyDnifHttpError(new SinkUnavailableError('DNIF did not accept the batch after 1 attempts: HTTP 503', 1, 503), target)).toMatchObject({
      code: 'DnifRejected',
      status: 503,
      dnifMessage: 'Request Failed - response code: 503, reason: unknown',
    });
  });

  // What HttpSink throws after a network failure: its text and the code (networkErrorCode).
  const unavailable = (cause: unknown) =>
    new SinkUnavailableError(`DNIF did not accept the batch after 1 attempts: ${describeNetworkError(cause)}`, 1, undefined, networkErrorCode(cause));

  it.each(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'])(
    '%s → DnifTlsError',
    (code) => {
      const f = classifyDnifHttpError(unavailable(Object.assign(new TypeError('fetch failed'), { cause: { code } })), target);
      expect(f).toMatchObject({ code: 'DnifTlsError', cause: code, dnifMessage: DNIF.unableToConnect });
    },
  );

  it.each(['ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'ECONNRESET', 'UND_ERR_CONNECT_TIMEOUT'])('%s → DnifUnreachable', (code) => {
    const f = classifyDnifHttpError(unavailable(Object.assign(new TypeError('fetch failed'), { cause: { code } })), target);
    expect(f).toMatchObject({ code: 'DnifUnreachable', cause: code, dnifMessage: DNIF.unableToConnect });
  });

  it('a request that timed out → DnifTimeout with "Request Timeout"', () => {
    const f = classifyDnifHttpError(unavailable(Object.assign(new Error('aborted'), { name: 'TimeoutError' })), target);
    expect(f).toMatchObject({ code: 'DnifTimeout', cause: 'ETIMEDOUT', dnifMessage: 'Request Timeout' });
  });

  it('pins the text HttpSink writes (describeNetworkError) and the code it keeps beside it (networkErrorCode)', () => {
    expect(describeNetworkError({ name: 'TypeError', cause: { code: 'ECONNREFUSED' } })).toBe('network error ECONNREFUSED');
    expect(describeNetworkError({ name: 'TimeoutError' })).toBe('request timed out');
    expect(networkErrorCode({ name: 'TypeError', cause: { code: 'CERT_HAS_EXPIRED' } })).toBe('CERT_HAS_EXPIRED');
    expect(networkErrorCode({ name: 'TimeoutError' })).toBe('ETIMEDOUT_REQUEST');
  });
});

describe('classifyConnectorError', () => {
  it('maps secret read errors and validation errors', () => {
    expect(classifyConnectorError(new SecretReadError('SecretNotFound', 'Secret s (SECRET_ID) was not found'), 'secret', 's').code).toBe('SecretNotFound');
    expect(classifyConnectorError(new SecretReadError('SecretAccessDenied', 'no'), 'secret', 's')).toMatchObject({ code: 'SecretAccessDenied', dnifMessage: DNIF.credentials });
    expect(classifyConnectorError(new SecretReadError('SecretNotString', 'binary'), 'secret', 's')).toMatchObject({ code: 'InvalidConnector', field: '(secret)' });
    expect(classifyConnectorError(new SecretReadError('SecretUnreadable', 'x'), 'secret', 's').code).toBe('SecretUnreadable');
    const invalid = new ConnectorValidationError([{ field: 'dnif.url', problem: 'is required (or give dnif.syslog)' }]);
    expect(classifyConnectorError(invalid, 'request')).toMatchObject({
      code: 'InvalidConnector',
      field: 'dnif.url',
      message: 'The connector in the request body is invalid: dnif.url is required (or give dnif.syslog)',
    });
    expect(blameOf('InvalidConnector')).toBe('request');
  });
});

describe('every code', () => {
  const vocabulary = [DNIF.configuration, DNIF.credentials, DNIF.unableToConnect, DNIF.timeout, DNIF.unknown];

  it('is documented in docs/test-connection.md', () => {
    const doc = readFileSync(path.resolve(__dirname, '../../docs/test-connection.md'), 'utf8');
    const missing = CODES.filter((c) => !doc.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });

  it('DNIF\'s vocabulary is exactly the six messages', () => {
    expect(vocabulary).toEqual(['Configuration Error', 'Credentials error', 'Unable to connect', 'Request Timeout', 'Unknown Error']);
    expect(DNIF.requestFailed(401, 'Unauthorized')).toBe('Request Failed - response code: 401, reason: Unauthorized');
  });
});

describe('checks over mocked SDK clients', () => {
  const cloudTrail = mockClient(CloudTrailClient);
  const sts = mockClient(STSClient);
  const connector = parseConnector({
    connectorName: 'unit',
    awsAccessKeyId: 'AKIAUNITTESTKEY00001',
    awsSecretAccessKey: 'unit-test-secret-key-0123456789',
    awsRegions: ['xx-fake-1', 'eu-west-1'],
    dnif: { url: 'https://dnif.example.net/events', token: 'unit-token' },
  });

  afterEach(() => {
    cloudTrail.reset();
    sts.reset();
  });
  afterAll(() => {
    cloudTrail.restore();
    sts.restore();
  });

  it.each([
    ['UnrecognizedClientException', 400, 'InvalidAccessKey'],
    ['InvalidSignatureException', 400, 'SignatureMismatch'],
    ['AccessDeniedException', 400, 'AccessDenied'],
    ['ExpiredTokenException', 400, 'ExpiredToken'],
  ])('LookupEvents failing with %s → %s', async (name, status, code) => {
    cloudTrail.on(LookupEventsCommand).rejects(awsError(name, status));
    const c = await cloudTrailCheck(connector, 'eu-west-1', 2_000);
    expect(c).toMatchObject({ name: 'cloudtrail', ok: false, code, region: 'eu-west-1', cause: name });
  });

  it('asks for one event only', async () => {
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [] });
    expect((await cloudTrailCheck(connector, 'eu-west-1', 2_000)).ok).toBe(true);
    expect(cloudTrail.commandCalls(LookupEventsCommand)[0].args[0].input).toEqual({ MaxResults: 1 });
  });

  it('throttling is retried; when it persists past the bound the answer is Throttled, not a timeout', async () => {
    cloudTrail.on(LookupEventsCommand).rejects(awsError('ThrottlingException', 400));
    const t = Date.now();
    const c = await cloudTrailCheck(connector, 'eu-west-1', 1_500);
    expect(c).toMatchObject({ ok: false, code: 'Throttled', dnifMessage: 'Request Failed - response code: 400, reason: ThrottlingException' });
    expect(cloudTrail.commandCalls(LookupEventsCommand).length).toBeGreaterThan(1);
    expect(Date.now() - t).toBeLessThan(1_600);
  });

  it('a call that never answers → AwsTimeout at the bound', async () => {
    cloudTrail.on(LookupEventsCommand).callsFake(() => new Promise(() => undefined));
    const t = Date.now();
    const c = await cloudTrailCheck(connector, 'eu-west-1', 300);
    expect(c).toMatchObject({ ok: false, code: 'AwsTimeout', dnifMessage: 'Request Timeout' });
    expect(Date.now() - t).toBeLessThan(1_000);
  });

  it('GetCallerIdentity: a region without an endpoint is skipped for the next one', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejectsOnce(netError('ENOTFOUND', 'sts.xx-fake-1.amazonaws.com'))
      .resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/unit', UserId: 'AIDAUNIT' });
    const c = await awsCredentialsCheck(connector, 2_000);
    expect(c).toMatchObject({ ok: true, accountId: '123456789012', arn: 'arn:aws:iam::123456789012:user/unit', region: 'eu-west-1' });
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(2);
  });

  it('GetCallerIdentity: a credential error is final (no other region is tried)', async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError('InvalidClientTokenId', 403));
    const c = await awsCredentialsCheck(connector, 2_000);
    expect(c).toMatchObject({ ok: false, code: 'InvalidAccessKey', region: 'xx-fake-1' });
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(1);
  });
});
