/**
 * Which AWS identity reads CloudTrail: the connector's keys, a role assumed with them (or with
 * the function's own role), or the function's own role when the connector has neither.
 */
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { AwsAccess } from '../connector';

export type CloudTrailCredentials = AwsCredentialIdentity | AwsCredentialIdentityProvider | undefined;

export function credentialsFor(aws: AwsAccess, region: string): CloudTrailCredentials {
  const keys: AwsCredentialIdentity | undefined =
    aws.accessKeyId && aws.secretAccessKey
      ? { accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey, sessionToken: aws.sessionToken }
      : undefined;
  if (!aws.roleArn) return keys; // undefined: the SDK's default chain (the function's role)
  // The client memoizes this provider and calls it again 5 minutes before the role's
  // credentials expire, so a long run keeps reading with fresh ones.
  const roleArn = aws.roleArn;
  const assume = fromTemporaryCredentials({
    params: {
      RoleArn: roleArn,
      ExternalId: aws.externalId,
      RoleSessionName: 'cloudtrail-dnif-forwarder',
      DurationSeconds: 3600,
    },
    masterCredentials: keys,
    clientConfig: { region },
  });
  return async (props) => {
    try {
      return await assume(props);
    } catch (err) {
      // Say which step failed: the error surfaces from LookupEvents, but AssumeRole refused.
      const e = err as Error;
      e.message = `Could not assume role ${roleArn} (${e.message}); check roleArn, externalId and the role's trust policy`;
      throw e;
    }
  };
}

/**
 * The key of the LookupEvents limiter these credentials share: the role ARN or access key id
 * (not an AWS account id: two keys of one account get two limiters, as before).
 */
export function limiterKeyOf(aws: AwsAccess): string {
  return aws.roleArn ?? aws.accessKeyId ?? 'function-role';
}
