/**
 * One region's share of a run: read Event history since the checkpoint, drop what was already
 * handled, deliver the rest oldest first within each slice, and move the checkpoint after every
 * delivered batch.
 *
 * What is read, and in which order, is read-plan.ts (a settle pass that keeps the no-loss
 * promise, a re-read window as wide as the LookupEvents budget allows, the new span); the
 * cursor that remembers it is region-cursor.ts. Anything read twice is dropped by its EventId
 * (RegionLedger `seen` buckets, one 8-byte hash an event) or, inside a settled slice, by the
 * cursor's `deliveredThrough`.
 *
 * Reading is in adaptive time slices (~5,000 events, so pages are full), the next slice fetched
 * while one is delivered. No page is read for nothing: a slice is never planned larger than the
 * time left can read, and a slice that turns out too dense keeps the pages it has (they hold all
 * of its newest part) while the older part is read in narrower slices.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { isAtOrBefore, RegionLedger, seenKey } from '../core/checkpoint/region-ledger';
import { DelayTally, type DelayFigures } from '../core/delivery/delivery-delay';
import type { SourceEvent } from '../core/event';
import type { CloudTrailSource, SliceResult } from '../core/source/cloudtrail-source';
import { deliverBatches } from '../core/delivery/deliver-batches';
import type { Sink } from '../core/sink/sink';
import { buildRecord, type OutgoingRecord } from '../core/sink/records';
import { Deadline, DeadlineReachedError } from '../core/deadline';
import { RegionCursor, type CursorTimes, type Slice, type SliceProgress } from './region-cursor';
import type { ReadPlan, ReadRange } from './read-plan';

export interface RegionRunConfig {
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
  ledger: RegionLedger;
  sink: Sink;
  deadline: Deadline;
  config: RegionRunConfig;
  /** true: deliver; false: drop by the connector's filters (counted, remembered as handled). */
  passesFilters: (event: SourceEvent) => boolean;
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
  /** Where the region's cursor stands after the run (the contract's field name). */
  checkpoint: CursorTimes | null;
  lagSeconds: number;
  /** The run reached its deadline with work left; the next run resumes. */
  stoppedEarly: boolean;
  error?: { code: string; message: string };
  /** LookupEvents calls the run could afford, what it planned, and the re-read window it chose (read-plan.ts). */
  budget?: { calls: number; plannedCalls?: number; rereadSeconds: number; mode: ReadPlan['mode'] };
  /** LookupEvents calls made (pages, throttled and retried requests) per 1,000 events handled. */
  callsPer1000Events?: number;
  /** EventTime → DNIF acknowledgement of this run's deliveries (s). */
  deliveryDelaySeconds?: DelayFigures;
}

/** Slices aim at this many events: ~100 full pages, so a partial last page costs ≤1% of the API (≤0.5% on average). */
const TARGET_SLICE_EVENTS = 5000;
/** A slice that turns out denser than this is cut there (memory); the rest is read in narrower slices. */
const MAX_SLICE_EVENTS = 10_000;
const PAGE_EVENTS = 50;
const MAX_SLICE_SECONDS = 6 * 3600;
/** Share of the run's time (at the API rate) the read plan may spend: the rest covers throttles and latency. */
const BUDGET_SHARE = 0.9;
/**
 * Share of the time left (at the API rate) a slice is planned for, from the density estimate,
 * and the share at which its read is cut (the rest is kept for delivery). The gap absorbs an
 * estimate up to ~20% low: a slice the run cannot finish is read for nothing.
 */
const PLAN_SHARE = 0.75;
const CUT_SHARE = 0.9;
const MIN_SLICE_PAGES = 4;

interface Fetched {
  slice: Slice;
  readAtSec: number;
  result: SliceResult;
  complete: boolean;
  maxEvents: number;
  /** The newest part of a slice that was cut: already read, waiting for the older part. */
  carried?: boolean;
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
  const startSec = Math.floor(now() / 1000);
  const cursor = await RegionCursor.load(deps.ledger, deps.region, deps.config, startSec);
  summary.checkpoint = cursor.isoTimes;
  const budgetCalls = Math.max(0, Math.floor((deps.deadline.remainingMs() / 1000) * deps.config.lookupRatePerSecond * BUDGET_SHARE));
  const plan = cursor.ranges(startSec, budgetCalls);
  summary.budget = { calls: budgetCalls, plannedCalls: plan.plannedCalls, rereadSeconds: plan.rereadSeconds, mode: plan.mode };
  const delays = new DelayTally();
  let width = cursor.sliceSeconds;
  try {
    for (const range of plan.ranges) width = await readRange(deps, cursor, range, width, summary, delays);
  } catch (err) {
    if (!(err instanceof DeadlineReachedError)) throw err;
    summary.stoppedEarly = true;
    deps.logger.warn('Deadline reached; stopping cleanly', { region: deps.region, checkpoint: summary.checkpoint });
  } finally {
    summary.lagSeconds = Math.max(0, Math.floor(now() / 1000) - cursor.head);
    summary.deliveryDelaySeconds = delays.figures();
    const handled = summary.forwarded + summary.filtered;
    if (handled > 0) summary.callsPer1000Events = Math.round(((summary.pages + summary.throttles + summary.sourceRetries) / handled) * 100_000) / 100;
  }
  return summary;
}

