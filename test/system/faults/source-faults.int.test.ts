/**
 * CloudTrail faults the random schedules found, pinned down one at a time, end to end through
 * the handler (production timings): a connection reset in the middle of a LookupEvents answer,
 * and an answer slower than the time the run has left.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { handler, resetForwarderState } from '../../../functions/forwarder/handler';
import type { ForwarderSummary } from '../../../functions/forwarder/forward';
import { resetSecretCache } from '../../../functions/core/secret';
import { generateEvents, lambdaContext, scheduledEvent } from '../../../standins';
import { useSuite } from './support/suite';

jest.setTimeout(60_000);

const suite = useSuite('source-faults.int.test.ts');
const REGION = 'us-east-1';

let seq = 0;
function freshConnector(): string {
  const s = suite.standIns();
  const name = `src-${++seq}-${Date.now()}`;
  s.reset();
  suite.putSecret(s.connector({ connectorName: name }));
  resetForwarderState();
  resetSecretCache();
  return name;
}

afterEach(() => {
  delete process.env.DEADLINE_RESERVE_MS;
});

describe('CloudTrail faults, end to end', () => {
  it('retries a connection reset in the middle of a LookupEvents answer within the run', async () => {
    const s = suite.standIns();
    freshConnector();
    const now = Date.now();
    const events = generateEvents({ count: 120, region: REGION, accountId: s.accountId, from: now - 20 * 60_000, to: now - 60_000, seed: 11 });
    s.cloudtrail.addEvents(REGION, events);
    s.cloudtrail.injectFault({ kind: 'reset', times: 2, region: REGION });

    const summary = await handler(scheduledEvent(), lambdaContext(30_000));

    expect(s.cloudtrail.stats().faultsApplied).toBe(2);
    expect(summary.regions[REGION].error).toBeUndefined();
    expect(summary.regions[REGION].sourceRetries).toBeGreaterThanOrEqual(2);
    expect(summary.forwarded).toBe(events.length);
    expect(s.dnif.eventsById().size).toBe(events.length);
  });

  // Under jest every socket error reaches the source wrapped by the SDK (see support/reset-probe.ts),
  // so the two cases below also run in a plain Node process, as the Lambda runtime does.
  async function probe(env: Record<string, string>): Promise<Record<string, unknown>> {
    const root = path.resolve(__dirname, '..', '..', '..');
    const { stdout } = await promisify(execFile)(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(__dirname, 'support', 'reset-probe.ts')], {
      cwd: root,
      env: { ...process.env, ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      timeout: 45_000,
    });
    const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('RESULT '));
    return JSON.parse(String(line).slice('RESULT '.length)) as Record<string, unknown>;
  }

  it('retries a reset mid-answer also in plain Node, where the SDK sees the socket error itself (as in Lambda)', async () => {
    expect(await probe({ RESETS: '2' })).toEqual({ events: 120, expected: 120, retries: 2, faultsApplied: 2 });
  });

  it('gives up a LookupEvents answer slower than the time left also in plain Node', async () => {
    expect(await probe({ DELAY_MS: '4000', DEADLINE_MS: '2000' })).toEqual({ error: 'DeadlineReachedError', faultsApplied: 1, withinDeadline: true });
  });

  it('ends the run before the Lambda deadline when a LookupEvents answer is slower than the time left', async () => {
    const s = suite.standIns();
    freshConnector();
    process.env.DEADLINE_RESERVE_MS = '500';
    resetForwarderState();
    const now = Date.now();
    const events = generateEvents({ count: 80, region: REGION, accountId: s.accountId, from: now - 20 * 60_000, to: now - 60_000, seed: 12 });
    s.cloudtrail.addEvents(REGION, events);
    s.cloudtrail.injectFault({ kind: 'delay', ms: 6_000, region: REGION });

    const timeoutMs = 3_000;
    const started = Date.now();
    const first: ForwarderSummary = await handler(scheduledEvent(), lambdaContext(timeoutMs));
    const elapsed = Date.now() - started;

    expect(elapsed).toBeLessThan(timeoutMs);
    expect(first.regions[REGION].stoppedEarly).toBe(true);
    expect(first.forwarded).toBe(0);
    // The next run picks up where it stopped: nothing lost, nothing twice.
    const second = await handler(scheduledEvent(), lambdaContext(30_000));
    expect(second.forwarded).toBe(events.length);
    expect(s.dnif.eventsById().size).toBe(events.length);
    expect(s.dnif.duplicates).toBe(0);
  });
});
