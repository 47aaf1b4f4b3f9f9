/**
 * What one run of a region reads, and in which order, given its LookupEvents budget.
 *
 * Event history can still change for `lateness` seconds after an EventTime, so a region's
 * history falls into three spans at the start of a run (`from` is where the last settled read
 * stopped, `head` where any read stopped):
 *
 *   settle pass  [from, min(rereadStart, now - lateness))   read once more after it can no longer
 *                                                            change: what keeps the no-loss promise
 *   re-read      [rereadStart, head), rereadStart =          read again for events that showed up
 *                max(from, head - rereadSeconds)             late since the last run (freshness)
 *   new          [head, now)                                 never read yet
 *
 * The re-read window is as wide as the budget allows after the settle pass and the new span:
 * the whole lateness window at low and normal volume (then a late event reaches DNIF in the
 * first run after it becomes visible), narrower under load, and none at all while a backlog
 * is drained, so the backlog is read once at the API's full rate. Nothing here affects no-loss:
 * whatever the width, the settle pass still reads every second once after `lateness`.
 *
 * Order. When the run is caught up (head within `lateness` of now and the budget covers the
 * settle pass and the new span) it reads the new span first, then the re-read window, then
 * the settle pass: fresh events do not wait behind a re-read. Otherwise it reads oldest first,
 * as a backlog must (the settle pass cannot be put off without end).
 */

export type RangeKind = 'settle' | 'head';

export interface ReadRange {
  start: number;
  end: number;
  /** settle: every slice is settled when read; head: settled only once older than now - lateness. */
  kind: RangeKind;
}

export interface ReadPlanInput {
  nowSec: number;
  /** Everything before this is read after it settled (the cursor's sweep, or its resume point). */
  from: number;
  head: number;
  latenessSeconds: number;
  /** Re-read width when the event density is not known yet (the first runs of a region). */
  fallbackRereadSeconds: number;
  /** Events per second of Event history seen by earlier runs; undefined when unknown. */
  eventsPerSecond?: number;
  /** LookupEvents calls this run can make (time left × rate, less a margin). */
  budgetCalls: number;
}

export interface ReadPlan {
  mode: 'fresh-first' | 'oldest-first';
  rereadSeconds: number;
  /** Estimated LookupEvents calls of the plan (undefined when the density is unknown). */
  plannedCalls?: number;
  ranges: ReadRange[];
}

const PAGE_EVENTS = 50;

/** Calls to read `seconds` of history at `density` events/s: full pages plus a partial one. */
export function callsFor(seconds: number, density: number): number {
  return seconds <= 0 ? 0 : Math.ceil((seconds * density) / PAGE_EVENTS) + 1;
}

function spans(p: ReadPlanInput, rereadSeconds: number) {
  const rereadStart = Math.max(p.from, Math.min(p.head, p.head - rereadSeconds));
  const settleEnd = Math.min(rereadStart, p.nowSec - p.latenessSeconds);
  return {
    settle: { start: p.from, end: settleEnd },
    reread: { start: rereadStart, end: Math.max(rereadStart, Math.min(p.head, p.nowSec)) },
    fresh: { start: Math.max(p.from, p.head), end: p.nowSec },
  };
}

const length = (s: { start: number; end: number }): number => Math.max(0, s.end - s.start);

export function planReads(p: ReadPlanInput): ReadPlan {
  const d = p.eventsPerSecond;
  if (d === undefined) return build(p, Math.min(p.fallbackRereadSeconds, p.latenessSeconds), 'oldest-first');
  const cost = (w: number): number => {
    const s = spans(p, w);
    return callsFor(length(s.settle), d) + callsFor(length(s.reread), d) + callsFor(length(s.fresh), d);
  };
  const caughtUp = p.head >= p.nowSec - p.latenessSeconds && cost(0) <= p.budgetCalls;
  // The widest window the budget pays for (cost grows with the width): a binary search in whole seconds.
  let lo = 0;
  let hi = p.latenessSeconds;
  if (cost(0) > p.budgetCalls) hi = 0;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (cost(mid) <= p.budgetCalls) lo = mid;
    else hi = mid - 1;
  }
  const plan = build(p, lo, caughtUp ? 'fresh-first' : 'oldest-first');
  return { ...plan, plannedCalls: cost(lo) };
}

function build(p: ReadPlanInput, rereadSeconds: number, mode: ReadPlan['mode']): ReadPlan {
  const s = spans(p, rereadSeconds);
  const settle: ReadRange = { ...s.settle, kind: 'settle' };
  const ranges: ReadRange[] =
    mode === 'fresh-first'
      ? [{ ...s.fresh, kind: 'head' }, { ...s.reread, kind: 'head' }, settle]
      : // Oldest first: re-read and new span are one contiguous range, so `sweep` can follow it.
        [settle, { start: s.reread.start, end: p.nowSec, kind: 'head' }];
  return { mode, rereadSeconds, ranges: ranges.filter((r) => r.end > r.start) };
}