/** Reads [range.start, range.end) in adaptive slices, fetching the next slice while delivering one. */
async function readRange(deps: RegionRunDeps, cursor: RegionCursor, range: ReadRange, initialWidth: number, summary: RegionSummary, delays: DelayTally): Promise<number> {
  let width = initialWidth;
  // Complete reads of later spans, oldest first, waiting for the span before them to be read.
  const carried: Fetched[] = [];
  // A slice whose read the deadline stopped: the next run plans a narrower one.
  let stoppedMidRead: Slice | undefined;
  const readFrom = (start: number): Promise<Fetched> | undefined => {
    if (start >= range.end) return undefined;
    const next = carried[0];
    if (next?.slice.start === start) return Promise.resolve(carried.shift() as Fetched);
    const affordable = affordableWidth(deps, cursor, width, summary);
    // Out of time: stop after the slice in hand is delivered (the rejection is awaited only then).
    if (affordable === 0) return Promise.reject(new DeadlineReachedError(`planning the next read in ${deps.region}`));
    const slice = { start, end: Math.min(next?.slice.start ?? range.end, start + affordable) };
    return fetchSlice(deps, slice, summary).catch((err: unknown) => {
      if (err instanceof DeadlineReachedError) stoppedMidRead = slice;
      throw err;
    });
  };
  let pending = readFrom(range.start);

  while (pending) {
    const fetched: Fetched = await pending.catch(async (err: unknown) => {
      // Throttling or a slow API took the time the slice was planned for: without this the
      // next run would plan the same slice and lose it the same way. Only before the soft
      // deadline: the reserve after it is the lease release's.
      const stopped = stoppedMidRead;
      if (err instanceof DeadlineReachedError && stopped && deps.deadline.remainingMs() > 0) await cursor.narrow(Math.max(1, Math.floor((stopped.end - stopped.start) / 2))).catch(() => undefined);
      throw err;
    });
    pending = undefined;
    const { slice, result } = fetched;
    const sliceWidth = slice.end - slice.start;

    if (!fetched.complete) {
      // Too dense for memory or for the time left. Pages come newest first, so those read hold
      // every event of [cut, end): keep them, and read the older part again in narrower slices.
      const cut = Math.min(slice.end, (result.events[0]?.eventTime ?? slice.end - 1) + 1);
      if (cut < slice.end) {
        const kept = result.events.filter((e) => e.eventTime >= cut);
        cursor.measured({ start: cut, end: slice.end }, kept.length, fetched.readAtSec);
        carried.unshift({ ...fetched, slice: { start: cut, end: slice.end }, result: { ...result, events: kept, complete: true }, complete: true, carried: true });
      }
      const target = Math.min(TARGET_SLICE_EVENTS, fetched.maxEvents / 2);
      width = Math.max(1, Math.min(Math.floor(sliceWidth / 2), Math.floor((sliceWidth * target) / result.events.length)));
      // The pages read cover [oldest, end): at least this many events a second.
      const oldest = result.events[0]?.eventTime ?? slice.start;
      await cursor.narrow(width, result.events.length / Math.max(1, slice.end - oldest));
      pending = readFrom(slice.start);
      continue;
    }
    if (!fetched.carried) {
      cursor.measured(slice, result.events.length, fetched.readAtSec);
      // Size the next slice for ~TARGET_SLICE_EVENTS, growing at most 4x at a time. A slice cut
      // short by the end of its range says little about density: it may only widen the next.
      const fitted = clamp(Math.floor((sliceWidth * TARGET_SLICE_EVENTS) / Math.max(1, result.events.length)), 1, Math.min(MAX_SLICE_SECONDS, sliceWidth * 4));
      width = sliceWidth < width ? Math.max(width, fitted) : fitted;
    }
    if (slice.end < range.end) {
      pending = readFrom(slice.end);
      // If delivery below fails, this read is abandoned: keep its failure from going unhandled.
      pending?.catch(() => undefined);
    }
    await deliverSlice(deps, slice, result.events, summary, cursor.progressFor(slice, fetched.readAtSec, range.kind), delays);
    await cursor.done(slice, fetched.readAtSec, range.kind, width);
    summary.checkpoint = cursor.isoTimes;
  }
  return width;
}

