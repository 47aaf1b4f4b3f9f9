/**
 * One region's share of a run: read Event history since the checkpoint, drop what was already
 * handled, deliver the rest oldest first, and move the checkpoint after every delivered batch.
 *
 * Why two cursors. Events reach Event history minutes after they happen, in no guaranteed
 * order, so "the last EventTime seen" loses events. Each run therefore reads:
 *
 *   sweep range  [sweep, min(head - settle, now - lateness))   a last look at a span that can no
 *                                                               longer change; then `sweep` moves
 *   head range   [max(sweep, head - settle), now)              what is new, re-reading the last
 *                                                               `settle` seconds, where the usual
 *                                                               ~5 minute stragglers land
 *
 * Every second of Event history is read once fresh and once more after `lateness` has passed,
 * so an event that shows up to LATENESS_SECONDS late is still delivered, at a cost of about two
 * reads an event instead of the (lateness / interval + 1) of re-reading the whole window each
 * run. Anything read twice is dropped by its EventId (CheckpointStore `seen` buckets).
 *
 * A slice no later pass reads again (all of it older than `lateness` when read, with `sweep`
 * following) needs no `seen` entries: only a retry of that same slice, after a failure part way,
 * reads it again. There the cursor's `deliveredThrough` marks how far delivery got, one small
 * write per batch; a backlog then costs ~2 write units per 1,000 events instead of ~20.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { CheckpointStore, Cursor, isAtOrBefore, seenKey, type EventPosition } from '../core/checkpoint/checkpoint-store';
import type { SourceEvent } from '../core/event';
import type { CloudTrailSource, SliceResult } from '../core/source/cloudtrail-source';
import { deliverBatches } from '../core/delivery/deliver-batches';
import type { Sink } from '../core/sink/sink';
import { buildRecord, type OutgoingRecord } from '../core/sink/records';
import { Deadline, DeadlineReachedError, toIso } from '../core/time';

export interface RegionRunSettings {
  latenessSeconds: number;
  backfillSeconds: number;
  settleSeconds: number;
  batchMaxEvents: number;
  batchMaxBytes: number;
  lookupRatePerSecond: number;
}

export interface RegionRunDeps {
  connectorName: string;
  region: string;
  source: CloudTrailSource;
  store: CheckpointStore;
  sink: Sink;
  deadline: Deadline;
  settings: RegionRunSettings;
  /** true: deliver; false: drop by the connector's filters (counted, remembered as handled). */
  keep: (event: SourceEvent) => boolean;
  flatten: boolean;
  logger: Logger;
  now?: () => number;
}

export interface RegionSummary {
  forwarded: number;
  duplicatesSkipped: number;
  filtered: number;
  truncated: number;
  unparsed: number;
  pages: number;
  throttles: number;
  sourceRetries: number;
  batches: number;
  sinkErrors: number;
  checkpoint: { head: string; sweep: string } | null;
  lagSeconds: number;
  /** The run reached its deadline with work left; the next run resumes. */
  stoppedEarly: boolean;
  error?: { code: string; message: string };
}

/** Slices aim at this many events: ~100 full pages, so a partial last page costs ≤1% of the API (≤0.5% on average). */
const TARGET_SLICE_EVENTS = 5000;
/** A slice that turns out denser than this is abandoned and read again in narrower slices. */
const MAX_SLICE_EVENTS = 10_000;
const FIRST_SLICE_SECONDS = 60;
const PAGE_EVENTS = 50;
const MAX_SLICE_SECONDS = 6 * 3600;

interface Slice {
  start: number;
  end: number;
}

/** How a slice's delivery is remembered. */
interface SliceProgress {
  /** Events at or before this position are already handled (a settled slice being retried). */
  handledThrough?: EventPosition;
  /** Set for a settled slice: record progress after each batch instead of marking events seen. */
  saveThrough?: (last: EventPosition) => Promise<void>;
}

interface Fetched {
  slice: Slice;
  readAtSec: number;
  result: SliceResult;
  complete: boolean;
  maxEvents: number;
}

export function emptySummary(): RegionSummary {
  return {
    forwarded: 0,
    duplicatesSkipped: 0,
    filtered: 0,
    truncated: 0,
    unparsed: 0,
    pages: 0,
    throttles: 0,
    sourceRetries: 0,
    batches: 0,
    sinkErrors: 0,
    checkpoint: null,
    lagSeconds: 0,
    stoppedEarly: false,
  };
}

