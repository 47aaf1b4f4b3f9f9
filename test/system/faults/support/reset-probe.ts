/**
 * Run by source-faults.int.test.ts in a plain Node process (`tsx`), not under jest: jest's sandbox
 * makes errors thrown by Node's http module foreign to the SDK (`instanceof Error` fails), so the
 * SDK wraps them and every network fault looks retryable. Here they look as they do in Lambda.
 *
 * Reads one slice with the real CloudTrailSource while the stand-in resets the connection in the
 * middle of `RESETS` answers (or, with DELAY_MS, answers that late while the run has DEADLINE_MS
 * left), and prints `RESULT <json>` as the last line.
 */
import { CloudTrailSource, createCloudTrailClient } from '../../../../functions/core/source/cloudtrail-source';
import { RateLimiter } from '../../../../functions/core/source/rate-limiter';
import { Deadline } from '../../../../functions/core/deadline';
import { generateEvents, startStandIns } from '../../../../standins';

async function main(): Promise<void> {
  const resets = Number(process.env.RESETS ?? '2');
  const s = await startStandIns();
  const undo = s.applyEnv();
  try {
    const region = 'us-east-1';
    const now = Date.now();
    const events = generateEvents({ count: 120, region, accountId: s.accountId, from: now - 20 * 60_000, to: now - 60_000, seed: 5 });
    s.cloudtrail.addEvents(region, events);
    const delayMs = Number(process.env.DELAY_MS ?? '0');
    if (delayMs > 0) s.cloudtrail.injectFault({ kind: 'delay', ms: delayMs, region });
    else s.cloudtrail.injectFault({ kind: 'reset', times: resets, region });
    const deadlineMs = Number(process.env.DEADLINE_MS ?? '30000');
    const source = new CloudTrailSource({
      region,
      client: createCloudTrailClient(region, { accessKeyId: s.connectorUser.accessKeyId, secretAccessKey: s.connectorUser.secretAccessKey }),
      limiter: new RateLimiter(2),
      random: () => 0.5,
    });
    const startSec = Math.floor(now / 1000) - 30 * 60;
    let out: Record<string, unknown>;
    const started = Date.now();
    try {
      const r = await source.fetchSlice(startSec, Math.floor(now / 1000), new Deadline(Date.now() + deadlineMs, 500));
      out = { events: r.events.length, expected: events.length, retries: r.retries, faultsApplied: s.cloudtrail.stats().faultsApplied };
    } catch (err) {
      const e = err as { name?: string; code?: string };
      out = { error: e.name, code: e.code, faultsApplied: s.cloudtrail.stats().faultsApplied, withinDeadline: Date.now() - started < deadlineMs };
    }
    process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
  } finally {
    undo();
    await s.stop();
  }
}

main().catch((err: unknown) => {
  process.stdout.write(`RESULT ${JSON.stringify({ crashed: String(err) })}\n`);
  process.exitCode = 1;
});
