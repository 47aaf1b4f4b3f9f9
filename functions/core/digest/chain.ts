/**
 * The digest chain: each digest names the digest before it (`previousDigestS3Bucket/Object`) with
 * that digest's signature and SHA-256, so a deleted or replaced digest breaks a link. A digest with
 * no previous digest starts a chain (trail created, logging or validation turned back on): that is
 * a gap, reported, not an integrity failure. Backfill digests carry their own links and are checked
 * the same way.
 */
import type { DigestFile } from './digest-file';

/** What the audit learnt about the digest a link points to. */
export type Predecessor =
  | { found: true; signatureHex: string | undefined; contentSha256Hex: string }
  | { found: false };

/** Why a link is broken, or undefined when it holds (or there is no link to check). */
export function brokenLink(digest: DigestFile, predecessor: Predecessor): string | undefined {
  if (!digest.previousDigestS3Object || !digest.previousDigestSignature) return undefined;
  const where = `s3://${digest.previousDigestS3Bucket}/${digest.previousDigestS3Object}`;
  if (!predecessor.found) return `previous digest ${where} is missing`;
  if ((predecessor.signatureHex ?? '').toLowerCase() !== digest.previousDigestSignature.toLowerCase()) {
    return `previous digest ${where} has a different signature than this digest records`;
  }
  if (digest.previousDigestHashValue && predecessor.contentSha256Hex !== digest.previousDigestHashValue.toLowerCase()) {
    return `previous digest ${where} has a different SHA-256 than this digest records`;
  }
  return undefined;
}