export async function runRegion(deps: RegionRunDeps, summary: RegionSummary = emptySummary()): Promise<RegionSummary> {
  const now = deps.now ?? Date.now;
  const { latenessSeconds: lateness, settleSeconds: settle, backfillSeconds } = deps.settings;
  const startSec = Math.floor(now() / 1000);
  const stored = await deps.store.getCursor(deps.region);
  const cursor: Cursor = stored ?? { head: startSec - backfillSeconds, sweep: startSec - backfillSeconds };
  // The first run anchors the backfill window: if it fails before its first checkpoint, the
  // next run must still start there, not BACKFILL_SECONDS before its own, later, start.
  if (!stored) await deps.store.saveCursor(deps.region, cursor);
  summary.checkpoint = { head: toIso(cursor.head), sweep: toIso(cursor.sweep) };

  const headStart = Math.max(cursor.sweep, cursor.head - settle);
  const sweepEnd = Math.min(headStart, startSec - lateness);
  let sliceSeconds = cursor.sliceSeconds ?? FIRST_SLICE_SECONDS;

  try {
    for (const range of [
      { start: cursor.sweep, end: sweepEnd, kind: 'sweep' as const },
      { start: headStart, end: startSec, kind: 'head' as const },
    ]) {
      if (range.end <= range.start) continue;
      const saveWidth = async (width: number) => {
        // Remember a narrower slice even when none completes, so a short run still progresses next time.
        cursor.sliceSeconds = width;
        await deps.store.saveCursor(deps.region, cursor);
      };
      const progressFor = (slice: Slice, readAtSec: number): SliceProgress => {
        // Settled: complete when read, and `sweep` moves past it when it is done (below).
        const settled = slice.end <= readAtSec - lateness && (range.kind === 'sweep' || cursor.sweep >= slice.start);
        const saveThrough = async (last: EventPosition) => {
          await deps.store.saveDeliveredThrough(deps.region, cursor, last);
          cursor.deliveredThrough = last;
        };
        return { handledThrough: cursor.deliveredThrough, saveThrough: settled ? saveThrough : undefined };
      };
      sliceSeconds = await readRange(deps, range, sliceSeconds, summary, saveWidth, progressFor, async (slice, readAtSec, nextWidth) => {
        cursor.sliceSeconds = nextWidth;
        if (range.kind === 'sweep') {
          cursor.sweep = slice.end;
        } else {
          cursor.head = Math.max(cursor.head, slice.end);
          // `sweep` follows only while it is contiguous with what this run has read.
          if (cursor.sweep >= slice.start) cursor.sweep = Math.max(cursor.sweep, Math.min(slice.end, readAtSec - lateness));
        }
        // Every read starts at or after `sweep`: a marker wholly before it is never consulted again.
        if (cursor.deliveredThrough && cursor.deliveredThrough.time < cursor.sweep) cursor.deliveredThrough = undefined;
        await deps.store.saveCursor(deps.region, cursor);
        summary.checkpoint = { head: toIso(cursor.head), sweep: toIso(cursor.sweep) };
      });
    }
  } catch (err) {
    if (!(err instanceof DeadlineReachedError)) throw err;
    summary.stoppedEarly = true;
    deps.logger.warn('Deadline reached; stopping cleanly', { region: deps.region, checkpoint: summary.checkpoint });
  } finally {
    summary.lagSeconds = Math.max(0, Math.floor(now() / 1000) - cursor.head);
  }
  return summary;
}

