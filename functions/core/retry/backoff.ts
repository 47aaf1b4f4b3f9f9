/** How long to wait before the next attempt. */

/** "Full jitter" exponential backoff (AWS Architecture Blog): random in [0, min(cap, base·2^attempt)]. */
export function backoffDelayMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(capMs, baseMs * 2 ** attempt));
}

/** Exponential backoff without jitter: min(cap, base·2^attempt). */
export const cappedExponentialMs = (attempt: number, baseMs: number, capMs: number): number => Math.min(capMs, baseMs * 2 ** attempt);
