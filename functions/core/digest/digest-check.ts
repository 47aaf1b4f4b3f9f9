/**
 * Reads one digest file and checks that CloudTrail signed it: the object is where the digest says
 * it was written, the key named by its fingerprint exists in its region, and the SHA256withRSA
 * signature in `x-amz-meta-signature` verifies over AWS's data signing string.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { hashUncompressed } from './content-hash';
import { DigestFormatError, parseDigestFile, type DigestFile } from './digest-file';
import type { PublicKeyDirectory } from './public-keys';
import { verifyDigestSignature } from './signature';
import { dataSigningString } from './signing-string';

/** A digest object as read from S3, before any judgement. */
export interface FetchedDigest {
  bucket: string;
  key: string;
  /** `x-amz-meta-signature` (hex). */
  signatureHex?: string;
  signatureAlgorithm?: string;
  contentSha256Hex: string;
  content: Buffer;
}

export interface CheckedDigest extends FetchedDigest {
  digest?: DigestFile;
  /** Why the digest is not CloudTrail's (its log file list is then not trusted), if it is not. */
  signatureProblem?: string;
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound']);

/** The digest object, or undefined when S3 says it does not exist. */
export async function fetchDigest(s3: S3Client, bucket: string, key: string): Promise<FetchedDigest | undefined> {
  let res;
  try {
    res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    if (NOT_FOUND.has((err as Error).name)) return undefined;
    throw err;
  }
  const hashed = await hashUncompressed(res.Body as AsyncIterable<Uint8Array>, { keep: true });
  return {
    bucket,
    key,
    signatureHex: res.Metadata?.['signature'],
    signatureAlgorithm: res.Metadata?.['signature-algorithm'],
    contentSha256Hex: hashed.sha256Hex,
    content: hashed.content ?? Buffer.alloc(0),
  };
}

export async function checkSignature(fetched: FetchedDigest, region: string, keys: PublicKeyDirectory): Promise<CheckedDigest> {
  let digest: DigestFile;
  try {
    digest = parseDigestFile(fetched.content);
  } catch (err) {
    if (err instanceof DigestFormatError) return { ...fetched, signatureProblem: err.message };
    throw err;
  }
  const invalid = (signatureProblem: string): CheckedDigest => ({ ...fetched, digest, signatureProblem });
  // A valid digest copied elsewhere must not vouch for other objects (AWS: "retrieved from its original location").
  if (digest.digestS3Bucket !== fetched.bucket || digest.digestS3Object !== fetched.key) {
    return invalid(`digest was written as s3://${digest.digestS3Bucket}/${digest.digestS3Object}, not at this location`);
  }
  if (!fetched.signatureHex) return invalid('digest object has no x-amz-meta-signature');
  const algorithm = fetched.signatureAlgorithm ?? digest.digestSignatureAlgorithm;
  if (algorithm && algorithm !== 'SHA256withRSA') return invalid(`unsupported signature algorithm ${algorithm}`);
  const key = await keys.find(region, digest.digestPublicKeyFingerprint);
  if (!key) return invalid(`CloudTrail lists no public key ${digest.digestPublicKeyFingerprint} in ${region}`);
  if (!verifyDigestSignature(dataSigningString(digest, fetched.contentSha256Hex), fetched.signatureHex, key)) {
    return invalid('signature does not verify');
  }
  return { ...fetched, digest };
}
