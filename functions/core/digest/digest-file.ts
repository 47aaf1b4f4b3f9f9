/**
 * A CloudTrail digest file (the hourly, RSA-signed list of log files with their SHA-256), as
 * "CloudTrail digest file structure" documents it. Parsing checks only what the audit relies on;
 * every problem names the field.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';

const text = z.string().check(z.minLength(1, 'must not be empty'));
const nullableText = z.nullable(z.optional(z.string()));
const hex = (what: string) => z.string().check(z.regex(/^[0-9a-fA-F]+$/, `must be a hex ${what}`));

const logFileSchema = z.object({
  s3Bucket: text,
  s3Object: text,
  hashValue: hex('SHA-256'),
  hashAlgorithm: z.optional(z.string()),
  newestEventTime: nullableText,
  oldestEventTime: nullableText,
});

const digestSchema = z.object({
  awsAccountId: text,
  digestStartTime: text,
  digestEndTime: z.string().check(z.refine((v) => !Number.isNaN(Date.parse(v)), 'must be a UTC timestamp')),
  digestS3Bucket: text,
  digestS3Object: text,
  digestPublicKeyFingerprint: hex('fingerprint'),
  digestSignatureAlgorithm: z.optional(z.string()),
  newestEventTime: nullableText,
  oldestEventTime: nullableText,
  // All four are null on the first digest of a chain (trail created, logging or validation restarted).
  previousDigestS3Bucket: nullableText,
  previousDigestS3Object: nullableText,
  previousDigestHashValue: nullableText,
  previousDigestHashAlgorithm: nullableText,
  previousDigestSignature: nullableText,
  logFiles: z.array(logFileSchema),
});

export type DigestLogFile = z.output<typeof logFileSchema>;
export type DigestFile = z.output<typeof digestSchema>;

export class DigestFormatError extends Error {
  constructor(readonly field: string, problem: string) {
    super(`Digest file is malformed: ${field} ${problem}`);
    this.name = 'DigestFormatError';
  }
}

/** Parses the uncompressed digest content; throws DigestFormatError naming the first bad field. */
export function parseDigestFile(content: Buffer | string): DigestFile {
  let json: unknown;
  try {
    json = JSON.parse(typeof content === 'string' ? content : content.toString('utf8'));
  } catch {
    throw new DigestFormatError('(file)', 'is not JSON');
  }
  const result = digestSchema.safeParse(json, { error: en().localeError });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new DigestFormatError(issue?.path.join('.') || '(file)', issue?.message ?? 'is invalid');
}

/** True when the digest starts a chain: CloudTrail links nothing before it. */
export function startsChain(d: DigestFile): boolean {
  return !d.previousDigestS3Object || !d.previousDigestSignature;
}
