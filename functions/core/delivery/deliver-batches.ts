/**
 * The delivery core's last step, written once for every source: split records into batches,
 * send each, and have the caller record it as delivered before the next batch goes out.
 * Checkpoint after acknowledgement is what keeps the no-loss promise; a crash between the
 * sink's acknowledgement and `onDelivered` is the one case that re-sends a batch (contract,
 * "Delivery promise").
 */
import { toBatches, type BatchLimits } from '../sink/batcher';
import type { OutgoingRecord } from '../sink/records';
import type { Sink } from '../sink/sink';
import { DeadlineReachedError, type Deadline } from '../deadline';

/** What delivery adds to a source's run summary. */
export interface DeliveryTally {
  forwarded: number;
  batches: number;
  sinkErrors: number;
}

export interface DeliverOptions {
  sink: Sink;
  limits: BatchLimits;
  deadline: Deadline;
  /** What is being delivered, named in the deadline error (a region, an object key). */
  what: string;
  /** Runs after each batch is acknowledged and before the next is sent: make it durable here. */
  onDelivered: (batch: OutgoingRecord[]) => Promise<void>;
}

export async function deliverBatches(records: OutgoingRecord[], options: DeliverOptions, tally: DeliveryTally): Promise<void> {
  for (const batch of toBatches(records, options.limits)) {
    if (options.deadline.reached) throw new DeadlineReachedError(`delivering ${options.what}`);
    try {
      const stats = await options.sink.send(batch, options.deadline);
      tally.sinkErrors += stats.errors;
    } catch (err) {
      tally.sinkErrors += (err as { attempts?: number }).attempts ?? 1;
      throw err;
    }
    // The batch is in DNIF: remember it before anything else can fail.
    await options.onDelivered(batch);
    tally.forwarded += batch.length;
    tally.batches += 1;
  }
}
