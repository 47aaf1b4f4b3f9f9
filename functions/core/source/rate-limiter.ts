import { DeadlineReachedError, type Deadline } from '../deadline';
import { sleep } from '../retry';

/**
 * Spaces calls evenly so that no 1-second window holds more than `ratePerSecond` of them.
 * LookupEvents allows 2 requests per second per account and region; spacing (rather than a
 * bucket that allows bursts) never trips the limit at a window's edge.
 */
export interface RateLimiterOptions {
  /**
   * Act as if `ratePerSecond` calls had just been answered: a new process cannot know when the
   * previous run (another Lambda instance) made its last calls, only that they were answered
   * before this run took the lease. The first calls then wait one window.
   */
  assumeRecentCalls?: boolean;
}

export class RateLimiter {
  private nextSlotMs = 0;
  private readonly intervalMs: number;
  /** When the last `ratePerSecond` calls were answered, oldest first. */
  private readonly answeredAt: number[] = [];

  constructor(
    private readonly ratePerSecond: number,
    // Margin for jitter between taking a slot and the request reaching AWS (a busy event loop,
    // the network). The slot is taken as the request leaves the SDK (CloudTrailSource), so
    // this covers only the last hop: two requests 1000 ms apart here may land ~990 ms apart there.
    private readonly marginMs = 10,
    private readonly now: () => number = Date.now,
    options: RateLimiterOptions = {},
  ) {
    this.intervalMs = Math.ceil(1000 / ratePerSecond) + marginMs;
    if (options.assumeRecentCalls) this.answeredAt.push(...Array.from({ length: Math.ceil(ratePerSecond) }, () => now()));
  }

  /**
   * Resolves when the caller may send one request. The next slot is counted from the moment
   * this one is actually taken: a timer that fires late (a busy event loop, e.g. several
   * regions at once) must not squeeze the following request closer. With a deadline, throws
   * DeadlineReachedError rather than wait past what it allows.
   */
  async acquire(deadline?: Pick<Deadline, 'allows'>): Promise<void> {
    for (;;) {
      const now = this.now();
      const slot = this.earliestMs();
      if (now >= slot) {
        this.nextSlotMs = now + this.intervalMs;
        return;
      }
      // Checked at every wait, not once before the first: another caller of this limiter (another
      // region's loop, a run still in flight) can take the slot waited for, and the next is later.
      if (deadline && !deadline.allows(slot - now)) throw new DeadlineReachedError('waiting for a LookupEvents slot');
      await sleep(slot - now);
    }
  }

  /**
   * Call when a request's answer (or failure) arrived. Spacing at send time cannot see how long
   * a request took to reach AWS (the first one of a process opens a connection): two sent
   * 510 ms apart were seen 489 ms apart. A request answered at t reached AWS by t, so the call
   * `ratePerSecond` places later leaves at or after t + 1 s: never more than the rate in a window there.
   */
  answered(): void {
    this.answeredAt.push(this.now());
    while (this.answeredAt.length > Math.ceil(this.ratePerSecond)) this.answeredAt.shift();
  }

  /** After a throttle, stay away a little longer than the normal spacing. */
  penalise(ms: number): void {
    this.nextSlotMs = Math.max(this.nextSlotMs, this.now() + ms);
  }

  /** Milliseconds until the next free slot (0 if free now). */
  waitMs(): number {
    return Math.max(0, this.earliestMs() - this.now());
  }

  private earliestMs(): number {
    const full = this.answeredAt.length >= Math.ceil(this.ratePerSecond);
    return Math.max(this.nextSlotMs, full ? this.answeredAt[0] + 1000 + this.marginMs : 0);
  }
}

const limiters = new Map<string, RateLimiter>();

/** One limiter per account (credentials) and region, shared by everything in this process. */
export function limiterFor(accountKey: string, region: string, ratePerSecond: number): RateLimiter {
  const key = `${accountKey}|${region}|${ratePerSecond}`;
  let limiter = limiters.get(key);
  if (!limiter) {
    // Created once the run holds the lease: the previous run's calls were all answered by now.
    limiter = new RateLimiter(ratePerSecond, undefined, undefined, { assumeRecentCalls: true });
    limiters.set(key, limiter);
  }
  return limiter;
}
