/**
 * Time formatting. Deadline lives in deadline.ts, backoff and sleep in retry/; they are
 * re-exported here only for modules another branch is rewriting (forwarder/region-run.ts).
 */
export { Deadline, DeadlineReachedError } from './deadline';
export { backoffDelayMs, sleep } from './retry';

export const toIso = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();
