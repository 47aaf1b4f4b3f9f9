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
  // The provider refreshes the role's credentials before they expire (SDK memoization).
  return fromTemporaryCredentials({
    params: {
      RoleArn: aws.roleArn,
      ExternalId: aws.externalId,
      RoleSessionName: 'cloudtrail-dnif-forwarder',
      DurationSeconds: 3600,
    },
    masterCredentials: keys,
    clientConfig: { region },
  });
}

/** A stable label for the account behind the credentials, to key the per-account rate limiter. */
export function accountKeyOf(aws: AwsAccess): string {
  return aws.roleArn ?? aws.accessKeyId ?? 'function-role';
}
