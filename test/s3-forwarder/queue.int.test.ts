/**
 * The S3 source end to end as AWS runs it: trail files land in the S3 stand-in, S3 notifications
 * reach the SQS stand-in (visibility 6x the function timeout, maxReceiveCount 5 to a DLQ), the
 * event source mapping stand-in invokes the real handler (ReportBatchItemFailures, two pollers,
 * duplicate deliveries), DNIF receives. The SQS clock runs 10x: a 30 s function timeout is 3 s.
 * The dead-letter path is in queue-dlq.int.test.ts.
 */
import { buildTrailFiles, putTrailFiles, StandInClock } from '../../standins';
import { useStandIns } from '../helpers/standins';
import { clearQueueEnv, queueSetUp, settle } from '../helpers/queue-setup';

const SCALE = 10;
const env = useStandIns({ sqsClock: new StandInClock({ scale: SCALE }) });
const ACCOUNTS = ['111111111111', '222222222222', '333333333333'];
const setUp = (beforeStart?: (bucket: string) => void) => queueSetUp(env(), { beforeStart });

describe('S3 source through SQS and the event source mapping', () => {
  afterAll(clearQueueEnv);

  it('delivers every record of an org trail exactly once, with notifications repeated; digests and other keys acknowledged', async () => {
    const { s, bucket, queue, dlq, esm, stop } = setUp();
    try {
      const files = buildTrailFiles({ accountIds: ACCOUNTS, regions: ['us-east-1', 'eu-west-1'], prefix: 'org trail', orgId: 'o-abcdef1234', from: new Date('2026-12-01T00:00:00Z'), hours: 0.25, insights: true, seed: 21 });
      putTrailFiles(s.s3, bucket, files);
      s.s3.putObject(bucket, 'org trail/AWSLogs/o-abcdef1234/111111111111/CloudTrail-Digest/us-east-1/2026/12/01/111111111111_CloudTrail-Digest_us-east-1_org_us-east-1_20261201T003000Z.json.gz', '{}');
      s.s3.putObject(bucket, 'org trail/notes.txt', 'not a trail file');
      // The same notifications again, as S3 and SQS may deliver them.
      for (const m of s.sqs.messages(queue.name).slice(0, 5)) s.sqs.sendMessage(queue.name, m.body);
      await settle(esm);

      const expected = files.flatMap((f) => f.records);
      expect(s.dnif.eventsById().size).toBe(expected.length);
      expect(s.dnif.duplicates).toBe(0);
      expect(s.sqs.counts(dlq).total).toBe(0);
      const insight = files.find((f) => f.kind === 'CloudTrail-Insight');
      const got = s.dnif.eventsById().get(String(insight?.records[0].eventID)) as { dnifForwarder: Record<string, unknown> };
      expect(got.dnifForwarder).toMatchObject({ source: 's3', s3: { bucket, key: insight?.key }, accountId: insight?.accountId });
    } finally {
      await stop();
    }
  });

  it('sends nothing twice when one batch goes to two consumers at once', async () => {
    // One batch's worth, queued before the pollers start, so the duplicate is the whole queue.
    const files = buildTrailFiles({ accountIds: ACCOUNTS.slice(0, 1), regions: ['us-east-1'], from: new Date('2026-12-01T00:00:00Z'), hours: 0.5, seed: 24, recordsPerFile: 60 });
    const { s, dlq, esm, stop } = setUp((bucket) => {
      putTrailFiles(env().s3, bucket, files);
      env().sqs.injectFault({ kind: 'duplicate', operation: 'ReceiveMessage', times: 1 });
    });
    try {
      await settle(esm);
      const handed = esm.invocations.flatMap((i) => i.messageIds);
      expect(handed.length).toBeGreaterThan(new Set(handed).size); // some message went to two invocations
      expect(s.dnif.eventsById().size).toBe(files.length * 60);
      expect(s.dnif.duplicates).toBe(0);
      expect(s.sqs.counts(dlq).total).toBe(0);
    } finally {
      await stop();
    }
  });

  it('keeps everything through a DNIF outage of many redeliveries: nothing in the DLQ, all delivered once after', async () => {
    const { s, bucket, dlq, esm, stop } = setUp();
    try {
      const files = buildTrailFiles({ accountIds: ACCOUNTS.slice(0, 2), regions: ['us-east-1'], from: new Date('2026-12-01T00:00:00Z'), hours: 0.25, seed: 23 });
      await s.dnif.down('refuse');
      putTrailFiles(s.s3, bucket, files);
      await esm.waitFor(() => esm.invocations.length >= 5, { timeoutMs: 40_000, what: 'five invocations during the outage' });
      expect(s.dnif.events().length).toBe(0);
      await s.dnif.up();
      await settle(esm);
      expect(s.sqs.counts(dlq).total).toBe(0);
      expect(s.dnif.eventsById().size).toBe(files.flatMap((f) => f.records).length);
      expect(s.dnif.duplicates).toBe(0);
    } finally {
      await stop();
    }
  });
});
