/**
 * The dead-letter path of the S3 source end to end as AWS runs it: trail files land in the S3 stand-in, S3 notifications
 * reach the SQS stand-in (visibility 6x the function timeout, maxReceiveCount 5 to a DLQ), the
 * event source mapping stand-in invokes the real handler (ReportBatchItemFailures, two pollers,
 * duplicate deliveries), DNIF receives. The SQS clock runs 60x (a 30 s function timeout is 0.5 s, visibility 3 s) so five receives take seconds.
 */
import { buildTrailFiles, putTrailFiles, StandInClock } from '../../standins';
import { useStandIns } from '../helpers/standins';
import { clearQueueEnv, queueSetUp, settle } from '../helpers/queue-setup';
import { captureStdout } from '../helpers/forwarder-harness';

const SCALE = 60;
const env = useStandIns({ sqsClock: new StandInClock({ scale: SCALE }) });
const ACCOUNTS = ['111111111111', '222222222222', '333333333333'];
const KEY_ARN = 'arn:aws:kms:us-east-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const setUp = (beforeStart?: (bucket: string) => void) => queueSetUp(env(), { beforeStart });

describe('S3 source through SQS and the event source mapping', () => {
  afterAll(clearQueueEnv);

  it('sends KMS-denied and corrupt objects to the DLQ after their receives, with the code in the error log; the rest is delivered', async () => {
    const { s, bucket, dlq, esm, stop } = setUp();
    try {
      const [good, kms, corrupt] = buildTrailFiles({ accountIds: ACCOUNTS.slice(0, 1), regions: ['us-east-1'], from: new Date('2026-12-01T00:00:00Z'), hours: 0.25, seed: 22 });
      s.registry.deny(s.connectorUser.accessKeyId, 'kms:Decrypt');
      const { output } = await captureStdout(async () => {
        putTrailFiles(s.s3, bucket, [good]);
        putTrailFiles(s.s3, bucket, [kms], { kmsKeyArn: KEY_ARN });
        s.s3.putObject(bucket, corrupt.key, Buffer.from('{"Records":[{"eventID":'));
        await esm.waitFor(() => s.sqs.counts(dlq).total === 2, { timeoutMs: 50_000, what: 'two messages in the DLQ' });
        await settle(esm);
      });
      s.registry.allow(s.connectorUser.accessKeyId, 'kms:Decrypt');
      expect(s.dnif.eventsById().size).toBe(good.records.length);
      const dead = s.sqs.messages(dlq).map((m) => m.body);
      expect(dead.some((b) => b.includes(encodeURIComponent(kms.key.split('/').pop() ?? '')) || b.includes(kms.key.split('/').pop() ?? ''))).toBe(true);
      const errors = output.split('\n').filter((l) => l.includes('Trail file not forwarded')).map((l) => JSON.parse(l) as Record<string, string>);
      expect(errors.some((e) => e.key === kms.key && e.code === 'KMSAccessDenied' && e.bucket === bucket)).toBe(true);
      expect(errors.some((e) => e.key === corrupt.key && e.code === 'CorruptJson')).toBe(true);
    } finally {
      await stop();
    }
  });

});