/** Reads [range.start, range.end) in adaptive slices, fetching the next slice while delivering one. */
async function readRange(
  deps: RegionRunDeps,
  range: Slice,
  initialSliceSeconds: number,
  summary: RegionSummary,
  onNarrowed: (width: number) => Promise<void>,
  progressFor: (slice: Slice, readAtSec: number) => SliceProgress,
  onSliceDone: (slice: Slice, readAtSec: number, nextWidth: number) => Promise<void>,
): Promise<number> {
  let width = initialSliceSeconds;
  const plan = (start: number): Slice => ({ start, end: Math.min(range.end, start + width) });
  let pending: Promise<Fetched> | undefined = fetchSlice(deps, plan(range.start), summary);

  while (pending) {
    const fetched: Fetched = await pending;
    pending = undefined;
    const { slice, result } = fetched;
    const sliceWidth = slice.end - slice.start;

    if (!fetched.complete) {
      // Too dense for memory or for the time left: narrow to the density seen so far (at
      // least halving) and read the same start again.
      const target = Math.min(TARGET_SLICE_EVENTS, fetched.maxEvents / 2);
      width = Math.max(1, Math.min(Math.floor(sliceWidth / 2), Math.floor((sliceWidth * target) / result.events.length)));
      await onNarrowed(width);
      pending = fetchSlice(deps, plan(slice.start), summary);
      continue;
    }
    // Size the next slice for ~TARGET_SLICE_EVENTS, growing at most 4x at a time. A slice cut
    // short by the end of its range says little about density: it may only widen the next.
    const fitted = clamp(Math.floor((sliceWidth * TARGET_SLICE_EVENTS) / Math.max(1, result.events.length)), 1, Math.min(MAX_SLICE_SECONDS, sliceWidth * 4));
    width = sliceWidth < width ? Math.max(width, fitted) : fitted;
    if (slice.end < range.end) {
      pending = fetchSlice(deps, plan(slice.end), summary);
      // If delivery below fails, this read is abandoned: keep its failure from going unhandled.
      pending.catch(() => undefined);
    }
    await deliverSlice(deps, slice, result.events, summary, progressFor(slice, fetched.readAtSec));
    await onSliceDone(slice, fetched.readAtSec, width);
  }
  return width;
}

async function fetchSlice(deps: RegionRunDeps, slice: Slice, summary: RegionSummary): Promise<Fetched> {
  const readAtSec = Math.floor((deps.now ?? Date.now)() / 1000);
  // Never start a slice this run cannot finish: half the time left, at the API's page rate, is
  // the most it may take. A denser slice comes back incomplete and is read again narrower.
  const affordablePages = Math.floor((deps.deadline.remainingMs() / 1000) * deps.settings.lookupRatePerSecond * 0.5);
  const maxEvents = slice.end - slice.start > 1 ? Math.max(PAGE_EVENTS, Math.min(MAX_SLICE_EVENTS, affordablePages * PAGE_EVENTS)) : Number.POSITIVE_INFINITY;
  const result = await deps.source.fetchSlice(slice.start, slice.end, deps.deadline, maxEvents);
  summary.pages += result.pages;
  summary.throttles += result.throttles;
  summary.sourceRetries += result.retries;
  return { slice, readAtSec, result, complete: result.complete, maxEvents };
}

async function deliverSlice(deps: RegionRunDeps, slice: Slice, events: SourceEvent[], summary: RegionSummary, progress: SliceProgress): Promise<void> {
  const seen = await deps.store.loadSeen(deps.region, slice.start, slice.end);
  const forwardedAt = new Date().toISOString();
  const fresh: OutgoingRecord[] = [];
  const filtered: SourceEvent[] = [];
  for (const event of events) {
    if ((progress.handledThrough && isAtOrBefore(event, progress.handledThrough)) || seen.has(seenKey(event.eventId))) {
      summary.duplicatesSkipped += 1;
    } else if (!deps.keep(event)) {
      filtered.push(event);
    } else {
      const record = buildRecord(event, {
        connectorName: deps.connectorName,
        region: deps.region,
        forwardedAt,
        flatten: deps.flatten,
        maxRecordBytes: Math.min(deps.settings.batchMaxBytes - 2, deps.sink.maxRecordBytes ?? Infinity),
      });
      if (record.truncated) summary.truncated += 1;
      if (record.unparsed) summary.unparsed += 1;
      fresh.push(record);
    }
  }
  if (filtered.length > 0) {
    // In a settled slice a retry simply filters them again.
    if (!progress.saveThrough) await deps.store.markSeen(deps.region, filtered);
    summary.filtered += filtered.length;
  }
  await deliverBatches(
    fresh,
    {
      sink: deps.sink,
      limits: { maxEvents: deps.settings.batchMaxEvents, maxBytes: deps.settings.batchMaxBytes },
      deadline: deps.deadline,
      what: deps.region,
      onDelivered: async (batch) => {
        if (progress.saveThrough) {
          const last = batch[batch.length - 1];
          await progress.saveThrough({ time: last.eventTime, eventId: last.eventId });
        } else {
          await deps.store.markSeen(deps.region, batch);
        }
      },
    },
    summary,
  );
}

const clamp = (n: number, min: number, max: number): number => Math.min(max, Math.max(min, n));
