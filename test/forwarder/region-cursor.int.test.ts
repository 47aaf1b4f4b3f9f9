/**
 * The cursor's own rules (functions/forwarder/read-plan.ts and region-cursor.ts): which spans a
 * run reads for a budget, how the re-read window narrows, when a slice counts as settled, and
 * how a run cut short resumes. The store is the real RegionLedger over dynalite.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RegionLedger } from '../../functions/core/checkpoint/region-ledger';
import { callsFor, planReads, type ReadPlanInput } from '../../functions/forwarder/read-plan';
import { FIRST_SLICE_SECONDS, RegionCursor } from '../../functions/forwarder/region-cursor';
import { startDynamoDb, type DynamoDbStandIn } from '../../standins';

const NOW = 1_800_000_000;
const L = 900;
const settings = { latenessSeconds: L, backfillSeconds: 3600, settleSeconds: 300 };

describe('read plan', () => {
  // A run caught up after the previous one 300 s ago: sweep at its now − L, head at its now.
  const caughtUp = (over: Partial<ReadPlanInput> = {}): ReadPlanInput => ({
    nowSec: NOW,
    from: NOW - 300 - L,
    head: NOW - 300,
    latenessSeconds: L,
    fallbackRereadSeconds: 300,
    eventsPerSecond: 5,
    budgetCalls: 500,
    ...over,
  });

  it('at low volume re-reads the whole lateness window, the new span first', () => {
    const plan = planReads(caughtUp());
    expect(plan).toMatchObject({ mode: 'fresh-first', rereadSeconds: L });
    // New span, then the re-read back to the sweep (which settles its oldest part); no separate settle pass.
    expect(plan.ranges).toEqual([
      { start: NOW - 300, end: NOW, kind: 'head' },
      { start: NOW - 300 - L, end: NOW - 300, kind: 'head' },
    ]);
    expect(plan.plannedCalls).toBe(callsFor(300, 5) + callsFor(L, 5));
  });

  it('narrows the re-read window to what the budget pays for, keeping the settle pass and the new span', () => {
    // 20 events/s: the new span and the settle pass cost 2 × 121 calls; 300 calls leave ~58 for re-reading.
    const plan = planReads(caughtUp({ eventsPerSecond: 20, budgetCalls: 300 }));
    expect(plan.mode).toBe('fresh-first');
    expect(plan.rereadSeconds).toBeGreaterThan(0);
    expect(plan.rereadSeconds).toBeLessThan(L);
    expect(plan.plannedCalls).toBeLessThanOrEqual(300);
    // One second wider would not fit.
    const wider = planReads(caughtUp({ eventsPerSecond: 20, budgetCalls: plan.plannedCalls as number }));
    expect(wider.rereadSeconds).toBe(plan.rereadSeconds);
    const [fresh, reread, settle] = plan.ranges;
    expect(fresh).toEqual({ start: NOW - 300, end: NOW, kind: 'head' });
    expect(reread).toEqual({ start: NOW - 300 - plan.rereadSeconds, end: NOW - 300, kind: 'head' });
    expect(settle).toEqual({ start: NOW - 300 - L, end: NOW - L, kind: 'settle' });
  });

  it('re-reads nothing and reads oldest first while a backlog exceeds the budget', () => {
    const plan = planReads(caughtUp({ eventsPerSecond: 80, budgetCalls: 500 }));
    expect(plan).toMatchObject({ mode: 'oldest-first', rereadSeconds: 0 });
    expect(plan.ranges).toEqual([
      { start: NOW - 300 - L, end: NOW - L, kind: 'settle' },
      { start: NOW - 300, end: NOW, kind: 'head' },
    ]);
  });

  it('reads oldest first when head is more than LATENESS behind, and uses SETTLE until the density is known', () => {
    const behind = planReads(caughtUp({ from: NOW - 7200, head: NOW - 3600, budgetCalls: 10_000 }));
    expect(behind.mode).toBe('oldest-first');
    expect(behind.ranges[0]).toEqual({ start: NOW - 7200, end: NOW - 3600 - behind.rereadSeconds, kind: 'settle' });
    expect(behind.ranges[1]).toEqual({ start: NOW - 3600 - behind.rereadSeconds, end: NOW, kind: 'head' });

    const unknown = planReads(caughtUp({ eventsPerSecond: undefined }));
    expect(unknown).toMatchObject({ mode: 'oldest-first', rereadSeconds: 300 });
    expect(unknown.plannedCalls).toBeUndefined();
    expect(unknown.ranges).toEqual([
      // [now − L, head − SETTLE) was read before and is not settled yet: a later settle pass takes it.
      { start: NOW - 300 - L, end: NOW - L, kind: 'settle' },
      { start: NOW - 600, end: NOW, kind: 'head' },
    ]);
  });

  it('never reads before the settled point, even when head fell behind it (a crash inside a head slice)', () => {
    const plan = planReads(caughtUp({ from: NOW - 200, head: NOW - 300 }));
    expect(plan.ranges).toEqual([{ start: NOW - 200, end: NOW, kind: 'head' }]);
  });
});

describe('RegionCursor', () => {
  let db: DynamoDbStandIn;
  let store: RegionLedger;
  let seq = 0;
  beforeAll(async () => {
    db = await startDynamoDb();
  });
  afterAll(() => db.close());
  beforeEach(() => {
    store = new RegionLedger(DynamoDBDocumentClient.from(db.client(), { marshallOptions: { removeUndefinedValues: true } }), db.tableName, `unit-${++seq}`);
  });

  it('anchors a new region at now − BACKFILL and saves it before reading anything', async () => {
    const cursor = await RegionCursor.load(store, 'r', settings, NOW);
    expect([cursor.head, cursor.sweep, cursor.sliceSeconds]).toEqual([NOW - 3600, NOW - 3600, FIRST_SLICE_SECONDS]);
    expect(await store.getCursor('r')).toMatchObject({ head: NOW - 3600, sweep: NOW - 3600 });
  });

  it('moves sweep over settled slices only while contiguous, head over every head slice', async () => {
    await store.saveCursor('r', { head: NOW - 600, sweep: NOW - 2000 });
    const cursor = await RegionCursor.load(store, 'r', settings, NOW);
    // A head slice after a gap: head moves, sweep stays (the gap is not settled).
    await cursor.done({ start: NOW - 600, end: NOW - 500 }, NOW, 'head', 100);
    expect([cursor.head, cursor.sweep]).toEqual([NOW - 500, NOW - 2000]);
    // The settle pass closes the gap part way.
    await cursor.done({ start: NOW - 2000, end: NOW - 1500 }, NOW, 'settle', 500);
    expect(cursor.sweep).toBe(NOW - 1500);
    // A contiguous head slice partly older than now − L: sweep follows to now − L, not beyond.
    await cursor.done({ start: NOW - 1500, end: NOW - 400 }, NOW, 'head', 500);
    expect([cursor.head, cursor.sweep]).toEqual([NOW - 400, NOW - L]);
    expect(await store.getCursor('r')).toMatchObject({ head: NOW - 400, sweep: NOW - L, sliceSeconds: 500 });
  });

  it('marks a slice settled only when wholly older than LATENESS at its read and contiguous', async () => {
    await store.saveCursor('r', { head: NOW, sweep: NOW - 2000 });
    const cursor = await RegionCursor.load(store, 'r', settings, NOW);
    expect(cursor.progressFor({ start: NOW - 2000, end: NOW - 1000 }, NOW, 'head').saveThrough).toBeDefined();
    expect(cursor.progressFor({ start: NOW - 2000, end: NOW - 800 }, NOW, 'head').saveThrough).toBeUndefined();
    expect(cursor.progressFor({ start: NOW - 1900, end: NOW - 1000 }, NOW, 'head').saveThrough).toBeUndefined();
    expect(cursor.progressFor({ start: NOW - 1900, end: NOW - 1000 }, NOW, 'settle').saveThrough).toBeDefined();
  });

  it('resumes a partly delivered settled slice where delivery stopped, not at its start', async () => {
    await store.saveCursor('r', { head: NOW - 100, sweep: NOW - 3000, eventsPerSecond: 1 });
    const first = await RegionCursor.load(store, 'r', settings, NOW);
    const progress = first.progressFor({ start: NOW - 3000, end: NOW - 1000 }, NOW, 'settle');
    await progress.saveThrough?.({ time: NOW - 2400, eventId: 'e-17' });
    // The run is cut short here. The next one reads from the marker: the pages before it are not fetched again.
    const next = await RegionCursor.load(store, 'r', settings, NOW + 60);
    expect(next.deliveredThrough).toEqual({ time: NOW - 2400, eventId: 'e-17' });
    expect(next.settledThrough).toBe(NOW - 2400);
    const plan = next.ranges(NOW + 60, 1000);
    expect(Math.min(...plan.ranges.map((r) => r.start))).toBe(NOW - 2400);
    expect(next.progressFor({ start: NOW - 2400, end: NOW - 1200 }, NOW + 60, 'settle').handledThrough).toEqual({ time: NOW - 2400, eventId: 'e-17' });
    // Once sweep passes the marker it is dropped.
    await next.done({ start: NOW - 2400, end: NOW - 1200 }, NOW + 60, 'settle', 1200);
    expect(next.deliveredThrough).toBeUndefined();
    expect((await store.getCursor('r'))?.deliveredThrough).toBeUndefined();
  });

  it('keeps a narrower slice width and the measured density for the next run', async () => {
    await store.saveCursor('r', { head: NOW - 100, sweep: NOW - 1000 });
    const cursor = await RegionCursor.load(store, 'r', settings, NOW);
    await cursor.narrow(7, 40);
    // A slice too dense for the time left proves a density: the next run sizes its first slice by it.
    expect(await store.getCursor('r')).toMatchObject({ sliceSeconds: 7, eventsPerSecond: 40 });
    // A fresh span (younger than SETTLE) still lacks its late events: it sizes this run's next
    // slice, not the estimate kept for the next run.
    const fresh = await RegionCursor.load(store, 'r', settings, NOW);
    fresh.measured({ start: NOW - 100, end: NOW }, 500, NOW);
    expect(fresh.density).toBe(40);
    // Settled history read this run replaces the last run's estimate.
    fresh.measured({ start: NOW - 1000, end: NOW - 900 }, 2500, NOW);
    expect(fresh.density).toBe(25);
    fresh.measured({ start: NOW - 900, end: NOW - 800 }, 6000, NOW);
    expect(fresh.density).toBe(60);
    await fresh.done({ start: NOW - 100, end: NOW }, NOW, 'head', 200);
    const next = await RegionCursor.load(store, 'r', settings, NOW + 1);
    // Kept for the next run: the average of the settled history read (8500 events in 200 s).
    expect([next.sliceSeconds, next.eventsPerSecond]).toEqual([200, 42.5]);
  });
});
