/**
 * The source of truth of a schedule: which events exist, in which region, at what EventTime and
 * from when on Event history shows them; and the checks of what DNIF received against it.
 */
import { generateEvents, type CloudTrailRecord, type DnifEvent, type StandIns } from '../../../../standins';
import type { SyslogReceiver } from '../../../../standins/syslog-receiver';
import type { Rng } from './suite';

export interface SourceEv {
  id: string;
  region: string;
  /** EventTime, epoch seconds. */
  time: number;
  /** Epoch ms from which LookupEvents shows it (-Infinity: from the start). */
  visibleAt: number;
  late: boolean;
}

export interface EventPlan {
  /** Old events, spread over [fromSec, toSec], visible from the start. */
  backlog: { count: number; fromSec: number; toSec: number };
  /** Seconds that each hold `size` events with the same EventTime (> 1 page when size > 50). */
  clusters: { sec: number; size: number }[];
  /** Events that happen while the schedule runs, each shown up to `latenessSeconds` late. */
  live: { count: number; fromSec: number; toSec: number; latenessSeconds: number; settleSeconds: number };
}

export class SourceTruth {
  readonly byId = new Map<string, SourceEv>();
  private readonly byRegion = new Map<string, SourceEv[]>();

  get size(): number {
    return this.byId.size;
  }

  regions(): string[] {
    return [...this.byRegion.keys()];
  }

  inRegion(region: string): SourceEv[] {
    return this.byRegion.get(region) ?? [];
  }

  add(ev: SourceEv): void {
    this.byId.set(ev.id, ev);
    const list = this.byRegion.get(ev.region) ?? [];
    list.push(ev);
    this.byRegion.set(ev.region, list);
  }

  sort(): void {
    for (const list of this.byRegion.values()) list.sort((a, b) => a.time - b.time);
  }

  lastTime(region?: string): number {
    const all = region ? this.inRegion(region) : [...this.byId.values()];
    return Math.max(...all.map((e) => e.time));
  }

  lateCount(): number {
    return [...this.byId.values()].filter((e) => e.late).length;
  }
}

const timeOf = (r: CloudTrailRecord) => Date.parse(r.eventTime) / 1000;

/**
 * Generate the plan's events for `region` from the shared real records (standins/fixtures),
 * add them to the CloudTrail stand-in, and to `truth`.
 */
export function addPlannedEvents(s: StandIns, truth: SourceTruth, region: string, plan: EventPlan, rnd: Rng, seed: number): void {
  const base = { region, accountId: s.accountId };
  const visible: CloudTrailRecord[] = [];
  if (plan.backlog.count > 0) {
    visible.push(...generateEvents({ ...base, count: plan.backlog.count, from: plan.backlog.fromSec * 1000, to: plan.backlog.toSec * 1000, seed }));
  }
  plan.clusters.forEach((c, i) => {
    visible.push(...generateEvents({ ...base, count: c.size, from: c.sec * 1000, to: c.sec * 1000, seed: seed + 1000 + i }));
  });
  s.cloudtrail.addEvents(region, visible, { accountId: s.accountId });
  for (const r of visible) truth.add({ id: r.eventID, region, time: timeOf(r), visibleAt: -Infinity, late: false });

  if (plan.live.count > 0) {
    const live = generateEvents({ ...base, count: plan.live.count, from: plan.live.fromSec * 1000, to: plan.live.toSec * 1000, seed: seed + 7 });
    const L = plan.live.latenessSeconds * 1000;
    const settle = plan.live.settleSeconds * 1000;
    for (const r of live) {
      // Most show up within a second, some within the settle window, some up to the full
      // lateness, and some exactly at the limit of the promise.
      const delay = rnd.weighted<() => number>([
        [60, () => rnd.int(0, 800)],
        [20, () => rnd.int(800, Math.max(800, settle))],
        [15, () => rnd.int(settle, L)],
        [5, () => L],
      ])();
      const visibleAt = timeOf(r) * 1000 + delay;
      s.cloudtrail.addEvents(region, [r], { accountId: s.accountId, visibleAt });
      truth.add({ id: r.eventID, region, time: timeOf(r), visibleAt, late: delay > 1000 });
    }
  }
  truth.sort();
}

export interface DeliveryReport {
  lost: string[];
  /** eventId → copies received. */
  copies: Map<string, number>;
  /** Copies beyond the first, summed. */
  duplicates: number;
  problems: string[];
}

/** What arrived at the receiver, against the truth: lost ids, copies, and record-level problems. */
/** What a receiver took, one entry per request (HTTP) or connection (syslog): the HTTP receiver itself fits. */
export interface ReceivedBatches {
  readonly requests: readonly { at: number; events: DnifEvent[] }[];
}

/** The syslog receiver's messages as one "request" per connection, in arrival order. */
export function syslogBatches(rx: SyslogReceiver): ReceivedBatches {
  const byConnection = new Map<number, { at: number; events: DnifEvent[] }>();
  for (const m of rx.messages) {
    const entry = byConnection.get(m.connection) ?? { at: m.at, events: [] };
    if (m.json) entry.events.push(m.json);
    byConnection.set(m.connection, entry);
  }
  return { requests: [...byConnection.values()] };
}

export function checkDelivery(dnif: ReceivedBatches, truth: SourceTruth, connectorName: string): DeliveryReport {
  const copies = new Map<string, number>();
  const problems: string[] = [];
  for (const req of dnif.requests) {
    // Oldest first within a region: each batch is one region's, in EventTime order.
    let last = -Infinity;
    for (const e of req.events) {
      const meta = e.dnifForwarder as Record<string, unknown> | undefined;
      const id = String(meta?.eventId);
      copies.set(id, (copies.get(id) ?? 0) + 1);
      const src = truth.byId.get(id);
      if (!src) {
        if (problems.length < 10) problems.push(`received ${id}, which is not a source event of this schedule`);
        continue;
      }
      if (e.eventID !== id || meta?.region !== src.region || meta?.connectorName !== connectorName) {
        if (problems.length < 10) problems.push(`record ${id}: dnifForwarder does not match (eventID ${String(e.eventID)}, region ${String(meta?.region)})`);
      }
      const t = Date.parse(String(e.eventTime)) / 1000;
      if (t < last && problems.length < 10) problems.push(`batch at ${req.at} is not oldest first (${id})`);
      last = t;
    }
  }
  const lost = [...truth.byId.keys()].filter((id) => !copies.has(id));
  const duplicates = [...copies.values()].reduce((n, c) => n + c - 1, 0);
  return { lost, copies, duplicates, problems };
}
