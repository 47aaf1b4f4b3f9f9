/**
 * The dead-letter path of the S3 source end to end as AWS runs it: trail files land in the S3 stand-in, S3 notifications
 * reach the SQS stand-in (visibility 6x the function timeout, maxReceiveCount 5 to a DLQ), the
 * event source mapping stand-in invokes the real handler (ReportBatchItemFailures, two pollers,
 * duplicate deliveries), DNIF receives. The SQS clock runs 60x (a 30 s function timeout is 0.5 s, visibility 3 s) so five receives take seconds.
 */
import { handler, resetS3ForwarderState } from '../../../functions/s3-forwarder/handler';
import { resetSecretCache } from '../../../functions/core/secret';
import {
  buildTrailFiles, putTrailFiles, routeNotifications, StandInClock, startEventSourceMapping, type EventSourceMapping,
} from '../../../standins';
import { useStandIns } from '../../helpers/standins';
import { captureStdout } from '../harness';

const SCALE = 60;
const TIMEOUT_S = 30;
const env = useStandIns({ sqsClock: new StandInClock({ scale: SCALE }) });
const ACCOUNTS = ['111111111111', '222222222222', '333333333333'];
const KEY_ARN = 'arn:aws:kms:us-east-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab';
let seq = 0;

function setUp() {
  const s = env();
  const n = ++seq;
  const bucket = `org-trail-${n}`;
  s.s3.createBucket(bucket);
  s.sqs.createQueue(`dlq-${n}`);
  const queue = s.sqs.createQueue(`trail-files-${n}`, { visibilityTimeoutSeconds: 6 * TIMEOUT_S, deadLetter: { queue: `dlq-${n}`, maxReceiveCount: 5 } });
  s.dnif.normal();
  s.dnif.clear();
  s.putConnectorSecret(s.connector({ connectorName: `queue-${n}` }));
  // Clock seconds: 6 s of the 30 s are kept for handing work on.
  Object.assign(process.env, { DEADLINE_RESERVE_MS: '6000', DNIF_OUTAGE_BACKOFF_SECONDS: '5' });
  resetS3ForwarderState();
  resetSecretCache();
  const unroute = routeNotifications(s.s3, s.sqs, { bucket, queue: queue.name });
  const esm = startEventSourceMapping({ sqs: s.sqs, registry: s.registry, queue: queue.name, handler, functionTimeoutSeconds: TIMEOUT_S, maximumConcurrency: 2 });
  return { s, bucket, queue, dlq: `dlq-${n}`, esm, stop: async () => { unroute(); await esm.stop(); } };
}

async function settle(esm: EventSourceMapping): Promise<void> {
  await esm.drain({ timeoutMs: 45_000 });
}

describe('S3 source through SQS and the event source mapping', () => {
  afterAll(() => {
    delete process.env.DEADLINE_RESERVE_MS;
    delete process.env.DNIF_OUTAGE_BACKOFF_SECONDS;
  });

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
