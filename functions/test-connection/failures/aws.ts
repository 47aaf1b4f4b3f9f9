/**
 * AWS SDK errors (and those of resolving credentials) as test-connection codes. Which codes mean
 * throttling, a bad key, a bad signature or an expired token is core/errors/aws.ts's to say.
 * Messages name codes, regions, actions and AWS's own access-denied text, never a value.
 */
import { EXPIRED_TOKEN_CODES, SIGNATURE_CODES, THROTTLE_CODES, UNKNOWN_KEY_CODES } from '../../core/errors/aws';
import { NETWORK_ERROR_CODES } from '../../core/errors/network';
import { DNIF, isTimeout, unknownFailure, type ErrorShape, type Failure } from './failure';

/** What was being done when an AWS call failed: shapes the message and names the IAM action. */
export interface AwsContext {
  /** e.g. `cloudtrail:LookupEvents`, `sts:GetCallerIdentity`, `sts:AssumeRole`. */
  action: string;
  /** The region the call was signed for. */
  region: string;
  /** Set when the credentials come from assuming this role. */
  roleArn?: string;
}

/** Thrown by our wrapper around the assume-role provider, so a failure names sts:AssumeRole. */
export class RoleAssumptionError extends Error {
  constructor(
    readonly roleArn: string,
    readonly cause: unknown,
  ) {
    super(`Could not assume role ${roleArn}`);
    this.name = 'RoleAssumptionError';
  }
}

const SYSCALL_CODE = /\b(?:getaddrinfo|connect|read|write) (E[A-Z_]+)(?: (\S+))?/;

function awsCodeOf(e: ErrorShape): string {
  // Network errors come through the SDK as plain Errors with a Node `code`...
  if (e.code && /^E[A-Z_]+$|^UND_ERR/.test(e.code)) return e.code;
  // ...or, when the thrown value is not an Error of the SDK's realm, as smithy's
  // "AWS SDK error wrapper for Error: getaddrinfo ENOTFOUND <host>" with only the text left.
  const fromText = e.name === 'Error' && !e.code ? SYSCALL_CODE.exec(e.message ?? '') : null;
  if (fromText) return fromText[1];
  return e.Code ?? e.name ?? e.code ?? 'Error';
}

function hostnameOf(e: ErrorShape): string | undefined {
  if (e.hostname) return e.hostname;
  const m = SYSCALL_CODE.exec(e.message ?? '');
  return m?.[1] === 'ENOTFOUND' || m?.[1] === 'EAI_AGAIN' ? m[2] : undefined;
}

const KEY_HINT =
  'Check awsAccessKeyId in the connector: copy it again from IAM (Security credentials of the user), and make sure the key is Active and not deleted.';