/** LookupEvents pages `share` of the time left can read at the API's rate. */
function affordablePages(deps: RegionRunDeps, share: number): number {
  return Math.floor((deps.deadline.remainingMs() / 1000) * deps.config.lookupRatePerSecond * share);
}

/**
 * The slice width to read next (0: none): the fitted width, narrowed to what the time left can read. Near
 * the deadline a run that has read something stops rather than start slices of a page or two,
 * whose partial last pages would cost more calls than they bring events.
 */
function affordableWidth(deps: RegionRunDeps, cursor: RegionCursor, width: number, summary: RegionSummary): number {
  // A run with less time than a page still reads one, as before: a run that reads nothing never progresses.
  const pages = summary.pages === 0 ? Math.max(1, affordablePages(deps, PLAN_SHARE)) : affordablePages(deps, PLAN_SHARE);
  if (pages < 1 || (pages < MIN_SLICE_PAGES && summary.pages > 0)) return 0;
  const density = cursor.density;
  return density !== undefined && density > 0 ? Math.max(1, Math.min(width, Math.floor((pages * PAGE_EVENTS) / density))) : width;
}

async function fetchSlice(deps: RegionRunDeps, slice: Slice, summary: RegionSummary): Promise<Fetched> {
  const readAtSec = Math.floor((deps.now ?? Date.now)() / 1000);
  // A denser slice than the time left can read comes back cut, and the rest is read narrower.
  const maxEvents = slice.end - slice.start > 1 ? Math.max(PAGE_EVENTS, Math.min(MAX_SLICE_EVENTS, affordablePages(deps, CUT_SHARE) * PAGE_EVENTS)) : Number.POSITIVE_INFINITY;
  const result = await deps.source.fetchSlice(slice.start, slice.end, deps.deadline, maxEvents);
  summary.pages += result.pages;
  summary.throttles += result.throttles;
  summary.sourceRetries += result.retries;
  return { slice, readAtSec, result, complete: result.complete, maxEvents };
}

async function deliverSlice(deps: RegionRunDeps, slice: Slice, events: SourceEvent[], summary: RegionSummary, progress: SliceProgress, delays: DelayTally): Promise<void> {
  const seen = await deps.ledger.loadSeen(deps.region, slice.start, slice.end);
  const forwardedAt = new Date().toISOString();
  const fresh: OutgoingRecord[] = [];
  const filtered: SourceEvent[] = [];
  for (const event of events) {
    if ((progress.handledThrough && isAtOrBefore(event, progress.handledThrough)) || seen.has(seenKey(event.eventId))) {
      summary.duplicatesSkipped += 1;
    } else if (!deps.passesFilters(event)) {
      filtered.push(event);
    } else {
      const record = buildRecord(event, {
        connectorName: deps.connectorName,
        region: deps.region,
        forwardedAt,
        flatten: deps.flatten,
        maxRecordBytes: Math.min(deps.config.batchMaxBytes - 2, deps.sink.maxRecordBytes ?? Infinity),
      });
      if (record.truncated) summary.truncated += 1;
      if (record.unparsed) summary.unparsed += 1;
      fresh.push(record);
    }
  }
  if (filtered.length > 0) {
    // In a settled slice a retry simply filters them again.
    if (!progress.saveThrough) await deps.ledger.markSeen(deps.region, filtered);
    summary.filtered += filtered.length;
  }
  await deliverBatches(
    fresh,
    {
      sink: deps.sink,
      limits: { maxEvents: deps.config.batchMaxEvents, maxBytes: deps.config.batchMaxBytes },
      deadline: deps.deadline,
      what: deps.region,
      onDelivered: async (batch) => {
        delays.add((deps.now ?? Date.now)() / 1000, batch.map((r) => r.eventTime));
        if (progress.saveThrough) {
          const last = batch[batch.length - 1];
          await progress.saveThrough({ time: last.eventTime, eventId: last.eventId });
        } else {
          await deps.ledger.markSeen(deps.region, batch);
        }
      },
    },
    summary,
  );
}

const clamp = (n: number, min: number, max: number): number => Math.min(max, Math.max(min, n));
