/**
 * The no-loss promise, checked at every cursor a run stores: nothing undelivered before `sweep`,
 * and nothing that was visible when the run started and is undelivered in the span `head` moved
 * over. It also knows when a schedule is finished: every event delivered and swept.
 */
import { LATENESS_SECONDS } from './schedule-spec';
import type { SourceTruth } from './events';

export interface StoredCursor {
  head: number;
  sweep: number;
}

export class CursorOracle {
  /** Highest head/sweep stored so far, per region (ours or another writer's). */
  private readonly stored = new Map<string, StoredCursor>();

  constructor(
    private readonly truth: SourceTruth,
    private readonly regions: readonly string[],
    private readonly violations: string[],
  ) {}

  storedOf(region: string): StoredCursor {
    return this.stored.get(region) ?? { head: 0, sweep: 0 };
  }

  /** A cursor written by someone who is not under test (the schedule's setup, another writer). */
  setStored(region: string, cursor: StoredCursor): void {
    this.stored.set(region, cursor);
  }

  /**
   * Checks a cursor `who` stored against what DNIF has (`received`); `visibleBy` is when that
   * run started: events visible by then must not be skipped by `head`.
   */
  check(region: string, cursor: StoredCursor, received: ReadonlyMap<string, unknown>, who: string, visibleBy: number): void {
    const prev = this.storedOf(region);
    if (cursor.head < prev.head || cursor.sweep < prev.sweep) this.violations.push(`${who}: cursor of ${region} moved backwards`);
    for (const e of this.truth.inRegion(region)) {
      if (e.time >= Math.max(cursor.head, cursor.sweep)) break;
      if (received.has(e.id)) continue;
      if (e.time < cursor.sweep) {
        this.violations.push(`${who} stored sweep ${cursor.sweep} in ${region} past undelivered ${e.id} (EventTime ${e.time})`);
      } else if (e.time >= prev.head && e.time < cursor.head && e.visibleAt <= visibleBy) {
        this.violations.push(`${who} stored head ${cursor.head} in ${region} past ${e.id} (EventTime ${e.time}), visible and undelivered`);
      }
    }
    this.stored.set(region, { head: Math.max(prev.head, cursor.head), sweep: Math.max(prev.sweep, cursor.sweep) });
  }

  /** The EventTime of the region's first event DNIF does not have yet. */
  firstUndelivered(region: string, received: ReadonlyMap<string, unknown>): number {
    return this.truth.inRegion(region).find((e) => !received.has(e.id))?.time ?? Number.POSITIVE_INFINITY;
  }

  /** Every event is delivered, and swept in every region once no late one can still show up. */
  finished(received: ReadonlyMap<string, unknown>): boolean {
    if (Date.now() < (this.truth.lastTime() + LATENESS_SECONDS + 1) * 1000) return false;
    for (const region of this.regions) {
      if ((this.stored.get(region)?.sweep ?? 0) <= this.truth.lastTime(region)) return false;
    }
    return [...this.truth.byId.keys()].every((id) => received.has(id));
  }
}