/** Map an error from an AWS SDK call (or from resolving its credentials) to a code a user can act on. */
export function classifyAwsError(err: unknown, ctx: AwsContext): Failure {
  if (err instanceof RoleAssumptionError) {
    const inner = classifyAwsError(err.cause, { action: 'sts:AssumeRole', region: ctx.region, roleArn: err.roleArn });
    return { ...inner, message: `Could not assume role ${err.roleArn}: ${inner.message}` };
  }
  const e = (err ?? {}) as ErrorShape;
  const awsCode = awsCodeOf(e);
  const status = e.$metadata?.httpStatusCode;
  const who = ctx.action === 'sts:AssumeRole' ? 'The credentials used to assume the role' : 'The connector\'s AWS credentials';

  if (isTimeout(e)) {
    return {
      code: 'AwsTimeout',
      message: `AWS did not answer ${ctx.action} in ${ctx.region} in time`,
      hint: 'Try again. If it keeps timing out, check that the function can reach AWS endpoints (a VPC needs a NAT gateway or VPC endpoints).',
      dnifMessage: DNIF.timeout,
      cause: awsCode,
    };
  }
  if (e.name === 'CredentialsProviderError') {
    return {
      code: 'NoCredentials',
      message: 'No AWS credentials: the connector has no awsAccessKeyId/awsSecretAccessKey and the function\'s own role gave none',
      hint: 'Add awsAccessKeyId and awsSecretAccessKey to the connector, or give roleArn, or run the function with a role allowed to call cloudtrail:LookupEvents.',
      dnifMessage: DNIF.credentials,
      cause: awsCode,
    };
  }
  if (awsCode === 'ENOTFOUND' || awsCode === 'EndpointError' || /Region not accepted|Invalid region/i.test(e.message ?? '')) {
    const hostname = hostnameOf(e);
    const host = hostname ? ` (${hostname} does not resolve)` : '';
    return {
      code: 'InvalidRegion',
      message: `Region ${ctx.region} has no ${serviceOf(ctx.action)} endpoint${host}: it is not an AWS region`,
      hint: `Check awsRegion/awsRegions: use a region code such as us-east-1 or eu-west-1, exactly as the AWS console lists it.`,
      dnifMessage: DNIF.configuration,
      cause: awsCode,
    };
  }
  if (NETWORK_ERROR_CODES.has(awsCode)) {
    return {
      code: 'AwsUnreachable',
      message: `Could not reach the AWS ${serviceOf(ctx.action)} endpoint for ${ctx.region} (${awsCode})`,
      hint: 'Check that the function has a network path to AWS: in a VPC, a NAT gateway or an interface VPC endpoint for the service.',
      dnifMessage: DNIF.unableToConnect,
      cause: awsCode,
    };
  }
  if (UNKNOWN_KEY_CODES.has(awsCode)) {
    return {
      code: 'InvalidAccessKey',
      message: `AWS does not recognise the access key id (${awsCode} from ${ctx.action} in ${ctx.region})`,
      hint: `${KEY_HINT} A key also fails this way in an opt-in region that is not enabled for the account.`,
      dnifMessage: DNIF.credentials,
      cause: awsCode,
    };
  }
  if (SIGNATURE_CODES.has(awsCode)) {
    if (/scoped to a valid region/i.test(e.message ?? '')) {
      return {
        code: 'InvalidRegion',
        message: `AWS refused requests signed for region ${ctx.region}: it is not a valid region (${awsCode})`,
        hint: 'Check awsRegion/awsRegions: use a region code such as us-east-1 or eu-west-1.',
        dnifMessage: DNIF.configuration,
        cause: awsCode,
      };
    }
    return {
      code: 'SignatureMismatch',
      message: `AWS knows the access key id but the secret access key does not match it (${awsCode})`,
      hint: 'Check awsSecretAccessKey: paste it again without spaces or line breaks. IAM shows a secret key only once; if it is lost, create a new access key.',
      dnifMessage: DNIF.credentials,
      cause: awsCode,
    };
  }
  if (EXPIRED_TOKEN_CODES.has(awsCode)) {
    return {
      code: 'ExpiredToken',
      message: `${who} have expired (${awsCode})`,
      hint: 'Temporary credentials (awsSessionToken) expire: use a long-term access key of an IAM user, or roleArn so the function assumes a role itself.',
      dnifMessage: DNIF.credentials,
      cause: awsCode,
    };
  }
  if (awsCode === 'AccessDenied' || awsCode === 'AccessDeniedException') {
    return {
      code: 'AccessDenied',
      message: `Not allowed to call ${ctx.action} in ${ctx.region}: ${e.message ?? awsCode}`,
      hint:
        ctx.action === 'sts:AssumeRole'
          ? 'The role\'s trust policy must allow these credentials to call sts:AssumeRole (and require the externalId if one is given), and their own policy must allow sts:AssumeRole on the role.'
          : `Grant ${ctx.action} to the ${ctx.roleArn ? 'role' : 'IAM user or role'} (the AWS managed policy AWSCloudTrail_ReadOnlyAccess includes it). Check SCPs and any aws:RequestedRegion condition for ${ctx.region}.`,
      dnifMessage: DNIF.credentials,
      cause: awsCode,
    };
  }
  if (awsCode === 'RegionDisabledException' || awsCode === 'OptInRequired') {
    return {
      code: 'RegionNotEnabled',
      message: `Region ${ctx.region} is not enabled for this account (${awsCode})`,
      hint: 'Enable the region in the AWS account settings (opt-in regions), or remove it from awsRegions.',
      dnifMessage: DNIF.configuration,
      cause: awsCode,
    };
  }
  if (THROTTLE_CODES.has(awsCode)) {
    return {
      code: 'Throttled',
      message: `AWS throttled ${ctx.action} in ${ctx.region} (2 requests per second per account and region, shared with the forwarder)`,
      hint: 'Try again in a few seconds. The credentials and permissions were not rejected.',
      dnifMessage: DNIF.requestFailed(status ?? 400, awsCode),
      cause: awsCode,
    };
  }
  if (status !== undefined) {
    return {
      code: 'AwsServiceError',
      message: `${ctx.action} in ${ctx.region} failed: HTTP ${status} ${awsCode}`,
      hint: status >= 500 ? 'AWS had a transient problem: try again.' : 'See the AWS error code in `cause`.',
      dnifMessage: DNIF.requestFailed(status, awsCode),
      cause: awsCode,
    };
  }
  return unknownFailure(err, `${ctx.action} in ${ctx.region}`);
}

function serviceOf(action: string): string {
  const prefix = action.split(':')[0];
  return prefix === 'sts' ? 'STS' : prefix === 'cloudtrail' ? 'CloudTrail' : prefix;
}
