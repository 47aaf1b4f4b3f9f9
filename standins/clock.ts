/**
 * A clock tests can speed up or move, for the stand-ins whose behaviour is about time
 * (SQS visibility timeouts, delays, long polls; the event source mapping's batching window).
 *
 *   const clock = new StandInClock({ scale: 60 });   // one real second = one clock minute
 *   clock.advance(6 * 60_000);                       // or jump: every sleeper due by then wakes now
 *
 * `scale` 1 and no `advance` is real time.
 */
export interface StandInClockOptions {
  /** Clock ms per real ms. Default 1. */
  scale?: number;
  /** Clock epoch ms at construction. Default Date.now(). */
  start?: number;
}

interface Sleeper {
  at: number;
  resolve: () => void;
  timer?: NodeJS.Timeout;
}

export class StandInClock {
  readonly scale: number;
  private readonly base: number;
  private readonly realStart = Date.now();
  private offset = 0;
  private readonly sleepers = new Set<Sleeper>();

  constructor(opts: StandInClockOptions = {}) {
    this.scale = opts.scale ?? 1;
    if (!(this.scale > 0)) throw new Error('scale must be positive');
    this.base = opts.start ?? Date.now();
  }

  now(): number {
    return Math.floor(this.base + (Date.now() - this.realStart) * this.scale + this.offset);
  }

  /** Move the clock forward by `ms`; sleepers due by then resolve. */
  advance(ms: number): void {
    if (ms < 0) throw new Error('the clock only moves forward');
    this.offset += ms;
    this.wakeDue();
  }

  /** Real milliseconds until clock time `at` (0 when past). */
  realMsUntil(at: number): number {
    return Math.max(0, Math.ceil((at - this.now()) / this.scale));
  }

  /** Resolve once the clock reaches now + `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.sleepUntil(this.now() + ms, signal);
  }

  sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
    if (at <= this.now() || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const s: Sleeper = {
        at,
        resolve: () => {
          clearTimeout(s.timer);
          this.sleepers.delete(s);
          signal?.removeEventListener('abort', s.resolve);
          resolve();
        },
      };
      this.sleepers.add(s);
      signal?.addEventListener('abort', s.resolve, { once: true });
      this.arm(s);
    });
  }

  private arm(s: Sleeper): void {
    s.timer = setTimeout(() => (this.now() >= s.at ? s.resolve() : this.arm(s)), this.realMsUntil(s.at));
  }

  private wakeDue(): void {
    const t = this.now();
    for (const s of [...this.sleepers]) if (s.at <= t) s.resolve();
  }
}
