/**
 * Time formatting. Deadline lives in deadline.ts: its re-export here is only for the four test
 * files the test-tree move (branch `tests`) rewrites; import it from deadline.ts.
 */
export { Deadline, DeadlineReachedError } from './deadline';

export const toIso = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();
