/**
 * Sliding-window request limits, as the stand-ins measure "N requests per second":
 * a request at time t counts the requests in the half-open window (t - windowMs, t].
 */

/** At most `limit` admitted requests per key in any window of `windowMs`. */
export class SlidingWindowLimiter {
  private readonly admitted = new Map<string, number[]>();

  constructor(
    public limit: number,
    readonly windowMs = 1000,
  ) {}

  /** Admit (and remember) a request at time `t`, or refuse it. Refused requests use no capacity. */
  tryAcquire(key: string, t: number): boolean {
    const times = (this.admitted.get(key) ?? []).filter((s) => s > t - this.windowMs);
    const ok = times.length < this.limit;
    if (ok) times.push(t);
    this.admitted.set(key, times);
    return ok;
  }

  reset(): void {
    this.admitted.clear();
  }
}

/** The largest number of `times` inside any half-open window (t - windowMs, t]. */
export function maxInAnyWindow(times: readonly number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  // Every busiest window can be slid right until it ends on a request, so checking windows ending at each request suffices.
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[lo] <= sorted[hi] - windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}
