/**
 * Test connection for the trail-file source (SOURCE=s3): the bucket is readable (ListObjectsV2
 * on the trail prefix), the newest log file can be read and is a trail file (GetObject, which
 * also proves kms:Decrypt for SSE-KMS files), log file validation is on and the audit can verify
 * the digests (trail-digests-check.ts), and the queue is reachable. The same S3 client
 * and reader as the S3 forwarder, so a passing check means the forwarder's reads will pass.
 */
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Connector } from '../core/connector';
import { newestTrailFile } from '../core/source/trail-files/list-trail-files';
import { ObjectReadError, openTrailObject } from '../core/source/trail-files/object-reader';
import { s3ClientFor } from '../core/source/trail-files/s3-client';
import { failedCheck, passedCheck, timed, type CheckResult } from './checks';
import { trailDigestsCheck } from './trail-digests-check';
import { classifyAwsError, DNIF, type Failure } from './error-codes';

export interface TrailConfig {
  bucket: string;
  prefix: string;
  queueUrl?: string;
}

/** TRAIL_BUCKET, TRAIL_PREFIX, TRAIL_QUEUE_URL as the stack sets them; undefined unless SOURCE=s3. */
export function trailConfigFrom(env: Record<string, string | undefined> = process.env): TrailConfig | undefined {
  if (env.SOURCE !== 's3' || !env.TRAIL_BUCKET) return undefined;
  return { bucket: env.TRAIL_BUCKET, prefix: (env.TRAIL_PREFIX ?? '').replace(/^\/+|\/+$/g, ''), queueUrl: env.TRAIL_QUEUE_URL || undefined };
}

export async function trailChecks(connector: Connector, trail: TrailConfig, timeoutMs: number): Promise<CheckResult[]> {
  const region = connector.regions[0];
  const s3 = s3ClientFor(connector);
  const where = `s3://${trail.bucket}/${trail.prefix ? `${trail.prefix}/` : ''}AWSLogs/`;
  let newest: { key: string } | undefined;
  const bucket = await timed(
    timeoutMs,
    async () => {
      newest = await newestTrailFile(s3, trail.bucket, trail.prefix, region);
      if (!newest) {
        return failedCheck('trailBucket', {
          code: 'NoTrailFiles',
          message: `${where} is readable but holds no CloudTrail log file`,
          hint: 'Check TRAIL_PREFIX (-c trailPrefix): it is the trail\'s S3 key prefix, without AWSLogs/. A new trail writes its first file within about 5 minutes.',
          dnifMessage: DNIF.configuration,
        });
      }
      return passedCheck('trailBucket', `s3:ListBucket is allowed on ${where}; newest log file ${newest.key}`);
    },
    (err) => failedCheck('trailBucket', classifyS3Error(err, 's3:ListBucket', region)),
  );
  const file = newest
    ? await timed(
        timeoutMs,
        async () => {
          const opened = await openTrailObject(s3, trail.bucket, (newest as { key: string }).key);
          let first = await opened.records.next();
          while (!first.done && first.value.length === 0) first = await opened.records.next();
          await opened.records.return(undefined);
          return passedCheck('trailFile', `Read ${(newest as { key: string }).key}: a trail file${first.done ? ' with no records' : ''}; s3:GetObject (and kms:Decrypt, if the trail uses SSE-KMS) allowed`);
        },
        (err) => failedCheck('trailFile', classifyS3Error(err, 's3:GetObject', region)),
      )
    : undefined;
  const checks = [bucket, ...(file ? [file] : [])];
  if (bucket.ok) checks.push(await trailDigestsCheck(connector, trail, timeoutMs));
  if (trail.queueUrl) checks.push(await queueCheck(trail.queueUrl, timeoutMs));
  return checks;
}

/** The queue the notifications reach, read with the function's own role. */
function queueCheck(queueUrl: string, timeoutMs: number): Promise<CheckResult> {
  const region = /sqs\.([a-z0-9-]+)\./.exec(queueUrl)?.[1] ?? process.env.AWS_REGION ?? 'us-east-1';
  return timed(
    timeoutMs,
    async (signal) => {
      const client = new SQSClient({ region, maxAttempts: 1 });
      try {
        const out = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }), { abortSignal: signal });
        const a = out.Attributes ?? {};
        return passedCheck('trailQueue', `The trail-file queue is reachable: ${a.ApproximateNumberOfMessages ?? '?'} waiting, ${a.ApproximateNumberOfMessagesNotVisible ?? '?'} in flight`);
      } finally {
        client.destroy();
      }
    },
    (err) => {
      const name = (err as { name?: string }).name ?? '';
      if (/QueueDoesNotExist|NonExistentQueue/.test(name)) {
        return failedCheck('trailQueue', { code: 'QueueNotFound', message: `The queue ${queueUrl} does not exist`, hint: 'Redeploy the stack: TRAIL_QUEUE_URL names the queue it created.', dnifMessage: DNIF.configuration, cause: name });
      }
      return failedCheck('trailQueue', classifyAwsError(err, { action: 'sqs:GetQueueAttributes', region }));
    },
  );
}

function classifyS3Error(err: unknown, action: string, region: string): Failure {
  if (err instanceof ObjectReadError) {
    switch (err.code) {
      case 'KMSAccessDenied':
        return { code: 'KmsAccessDenied', message: err.message, hint: 'Allow kms:Decrypt on the trail\'s KMS key to the reader (-c trailKmsKeyArn, and the key policy in the log-archive account: docs/deploy.md).', dnifMessage: DNIF.credentials, cause: err.code };
      case 'NoSuchBucket':
        return { code: 'NoSuchBucket', message: err.message, hint: 'Check TRAIL_BUCKET (-c trailBucket): the trail\'s bucket name.', dnifMessage: DNIF.configuration, cause: err.code };
      case 'CorruptGzip':
      case 'CorruptJson':
        return { code: 'CorruptTrailFile', message: err.message, hint: 'The newest file under the prefix is not a CloudTrail log file: check TRAIL_PREFIX.', dnifMessage: DNIF.configuration, cause: err.code };
      case 'AccessDenied':
        return { code: 'AccessDenied', message: err.message, hint: `Allow ${action} on the trail prefix to the reader (the connector's keys or roleArn, else the function's role): docs/deploy.md.`, dnifMessage: DNIF.credentials, cause: err.code };
      default:
        return { code: 'AwsServiceError', message: err.message, hint: 'S3 had a problem serving the object: try again.', dnifMessage: DNIF.unknown, cause: err.code };
    }
  }
  const name = (err as { name?: string }).name;
  if (name === 'InvalidAccessKeyId') return classifyAwsError(Object.assign(err as object, { name: 'InvalidClientTokenId' }), { action, region });
  return classifyAwsError(err, { action, region });
}
