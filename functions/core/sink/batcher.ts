import type { OutgoingRecord } from './records';

export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
}

/** JSON array `[a,b]` costs 2 + commas; NDJSON costs a newline per record. */
export function bodyBytes(records: OutgoingRecord[]): number {
  return records.reduce((n, r) => n + r.bytes, 0) + records.length + 1;
}

/** Splits records, in order, into batches bounded by count and serialised bytes. */
export function toBatches(records: OutgoingRecord[], limits: BatchLimits): OutgoingRecord[][] {
  const batches: OutgoingRecord[][] = [];
  let current: OutgoingRecord[] = [];
  let bytes = 1;
  for (const record of records) {
    const cost = record.bytes + 1;
    if (current.length > 0 && (current.length >= limits.maxEvents || bytes + cost > limits.maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 1;
    }
    current.push(record);
    bytes += cost;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
