/**
 * Replay and backfill: forward every trail file delivered in a time range through the same
 * ledger as the queue path, so what was delivered is not sent again. Run by `npm run replay`
 * and by a direct invoke of the S3 forwarder with `{"replay":{...}}` (docs/s3-source.md).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { isDeliveryFailure, type ObjectOutcome } from '../core/delivery/trail-files/forward-object';
import { listTrailFiles, type ListedObject } from '../core/source/trail-files/list-trail-files';
import type { Deadline } from '../core/deadline';

export interface ReplayRequest {
  bucket: string;
  prefix?: string;
  /** ISO-8601. */
  from: string;
  to: string;
  /** Continue after this key (a previous run's `nextStartAfter`). */
  startAfter?: string;
}

export interface ReplaySummary {
  listed: number;
  delivered: number;
  alreadyDelivered: number;
  failed: { key: string; code?: string }[];
  /** Files another invocation holds the lease of (a queue message is on them). */
  busy: string[];
  forwarded: number;
  /** Set when the run stopped before the end: invoke again with `startAfter` = this. */
  nextStartAfter?: string;
}

export class ReplayRequestError extends Error {
  constructor(field: string, problem: string) {
    super(`replay.${field} ${problem}`);
    this.name = 'ReplayRequestError';
  }
}

export function parseReplayRequest(input: unknown): ReplayRequest {
  const r = (input ?? {}) as Record<string, unknown>;
  const text = (field: string, required: boolean): string | undefined => {
    const v = r[field];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v === '') throw new ReplayRequestError(field, 'must be a non-empty string');
    return v;
  };
  const bucket = text('bucket', true) as string;
  const from = text('from', true) as string;
  const to = text('to', true) as string;
  for (const [field, value] of [['from', from], ['to', to]]) if (Number.isNaN(Date.parse(value))) throw new ReplayRequestError(field, 'must be an ISO-8601 time');
  if (Date.parse(from) > Date.parse(to)) throw new ReplayRequestError('to', 'must not be before from');
  // '' is "from the first file" (a run cut before it finished any).
  const startAfter = r.startAfter === '' ? undefined : text('startAfter', false);
  return { bucket, prefix: (text('prefix', false) ?? '').replace(/^\/+|\/+$/g, ''), from, to, startAfter };
}

export async function replay(
  request: ReplayRequest,
  deps: { s3: S3Client; forward: (o: ListedObject) => Promise<ObjectOutcome>; deadline: Deadline },
): Promise<ReplaySummary> {
  const files = (await listTrailFiles(deps.s3, { bucket: request.bucket, prefix: request.prefix ?? '', from: new Date(request.from), to: new Date(request.to) }))
    .filter((f) => request.startAfter === undefined || f.key > request.startAfter);
  const summary: ReplaySummary = { listed: files.length, delivered: 0, alreadyDelivered: 0, failed: [], busy: [], forwarded: 0 };
  let lastDone = request.startAfter;
  for (const file of files) {
    if (deps.deadline.reached) return { ...summary, nextStartAfter: lastDone ?? '' };
    const outcome = await deps.forward(file);
    summary.forwarded += outcome.forwarded;
    const stop = (outcome.status === 'continued' && outcome.continuedBecause === 'deadline') || isDeliveryFailure(outcome.code);
    if (stop) {
      if (outcome.code) summary.failed.push({ key: file.key, code: outcome.code });
      return { ...summary, nextStartAfter: lastDone ?? '' };
    }
    if (outcome.status === 'continued') summary.busy.push(file.key);
    else if (outcome.status === 'delivered') summary.delivered += 1;
    else if (outcome.status === 'already-delivered') summary.alreadyDelivered += 1;
    else summary.failed.push({ key: file.key, code: outcome.code });
    lastDone = file.key;
  }
  return summary;
}
