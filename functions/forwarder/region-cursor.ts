/**
 * The one owner of a region's cursor: where reading stands, what a run reads next, how a
 * slice's delivery is remembered, and every save to the checkpoint table.
 *
 *   head    everything before it has been read at least once
 *   sweep   everything before it has been read after it could no longer change (EventTime +
 *           lateness): the no-loss line, never moved past an undelivered event
 *   deliveredThrough   inside a settled slice being delivered: every event from `sweep` up to
 *           this (EventTime, EventId) is handled. A settled slice needs no `seen` entries (no
 *           later pass reads it), so this one small write per batch is all its progress costs,
 *           and a run cut short resumes reading there instead of at the slice's start.
 *
 * See read-plan.ts for the spans a run reads and region-run.ts for the reading itself.
 */
import type { RegionLedger, StoredCursor, EventPosition } from '../core/checkpoint/region-ledger';
import { toIso } from '../core/time';
import { planReads, type RangeKind, type ReadPlan } from './read-plan';

export interface Slice {
  start: number;
  end: number;
}

/** How a slice's delivery is remembered. */
export interface SliceProgress {
  /** Events at or before this position are already handled (a settled slice being resumed). */
  handledThrough?: EventPosition;
  /** Set for a settled slice: record progress after each batch instead of marking events seen. */
  saveThrough?: (last: EventPosition) => Promise<void>;
}

/** A region cursor's `head` and `sweep` as ISO-8601 times: the region summary's `checkpoint`. */
export interface CursorTimes {
  head: string;
  sweep: string;
}

export interface CursorConfig {
  latenessSeconds: number;
  backfillSeconds: number;
  /** Re-read width before the region's event density is known. */
  settleSeconds: number;
}

export const FIRST_SLICE_SECONDS = 60;
/** A few seconds of history say little about density: fewer keep the earlier estimate. */
const MIN_MEASURED_SECONDS = 10;

export class RegionCursor {
  // Events and seconds of history read in complete slices this run: the density estimate.
  private readEvents = 0;
  private readSeconds = 0;
  // The latest slice's own density: the best guess for the slice next to it.
  private latestDensity?: number;
  // A slice that came back too dense proves at least this density (kept for the next run).
  private densityFloor?: number;

  private constructor(
    private readonly ledger: RegionLedger,
    private readonly region: string,
    private readonly config: CursorConfig,
    private readonly cursor: StoredCursor,
  ) {}

  /** The stored cursor, or a new one at now − BACKFILL, saved at once (see below). */
  static async load(ledger: RegionLedger, region: string, config: CursorConfig, nowSec: number): Promise<RegionCursor> {
    const stored = await ledger.getCursor(region);
    const cursor: StoredCursor = stored ?? { head: nowSec - config.backfillSeconds, sweep: nowSec - config.backfillSeconds };
    // The first run anchors the backfill window: if it fails before its first checkpoint, the
    // next run must still start there, not BACKFILL_SECONDS before its own, later, start.
    if (!stored) await ledger.saveCursor(region, cursor);
    return new RegionCursor(ledger, region, config, cursor);
  }

  get head(): number {
    return this.cursor.head;
  }

  get sweep(): number {
    return this.cursor.sweep;
  }

  get deliveredThrough(): EventPosition | undefined {
    return this.cursor.deliveredThrough;
  }

  /** Slice width (s) that suited the last slices' density. */
  get sliceSeconds(): number {
    return this.cursor.sliceSeconds ?? FIRST_SLICE_SECONDS;
  }

  get eventsPerSecond(): number | undefined {
    return this.cursor.eventsPerSecond;
  }

  /** Events per second of this run's reads once they say enough, else the last run's. */
  get averageDensity(): number | undefined {
    return this.readSeconds >= MIN_MEASURED_SECONDS ? this.readEvents / this.readSeconds : this.cursor.eventsPerSecond;
  }

  /**
   * The density to size the next slice by: the higher of the average and the latest slice's, as
   * a slice planned too wide for the time left comes back cut and, near the deadline, wasted.
   */
  get density(): number | undefined {
    const average = this.averageDensity;
    if (this.latestDensity === undefined) return average;
    return Math.max(average ?? 0, this.latestDensity);
  }

