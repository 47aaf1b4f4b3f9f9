/**
 * Injected faults waiting for the requests they target: each applies to the next `times`
 * matching requests, then is gone. Shared by the stand-ins that take faults.
 */
export class FaultQueue<F extends object> {
  private readonly queued: Array<F & { remaining: number }> = [];

  inject(fault: F & { times?: number }): void {
    const { times = 1, ...rest } = fault;
    if (times < 1) throw new Error('times must be at least 1');
    this.queued.push({ ...(rest as F), remaining: times });
  }

  /** The first queued fault `matches` accepts (one of its `times` used up); undefined when none. */
  take(matches: (f: F) => boolean): F | undefined {
    const i = this.queued.findIndex(matches);
    if (i < 0) return undefined;
    const f = this.queued[i];
    if (--f.remaining <= 0) this.queued.splice(i, 1);
    return f;
  }

  pending(): number {
    return this.queued.reduce((n, f) => n + f.remaining, 0);
  }

  clear(): void {
    this.queued.splice(0);
  }
}
