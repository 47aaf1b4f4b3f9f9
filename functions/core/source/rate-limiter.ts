import { sleep } from '../retry';

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
    // Margin for jitter between taking a slot and the request reaching AWS (a busy event loop,
    // the network). The slot is taken as the request leaves the SDK (CloudTrailSource), so
    // this covers only the last hop: two requests 1000 ms apart here may land ~990 ms apart there.
    marginMs = 10,
    private readonly now: () => number = Date.now,
  ) {
    this.intervalMs = Math.ceil(1000 / ratePerSecond) + marginMs;
  }

  /**
   * Resolves when the caller may send one request. The next slot is counted from the moment
   * this one is actually taken: a timer that fires late (a busy event loop, e.g. several
   * regions at once) must not squeeze the following request closer.
   */
  async acquire(): Promise<void> {
    for (;;) {
      const now = this.now();
      if (now >= this.nextSlotMs) {
        this.nextSlotMs = now + this.intervalMs;
        return;
      }
      await sleep(this.nextSlotMs - now);
    }
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
