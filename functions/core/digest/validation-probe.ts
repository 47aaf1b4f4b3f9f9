/**
 * For test connection: is log file validation on for the trail (digest files present under the
 * prefix), and can the audit read and verify them with the connector's access? Looks at one
 * account-region only (the first found), so it stays quick on an organization of any size.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { PublicKeyDirectory } from './public-keys';
import { checkSignature, fetchDigest } from './digest-check';
import { digestFolders, listDigestKeys } from './digest-listing';

export interface ValidationProbe {
  /** Digest files exist for the account-region looked at. */
  validationOn: boolean;
  /** The newest digest looked at, and how old it is. */
  digestKey?: string;
  digestAgeMinutes?: number;
  /** It could be read and its signature verified with CloudTrail's public key. */
  verified?: boolean;
  problem?: string;
}

/** Throws the AWS error when listing, reading or ListPublicKeys is refused. */
export async function probeLogFileValidation(s3: S3Client, bucket: string, prefix: string, keys: PublicKeyDirectory, nowMs = Date.now()): Promise<ValidationProbe> {
  const folder = (await digestFolders(s3, bucket, prefix).next()).value;
  if (!folder) return { validationOn: false, problem: 'no CloudTrail-Digest folder under the prefix: log file validation is off, or the prefix is wrong' };
  const newest = (await listDigestKeys(s3, bucket, folder, nowMs - 2 * 86_400_000, nowMs)).at(-1);
  if (!newest) return { validationOn: false, problem: `no digest file in the last 2 days for ${folder.account} ${folder.region}: log file validation is off or the trail stopped` };
  const base = { validationOn: true, digestKey: newest.key, digestAgeMinutes: Math.round((nowMs - newest.endMs) / 60_000) };
  const fetched = await fetchDigest(s3, bucket, newest.key);
  if (!fetched) return { ...base, verified: false, problem: 'the digest file disappeared while being read' };
  const checked = await checkSignature(fetched, folder.region, keys);
  return checked.signatureProblem ? { ...base, verified: false, problem: checked.signatureProblem } : { ...base, verified: true };
}
