import { sleep } from '../time';

/**
 * Spaces calls evenly so that no 1-second window holds more than `ratePerSecond` of them.
 * LookupEvents allows 2 requests per second per account and region; spacing (rather than a
 * bucket that allows bursts) never trips the limit at a window's edge.
 */
export class RateLimiter {
  private nextSlotMs = 0;
  private readonly intervalMs: number;

  constructor(
    ratePerSecond: number,
    // A few ms of margin absorb timer and clock jitter between us and AWS.
    marginMs = 5,
    private readonly now: () => number = Date.now,
  ) {
    this.intervalMs = Math.ceil(1000 / ratePerSecond) + marginMs;
  }

  /** Resolves when the caller may send one request. */
  async acquire(): Promise<void> {
    const now = this.now();
    const slot = Math.max(now, this.nextSlotMs);
    this.nextSlotMs = slot + this.intervalMs;
    if (slot > now) await sleep(slot - now);
  }

  /** After a throttle, stay away a little longer than the normal spacing. */
  penalise(ms: number): void {
    this.nextSlotMs = Math.max(this.nextSlotMs, this.now() + ms);
  }

  /** Milliseconds until the next free slot (0 if free now). */
  waitMs(): number {
    return Math.max(0, this.nextSlotMs - this.now());
  }
}

const limiters = new Map<string, RateLimiter>();

/** One limiter per account (credentials) and region, shared by everything in this process. */
export function limiterFor(accountKey: string, region: string, ratePerSecond: number): RateLimiter {
  const key = `${accountKey}|${region}|${ratePerSecond}`;
  let limiter = limiters.get(key);
  if (!limiter) {
    limiter = new RateLimiter(ratePerSecond);
    limiters.set(key, limiter);
  }
  return limiter;
}
