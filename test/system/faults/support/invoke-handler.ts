/**
 * Invoke strategy 2: the real Lambda handler with production settings (the secret from Secrets
 * Manager, the handler's own DynamoDB client and sink: 30 s request timeout, 250 ms backoff) and
 * Lambda contexts whose time really runs out. Nothing is wrapped: faults are armed on the
 * stand-ins before each invocation.
 */
import { handler } from '../../../../functions/forwarder/handler';
import { ForwarderRunError, type ForwarderSummary } from '../../../../functions/forwarder/forward';
import { lambdaContext, scheduledEvent } from '../../../../standins';
import type { RunCut } from './delivery-ledger';
import { emit } from './log-scan';
import { tallyRun, type RunTally } from './schedule-spec';

export interface HandlerRun {
  summary?: ForwarderSummary;
  startedAt: number;
}

export class HandlerInvoker {
  runs = 0;
  /** When each run's sink had to give up (its deadline less the reserve), and whether it was cut off. */
  readonly cuts: RunCut[] = [];

  constructor(
    private readonly name: string,
    private readonly reserveMs: number,
    private readonly tally: RunTally,
    private readonly violations: string[],
  ) {}

  async invoke(timeoutMs: number): Promise<HandlerRun> {
    this.runs += 1;
    const run = this.runs;
    const t0 = Date.now();
    const cut = { at: t0 + timeoutMs - this.reserveMs, cutOff: false };
    this.cuts.push(cut);
    let summary: ForwarderSummary | undefined;
    try {
      summary = await handler(scheduledEvent(), lambdaContext(timeoutMs));
    } catch (err) {
      if (err instanceof ForwarderRunError) summary = err.summary;
      else this.violations.push(`run ${run} failed outside a region: ${String(err)}`);
    }
    const elapsed = Date.now() - t0;
    if (process.env.FAULTS_DEBUG === '1') {
      const errs = Object.entries(summary?.regions ?? {}).map(([k, r]) => `${k}:${r.error?.code ?? (r.stoppedEarly ? 'cut' : 'ok')}`);
      emit(`[debug] ${this.name} run ${run} timeout=${timeoutMs} took=${elapsed} forwarded=${summary?.forwarded} skipped=${!!summary?.skipped} ${errs.join(' ')}`);
    }
    if (elapsed > timeoutMs) this.violations.push(`run ${run} took ${elapsed} ms, past its ${timeoutMs} ms Lambda timeout`);
    tallyRun(this.tally, summary);
    cut.cutOff = Object.values(summary?.regions ?? {}).some((r) => r.stoppedEarly || r.error);
    for (const r of Object.values(summary?.regions ?? {})) this.tally.counts.dnif += r.sinkErrors;
    return { summary, startedAt: t0 };
  }
}
