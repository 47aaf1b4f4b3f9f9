/**
 * The one loop every fault schedule runs: a tick (arm faults, invoke once or twice, check) and
 * the schedule's interval, until the oracle says every event is delivered and swept, or the run
 * count or the time budget is spent. How a run is invoked (forward() with injected faults, or
 * the real handler) is the schedule's strategy.
 */
import type { Rng } from './suite';

export interface DriveOptions {
  rnd: Rng;
  started: number;
  maxRuns: number;
  budgetMs: number;
  runs: () => number;
  finished: () => boolean | Promise<boolean>;
  tick: () => Promise<void>;
  violations: string[];
}

export async function driveUntilFinished(o: DriveOptions): Promise<void> {
  while (!(await o.finished())) {
    if (o.runs() >= o.maxRuns || Date.now() - o.started > o.budgetMs) {
      o.violations.push(`not finished after ${o.runs()} runs and ${Date.now() - o.started} ms`);
      break;
    }
    await o.tick();
    await new Promise((r) => setTimeout(r, o.rnd.int(20, 250))); // the schedule's interval
  }
}
