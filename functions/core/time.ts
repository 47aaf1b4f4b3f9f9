/** Time formatting (the Deadline is deadline.ts; backoff and sleep are retry/). */
export const toIso = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();
