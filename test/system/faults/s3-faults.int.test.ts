/**
 * The S3 source's delivery promise under seeded random faults (issue 13): S3 5xx and connection
 * resets part way through a file, SQS duplicate deliveries (one batch to two consumers), consumer
 * kills (an invocation that throws, before or after its work), DNIF 5xx bursts — through the SQS
 * and event-source-mapping stand-ins and the real handler. After: 0 lost, 0 duplicates (no kill
 * lands between DNIF's 2xx and the ledger write here; forward-object.test covers that one batch),
 * nothing in the dead-letter queue.
 *
 *   npm test              short form (~2,000 events)
 *   npm run test:faults   full form (FAULTS_FULL=1, ~12,000 events, more faults)
 */
import type { Context, SQSEvent } from 'aws-lambda';
import { handler } from '../../../functions/s3-forwarder/handler';
import { buildTrailFiles, putTrailFiles, seededRandom, StandInClock } from '../../../standins';
import { useStandIns } from '../../helpers/standins';
import { clearQueueEnv, queueSetUp } from '../../helpers/queue-setup';
import { FULL, SEED } from './support/suite';

jest.setTimeout(FULL ? 15 * 60_000 : 3 * 60_000);
const env = useStandIns({ sqsClock: new StandInClock({ scale: 20 }) });

describe('S3 source under random faults', () => {
  afterAll(clearQueueEnv);

  it(`loses nothing and sends nothing twice (seed ${SEED})`, async () => {
    const s = env();
    const rand = seededRandom(SEED);
    const faults = { s3: 0, sqsDuplicates: 0, kills: 0, dnif: 0 };
    const killing = async (event: SQSEvent, ctx: Context) => {
      const r = rand();
      if (r < 0.05) {
        faults.kills += 1;
        throw new Error('killed before work');
      }
      const out = await handler(event, ctx);
      if (r > 0.95) {
        faults.kills += 1;
        throw new Error('killed after work, before answering');
      }
      return out;
    };
    const { bucket, queue, dlq, esm, stop } = queueSetUp(s, { handler: killing });
    try {
      const waves = FULL ? 12 : 3;
      const all = [];
      for (let w = 0; w < waves; w++) {
        const files = buildTrailFiles({ accountIds: ['111111111111', '222222222222'], regions: ['us-east-1', 'eu-west-1'], orgId: 'o-fault12345', prefix: 'faults', from: new Date(Date.parse('2026-12-01T00:00:00Z') + w * 3600_000), hours: 0.5, recordsPerFile: 30, seed: SEED + w });
        all.push(...files);
        for (const f of files) {
          const r = rand();
          if (r < 0.15) {
            s.s3.injectFault({ kind: 'reset', afterBytes: Math.floor(f.body.length * rand()), operation: 'GetObject', key: f.key, times: 1 + Math.floor(rand() * 2) });
            faults.s3 += 1;
          } else if (r < 0.25) {
            s.s3.injectFault({ kind: 'internal', status: rand() < 0.5 ? 500 : 503, operation: 'GetObject', key: f.key, times: 1 });
            faults.s3 += 1;
          }
        }
        if (rand() < 0.7) {
          // The next receive leaves its messages visible: they are received again at once, as a duplicate.
          s.sqs.injectFault({ kind: 'duplicate', operation: 'ReceiveMessage', queue: queue.name, times: 1 });
          faults.sqsDuplicates += 1;
        }
        if (rand() < 0.7) {
          s.dnif.failNext(1 + Math.floor(rand() * 4), 503);
          faults.dnif += 1;
        }
        putTrailFiles(s.s3, bucket, files);
        await new Promise((r) => setTimeout(r, 200));
      }
      await esm.drain({ timeoutMs: FULL ? 600_000 : 120_000 });
      const expected = all.flatMap((f) => f.records);
      const got = s.dnif.eventsById();
      const lost = expected.filter((r) => !got.has(String(r.eventID))).length;
      process.stdout.write(`[s3 faults] seed ${SEED}: ${expected.length} events in ${all.length} files, faults ${JSON.stringify(faults)}, invocations ${esm.invocations.length}, lost ${lost}, duplicates ${s.dnif.duplicates}, dead letters ${s.sqs.counts(dlq).total}\n`);
      expect(lost).toBe(0);
      expect(s.dnif.duplicates).toBe(0);
      expect(s.sqs.counts(dlq).total).toBe(0);
      expect(faults.s3 + faults.sqsDuplicates + faults.kills + faults.dnif).toBeGreaterThan(0);
    } finally {
      await stop();
    }
  });
});
