/**
 * The checks behind the test-connection URL (SPEC.md, "Test connection"), each answering
 * `{ name, ok, code, message, hint, dnifMessage? }` plus details. They use the same shared
 * code as the forwarder (credentialsFor, createCloudTrailClient, HttpSink) so a passing
 * check means the forwarder's own calls will pass.
 */
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsAccess, Connector, FieldProblem, HttpTarget, SyslogTarget } from '../core/connector';
import { HttpSink, originOf } from '../core/sink/http-sink';
import { headerField } from '../core/sink/rfc5424';
import { sendConfirmed } from '../core/sink/syslog-session';
import { createCloudTrailClient } from '../core/source/cloudtrail-source';
import { credentialsFor, type CloudTrailCredentials } from '../core/source/credentials';
import { Deadline } from '../core/time';
import {
  classifyAwsError,
  classifyDnifHttpError,
  classifySyslogError,
  DNIF,
  RoleAssumptionError,
  type Code,
  type Failure,
} from './error-codes';
import { sleep, withTimeout } from './timeout';

export type CheckName = 'request' | 'secret' | 'connector' | 'awsCredentials' | 'regions' | 'cloudtrail' | 'dnif' | TrailCheckName;
/** The trail-file source's checks (s3-checks.ts). */
export type TrailCheckName = 'trailBucket' | 'trailFile' | 'trailKms' | 'trailQueue' | 'trailDigests';

export interface CheckResult {
  name: CheckName;
  ok: boolean;
  code: Code;
  message: string;
  hint: string;
  dnifMessage?: string;
  /** Details; present where they apply. */
  region?: string;
  regions?: string[];
  accountId?: string;
  arn?: string;
  /** DNIF's scheme://host:port (never the path or query, which may carry a token). */
  target?: string;
  transport?: 'http' | 'syslog';
  field?: string;
  problems?: FieldProblem[];
  /** The raw AWS error code or network/TLS error code behind `code`. */
  cause?: string;
  /** HTTP status DNIF answered with. */
  status?: number;
  /** Non-failing advice. */
  warnings?: string[];
  durationMs: number;
}

/** The unexpected error behind a check, kept off the JSON (non-enumerable) for the log. */
export const errorOf = (c: CheckResult): unknown => (c as { error?: unknown }).error;

/** A failed check, in the documented key order. */
export function failedCheck(name: CheckName, f: Failure, details: Partial<CheckResult> = {}, durationMs = 0): CheckResult {
  const check: CheckResult = {
    name,
    ok: false,
    code: f.code,
    message: f.message,
    hint: f.hint,
    dnifMessage: f.dnifMessage,
    ...details,
    ...(f.field !== undefined ? { field: f.field } : {}),
    ...(f.problems !== undefined ? { problems: f.problems } : {}),
    ...(f.cause !== undefined ? { cause: f.cause } : {}),
    ...(f.status !== undefined ? { status: f.status } : {}),
    durationMs,
  };
  if (f.error !== undefined) Object.defineProperty(check, 'error', { value: f.error, enumerable: false });
  return check;
}

export function passedCheck(name: CheckName, message: string, details: Partial<CheckResult> = {}, durationMs = 0, hint = ''): CheckResult {
  return { name, ok: true, code: 'OK', message, hint, ...details, durationMs };
}

/** Time one check: run it within `timeoutMs`; a timeout or a throw becomes a failed check. */
export async function timed(
  timeoutMs: number,
  run: (signal: AbortSignal) => Promise<Omit<CheckResult, 'durationMs'>>,
  onError: (err: unknown) => CheckResult,
): Promise<CheckResult> {
  const start = Date.now();
  let result: CheckResult;
  try {
    result = { ...(await withTimeout(timeoutMs, run)), durationMs: 0 };
  } catch (err) {
    result = onError(err);
  }
  result.durationMs = Date.now() - start;
  return result;
}

// ---------------------------------------------------------------------------------------------
// AWS

const AWS_HTTP = { connectionTimeout: 3_000, requestTimeout: 5_000 };

/**
 * Credentials exactly as the forwarder builds them for a region, but an assume-role failure
 * is tagged (RoleAssumptionError) so the check names sts:AssumeRole rather than the call
 * that needed the credentials.
 */
export function checkCredentials(aws: AwsAccess, region: string): CloudTrailCredentials {
  const base = credentialsFor(aws, region);
  if (!aws.roleArn || typeof base !== 'function') return base;
  const roleArn = aws.roleArn;
  let pending: ReturnType<typeof base> | undefined;
  return (props) =>
    (pending ??= base(props).catch((err: unknown) => {
      throw new RoleAssumptionError(roleArn, err);
    }));
}

