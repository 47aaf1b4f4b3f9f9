/**
 * The string CloudTrail signs for each digest file. AWS, "Validating CloudTrail log file integrity
 * with custom implementations", section D "Recreate the Data Signing String":
 *
 *   Data_To_Sign_String =
 *     Digest_End_Timestamp_in_UTC_Extended_format + '\n' +
 *     Current_Digest_File_S3_Path + '\n' +
 *     Hex(Sha256(current-digest-file-content)) + '\n' +
 *     Previous_digest_signature_in_hex
 *
 * The S3 path is `<digestS3Bucket>/<digestS3Object>` (AWS's example and Java sample), the content is
 * the uncompressed digest file, and a null previous signature (first digest of a chain) is the
 * text `null`, as the AWS CLI's validate-logs writes it "to match the Java implementation".
 */
import type { DigestFile } from './digest-file';

export function dataSigningString(digest: DigestFile, contentSha256Hex: string): string {
  return [
    digest.digestEndTime,
    `${digest.digestS3Bucket}/${digest.digestS3Object}`,
    contentSha256Hex.toLowerCase(),
    digest.previousDigestSignature ?? 'null',
  ].join('\n');
}
