/**
 * The delivery ledger: every batch the sink saw accepted (or saw fail), and which of them may
 * arrive at DNIF twice. It explains each duplicate DNIF holds, or names it as unexplained.
 *
 * An event may arrive more than once only if every copy but one came from a batch DNIF took
 * while the forwarder could not record it: the process killed, or the seen# write failed,
 * right after the 2xx (allowed: at most one batch per injected fault), or the 2xx lost (a
 * send aborted at the deadline after DNIF had stored the batch).
 */
import { seenKey } from '../../../../functions/core/checkpoint/region-ledger';
import type { OutgoingRecord } from '../../../../functions/core/sink/records';
import type { DeliveryReport, ReceivedBatches, SourceTruth } from './events';

interface Batch {
  id: number;
  run: number;
  ids: string[];
}

export interface DuplicateExplanation {
  /** Batches DNIF stored whose 2xx the forwarder never saw. */
  lostAcks: number;
  unexplained: string[];
  violations: string[];
}

const keyOf = (ids: readonly string[]): string => ids.join(',');

export class DeliveryLedger {
  private readonly batches: Batch[] = [];
  private readonly batchesOf = new Map<string, number[]>();
  private readonly allowed = new Set<number>();
  private readonly failedSends: string[] = [];
  private readonly hashToId = new Map<string, string>();

  /** Lets `allowBatchRecordedBy` find events by the hashes the checkpoint stores. */
  learn(truth: SourceTruth): void {
    for (const ev of truth.byId.values()) this.hashToId.set(seenKey(ev.id), ev.id);
  }

  get allowedBatches(): number {
    return this.allowed.size;
  }

  /** A batch DNIF accepted; returns its id. */
  accepted(records: OutgoingRecord[], run: number): number {
    const batch: Batch = { id: this.batches.length + 1, run, ids: records.map((r) => r.eventId) };
    this.batches.push(batch);
    for (const id of batch.ids) {
      const list = this.batchesOf.get(id) ?? [];
      list.push(batch.id);
      this.batchesOf.set(id, list);
    }
    return batch.id;
  }

  /** A batch whose send failed (DNIF may still have stored it: a lost 2xx). */
  sendFailed(records: OutgoingRecord[]): void {
    this.failedSends.push(keyOf(records.map((r) => r.eventId)));
  }

  /** This batch may arrive again: the run died right after its 2xx. */
  allow(batchId: number): void {
    this.allowed.add(batchId);
  }

  /** The write recording these hashes failed after DNIF's 2xx: the batch holding them may arrive again. */
  allowBatchRecordedBy(hashes: string[]): void {
    const id = hashes.map((h) => this.hashToId.get(h)).find((x): x is string => !!x);
    const batches = id ? this.batchesOf.get(id) : undefined;
    if (batches?.length) this.allow(batches[batches.length - 1]);
  }

  /** Matches what DNIF stored against the batches sent, and every extra copy against an allowance. */
  explain(received: ReceivedBatches, report: DeliveryReport): DuplicateExplanation {
    const violations: string[] = [];
    const accepted = new Map<string, number>();
    for (const b of this.batches) accepted.set(keyOf(b.ids), (accepted.get(keyOf(b.ids)) ?? 0) + 1);
    const failed = new Map<string, number>();
    for (const f of this.failedSends) failed.set(f, (failed.get(f) ?? 0) + 1);
    const sent = new Set([...accepted.keys(), ...failed.keys()]);
    const lostAckCopies = new Map<string, number>();
    let lostAcks = 0;
    for (const req of received.requests) {
      const key = keyOf(req.events.map((e) => String(e.dnifForwarder?.eventId)));
      if (key === '') continue;
      if ((accepted.get(key) ?? 0) > 0) {
        accepted.set(key, (accepted.get(key) as number) - 1);
      } else if (sent.has(key) || [...sent].some((k) => k.startsWith(`${key},`))) {
        // (Syslog: a connection cut mid-batch holds the first part of a batch whose send failed.)
        // Stored, but the 2xx did not reach the sink (its send failed, or an attempt it retried).
        lostAcks += 1;
        for (const id of key.split(',')) lostAckCopies.set(id, (lostAckCopies.get(id) ?? 0) + 1);
      } else {
        violations.push(`DNIF stored a batch the forwarder never sent (${req.events.length} events)`);
      }
    }
    const unexplained: string[] = [];
    for (const [id, copies] of report.copies) {
      const batches = this.batchesOf.get(id) ?? [];
      const lost = lostAckCopies.get(id) ?? 0;
      if (batches.length + lost !== copies) unexplained.push(`${id}: ${copies} copies at DNIF, ${batches.length} accepted batches, ${lost} lost 2xx`);
      else if (batches.filter((b) => !this.allowed.has(b)).length > 1) unexplained.push(`${id}: sent again after batches ${batches.join(',')}, not all allowed`);
    }
    return { lostAcks, unexplained, violations };
  }
}

/** When a run's sink had to give up (its deadline less the reserve), and whether it was cut off. */
export interface RunCut {
  at: number;
  cutOff: boolean;
}

/**
 * Without a view of the sink (the handler builds its own), a copy is explained only as a lost
 * 2xx: a send aborted at a run's deadline after DNIF stored the batch, so it was stored at the
 * instant that run was cut off. Returns the lost-2xx requests and the copies it cannot explain.
 */
export function explainByCutoffs(received: ReceivedBatches, report: DeliveryReport, cuts: readonly RunCut[]): { lostAcks: number; unexplained: string[] } {
  const lostAckRequests = new Set<number>();
  const unexplained: string[] = [];
  for (const [id, n] of report.copies) {
    if (n < 2) continue;
    const holding = received.requests.map((req, i) => ({ req, i })).filter(({ req }) => req.events.some((e) => e.dnifForwarder?.eventId === id));
    for (const { req, i } of holding.slice(0, -1)) {
      if (cuts.some((c) => c.cutOff && req.at >= c.at - 150 && req.at <= c.at + 50)) lostAckRequests.add(i);
      else unexplained.push(`${id}: ${n} copies; an earlier one arrived at ${req.at}, not at a run's deadline`);
    }
  }
  return { lostAcks: lostAckRequests.size, unexplained };
}