/** The partition's home region: where STS is tried when none of the connector's regions works. */
function homeRegionOf(region: string): string {
  if (region.startsWith('cn-')) return 'cn-north-1';
  if (region.startsWith('us-gov-')) return 'us-gov-west-1';
  return 'us-east-1';
}

/**
 * STS GetCallerIdentity with the connector's credentials (after AssumeRole when roleArn is
 * set). Needs no IAM permission, so a failure is about the credentials themselves. Signed
 * for the connector's first region; if that region has no endpoint, the next one is tried,
 * then the partition's home region, so a region typo does not hide whether the keys work.
 */
export function awsCredentialsCheck(connector: Connector, timeoutMs: number): Promise<CheckResult> {
  const aws = connector.aws;
  const candidates = [...new Set([...connector.regions, homeRegionOf(connector.regions[0])])];
  const who = aws.roleArn ? `role ${aws.roleArn}` : aws.accessKeyId ? 'the access key' : 'the function\'s own role';
  return timed(
    timeoutMs,
    async (signal) => {
      let first: Failure | undefined;
      for (const region of candidates) {
        const client = new STSClient({ region, credentials: checkCredentials(aws, region), maxAttempts: 1, requestHandler: AWS_HTTP });
        try {
          const out = await client.send(new GetCallerIdentityCommand({}), { abortSignal: signal });
          return passedCheck(
            'awsCredentials',
            `AWS accepted the credentials of ${who}: ${out.Arn} (account ${out.Account})`,
            { accountId: out.Account, arn: out.Arn, region },
          );
        } catch (err) {
          if (signal.aborted) throw err;
          const failure = classifyAwsError(err, { action: 'sts:GetCallerIdentity', region, roleArn: aws.roleArn });
          first ??= failure;
          if (failure.code !== 'InvalidRegion') return failedCheck('awsCredentials', failure, { region });
        } finally {
          client.destroy();
        }
      }
      return failedCheck('awsCredentials', first as Failure, { region: candidates[0] });
    },
    (err) => failedCheck('awsCredentials', classifyAwsError(err, { action: 'sts:GetCallerIdentity', region: candidates[0], roleArn: aws.roleArn })),
  );
}

const isThrottle = (err: unknown): boolean => {
  const name = (err as { name?: string })?.name;
  return name === 'ThrottlingException' || name === 'Throttling' || name === 'TooManyRequestsException';
};

/**
 * LookupEvents with MaxResults 1 in one region, with the credentials the forwarder would
 * use there. Throttling (the 2/s quota is shared with the forwarder) is retried while time
 * allows: it says nothing about the connector.
 */
export function cloudTrailCheck(connector: Connector, region: string, timeoutMs: number): Promise<CheckResult> {
  const ctx = { action: 'cloudtrail:LookupEvents', region, roleArn: connector.aws.roleArn };
  return timed(
    timeoutMs,
    async (signal) => {
      // Keep the last throttling error rather than let the bound turn it into a timeout.
      const giveUpAt = Date.now() + timeoutMs - 250;
      const client = createCloudTrailClient(region, checkCredentials(connector.aws, region));
      try {
        for (let attempt = 0; ; attempt++) {
          try {
            const out = await client.send(new LookupEventsCommand({ MaxResults: 1 }), { abortSignal: signal });
            const newest = out.Events?.[0]?.EventTime;
            const seen = newest ? ` (newest event in Event history: ${newest.toISOString()})` : ' (Event history is empty)';
            return passedCheck('cloudtrail', `cloudtrail:LookupEvents is allowed in ${region}${seen}`, { region });
          } catch (err) {
            const delay = 400 + Math.round(Math.random() * 400) + attempt * 300;
            if (!isThrottle(err) || signal.aborted || attempt >= 5 || Date.now() + delay > giveUpAt) throw err;
            await sleep(delay, signal);
          }
        }
      } finally {
        client.destroy();
      }
    },
    (err) => failedCheck('cloudtrail', classifyAwsError(err, ctx), { region }),
  );
}

const COMMERCIAL = (r: string) => !/^(cn-|us-gov-|us-iso)/.test(r);

/**
 * Region codes: their form is checked by the connector schema; whether they exist shows in
 * the LookupEvents calls (a made-up region has no endpoint: DNS fails). Adds a warning,
 * never a failure, when us-east-1 is missing: global services (IAM, STS, console sign-in)
 * record their events there only.
 */
