/**
 * The AWS checks behind the test-connection URL (SPEC.md, "Test connection"), each answering
 * `{ name, ok, code, message, hint, dnifMessage? }` plus details. They use the same shared
 * code as the forwarder (credentialsFor, createCloudTrailClient, HttpSink) so a passing
 * check means the forwarder's own calls will pass. The DNIF check is in dnif-checks.ts.
 */
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsAccess, Connector } from '../core/connector';
import { createCloudTrailClient } from '../core/source/cloudtrail-source';
import { credentialsFor, type CloudTrailCredentials } from '../core/source/credentials';
import { isThrottleError } from '../core/errors/aws';
import { retry } from '../core/retry';
import { classifyAwsError, DNIF, RoleAssumptionError, type Failure } from './error-codes';
import { failedCheck, passedCheck, timed, type CheckResult } from './check-result';

export { errorOf, failedCheck, passedCheck, timed, type CheckName, type CheckResult, type TrailCheckName } from './check-result';

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
        return await retry(
          async () => {
            const out = await client.send(new LookupEventsCommand({ MaxResults: 1 }), { abortSignal: signal });
            const newest = out.Events?.[0]?.EventTime;
            const seen = newest ? ` (newest event in Event history: ${newest.toISOString()})` : ' (Event history is empty)';
            return passedCheck('cloudtrail', `cloudtrail:LookupEvents is allowed in ${region}${seen}`, { region });
          },
          {
            maxAttempts: 6,
            isRetryable: (err) => isThrottleError(err) && !signal.aborted,
            backoff: (attempt) => 400 + Math.round(Math.random() * 400) + attempt * 300,
            deadline: { allows: (ms) => Date.now() + ms <= giveUpAt },
            signal,
          },
        );
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

export { dnifHttpCheck, dnifSyslogCheck } from './dnif-checks';
export { originOf } from '../core/sink/http-sink';