  /** `head` and `sweep` as ISO times: what the region summary reports (as `checkpoint`). */
  get isoTimes(): CursorTimes {
    return { head: toIso(this.cursor.head), sweep: toIso(this.cursor.sweep) };
  }

  /**
   * Everything before this is read settled or handled: `sweep`, or further on inside a settled
   * slice that was partly delivered. Reading resumes here, so those pages are not fetched again.
   */
  get settledThrough(): number {
    return Math.max(this.cursor.sweep, this.cursor.deliveredThrough?.time ?? -Infinity);
  }

  /** What this run reads, in order, for a budget of `budgetCalls` LookupEvents calls. */
  ranges(nowSec: number, budgetCalls: number): ReadPlan {
    return planReads({
      nowSec,
      from: this.settledThrough,
      head: this.cursor.head,
      latenessSeconds: this.config.latenessSeconds,
      fallbackRereadSeconds: this.config.settleSeconds,
      eventsPerSecond: this.cursor.eventsPerSecond,
      budgetCalls,
    });
  }

  /**
   * A settled slice is complete when read and no later pass reads it again: it records progress
   * in the cursor. It is settled when all of it is older than `lateness` at the read and it
   * continues what is already settled (a head slice after an unread gap is not).
   */
  progressFor(slice: Slice, readAtSec: number, kind: RangeKind): SliceProgress {
    const settled = slice.end <= readAtSec - this.config.latenessSeconds && (kind === 'settle' || this.settledThrough >= slice.start);
    const saveThrough = async (last: EventPosition): Promise<void> => {
      await this.ledger.saveDeliveredThrough(this.region, this.cursor, last);
      this.cursor.deliveredThrough = last;
    };
    return { handledThrough: this.cursor.deliveredThrough, saveThrough: settled ? saveThrough : undefined };
  }

  /**
   * Remembers a narrower slice, and the density the too-dense one showed, even when no slice
   * completes: the next run then plans a slice it can finish instead of failing the same way.
   */
  async narrow(width: number, observedDensity?: number): Promise<void> {
    this.cursor.sliceSeconds = Math.min(width, this.cursor.sliceSeconds ?? width);
    if (observedDensity !== undefined) {
      this.densityFloor = Math.max(this.densityFloor ?? 0, observedDensity);
      this.latestDensity = Math.max(this.latestDensity ?? 0, observedDensity);
    }
    await this.save();
  }

  /**
   * Counts a complete read toward the density estimates. The one kept for the next run counts
   * only history older than SETTLE when read: a fresh span still lacks its late events (40% of
   * them in a long tail), and a settle pass sized by it would be planned twice too wide.
   */
  measured(slice: Slice, events: number, readAtSec: number): void {
    if (slice.end - slice.start >= MIN_MEASURED_SECONDS) this.latestDensity = events / (slice.end - slice.start);
    if (slice.end > readAtSec - this.config.settleSeconds) return;
    this.readEvents += events;
    this.readSeconds += slice.end - slice.start;
  }

  /** A slice is delivered: move `head` and `sweep` over it and save. */
  async done(slice: Slice, readAtSec: number, kind: RangeKind, nextWidth: number): Promise<void> {
    const c = this.cursor;
    c.sliceSeconds = nextWidth;
    if (kind === 'settle') {
      c.sweep = Math.max(c.sweep, slice.end);
    } else {
      c.head = Math.max(c.head, slice.end);
      // `sweep` follows only while it is contiguous with what is settled.
      if (this.settledThrough >= slice.start) c.sweep = Math.max(c.sweep, Math.min(slice.end, readAtSec - this.config.latenessSeconds));
    }
    // Every read starts at or after `sweep`: a marker wholly before it is never consulted again.
    if (c.deliveredThrough && c.deliveredThrough.time < c.sweep) c.deliveredThrough = undefined;
    await this.save();
  }

  private async save(): Promise<void> {
    const average = this.averageDensity;
    const density = average === undefined && this.densityFloor === undefined ? undefined : Math.max(average ?? 0, this.densityFloor ?? 0);
    if (density !== undefined) this.cursor.eventsPerSecond = Math.round(density * 1000) / 1000;
    await this.ledger.saveCursor(this.region, this.cursor);
  }
}