export function regionsCheck(connector: Connector, cloudTrail: CheckResult[]): CheckResult {
  const regions = connector.regions;
  const warnings: string[] = [];
  if (!regions.includes('us-east-1') && regions.some(COMMERCIAL)) {
    warnings.push(
      'us-east-1 is not in the connector\'s regions: events of global services (IAM, STS, console sign-in) are recorded in us-east-1 only. Add it to awsRegions to forward them.',
    );
  }
  const hint = warnings.length ? 'Consider adding us-east-1 to awsRegions (see warnings).' : '';
  const bad = cloudTrail.filter((c) => c.code === 'InvalidRegion' || c.code === 'RegionNotEnabled');
  const durationMs = Math.max(0, ...cloudTrail.map((c) => c.durationMs));
  if (bad.length === 0) {
    return passedCheck('regions', `Region${regions.length > 1 ? 's' : ''} ${regions.join(', ')} valid`, { regions, ...(warnings.length ? { warnings } : {}) }, durationMs, hint);
  }
  const first = bad[0];
  const names = bad.map((c) => c.region).join(', ');
  const notEnabled = bad.every((c) => c.code === 'RegionNotEnabled');
  return failedCheck(
    'regions',
    {
      code: notEnabled ? 'RegionNotEnabled' : 'InvalidRegion',
      message: notEnabled ? `Not enabled for the account: ${names}` : `Not valid AWS regions: ${names}`,
      hint: [first.hint, hint].filter(Boolean).join(' '),
      dnifMessage: DNIF.configuration,
      cause: first.cause,
    },
    { regions, ...(warnings.length ? { warnings } : {}) },
    durationMs,
  );
}

// ---------------------------------------------------------------------------------------------
// DNIF

export { originOf };

/**
 * DNIF over HTTP: POST an empty batch (`[]`, or an empty body for ndjson) with the configured
 * auth, format and gzip, through the forwarder's own HttpSink, once (no retries). An empty
 * batch is the harmless probe: it proves the URL is reachable, TLS is valid and the token is
 * accepted, and adds no event to DNIF (docs/test-connection.md).
 */
export function dnifHttpCheck(http: HttpTarget, timeoutMs: number): Promise<CheckResult> {
  const target = originOf(http.url);
  const details = { target, transport: 'http' as const };
  // HttpSink times the request itself (and says "timed out"); `timed` is only the backstop.
  const requestMs = Math.max(1, timeoutMs - 250);
  return timed(
    timeoutMs,
    async () => {
      const sink = new HttpSink(http, { maxAttempts: 1, requestTimeoutMs: requestMs, userAgent: 'cloudtrail-dnif-forwarder/0.1 (test-connection)' });
      await sink.post(sink.encode([]), new Deadline(Date.now() + requestMs, 0));
      return passedCheck('dnif', `DNIF at ${target} accepted the test request (an empty batch, ${http.auth.type} auth${http.gzip ? ', gzip' : ''})`, details);
    },
    (err) => failedCheck('dnif', classifyDnifHttpError(err, target), details),
  );
}

/** The probe's settle times: the sink's defaults, shorter where the answer is due within seconds. */
const PROBE_TIMINGS = { handshakeSettleMs: 250, confirmSettleMs: 100 };

/**
 * DNIF over syslog: what the sink does for a batch, with no event (syslog-session.ts): connect
 * (TLS with ca/cert/key), watch for a refusal after the handshake, close and wait for the
 * Adapter's answer, the confirmation every batch needs. Plain TCP (loopback receivers only) sends
 * one test message, since a TLS listener takes a silent plain connection and its close quietly;
 * over TLS nothing is sent.
 */
export function dnifSyslogCheck(syslog: SyslogTarget, timeoutMs: number, connectorName = 'test-connection'): Promise<CheckResult> {
  const target = `${syslog.tls ? 'tls' : 'tcp'}://${syslog.host}:${syslog.port}`;
  const details = { target, transport: 'syslog' as const };
  return timed(
    timeoutMs,
    async () => {
      const bytes = syslog.tls ? Buffer.alloc(0) : testMessage(connectorName);
      const budget = Math.max(1, timeoutMs - 100);
      const { protocol } = await sendConfirmed(
        syslog,
        bytes,
        { ...PROBE_TIMINGS, connectTimeoutMs: budget, writeTimeoutMs: budget, closeTimeoutMs: budget },
        new Deadline(Date.now() + budget, 0),
      );
      return passedCheck(
        'dnif',
        syslog.tls
          ? `DNIF at ${target} completed a TLS handshake (${protocol}) and confirmed a clean close; no message was sent`
          : `DNIF at ${target} took a test message over TCP and confirmed it with a clean close`,
        details,
      );
    },
    (err) => failedCheck('dnif', classifySyslogError(err, target), details),
  );
}

/** One RFC 5424 message saying what it is (MSGID test-connection), octet-counted. */
function testMessage(connectorName: string): Buffer {
  const msg = `<134>1 ${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')} ${headerField(connectorName, 255)} cloudtrail - test-connection - {"dnifForwarder":{"connectorName":${JSON.stringify(connectorName)},"testConnection":true}}`;
  const body = Buffer.from(msg, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
