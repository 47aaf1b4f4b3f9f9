/**
 * The point in time a run must be finished by, minus a reserve kept for the last
 * checkpoint write and releasing the lease. Everything that waits asks it first.
 */
export class Deadline {
  constructor(
    private readonly endsAtMs: number,
    private readonly reserveMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds of useful work left (may be negative). */
  remainingMs(): number {
    return this.endsAtMs - this.reserveMs - this.now();
  }

  /**
   * Milliseconds a request already under way may still take: into half of the reserve. Cutting
   * a delivery off at the soft deadline would leave DNIF holding a batch we then send again.
   */
  inFlightAllowanceMs(): number {
    return this.remainingMs() + Math.floor(this.reserveMs / 2);
  }

  get reached(): boolean {
    return this.remainingMs() <= 0;
  }

  /** True when waiting `ms` would still leave time before the deadline. */
  allows(ms: number): boolean {
    return this.remainingMs() > ms;
  }
}

export class DeadlineReachedError extends Error {
  constructor(what: string) {
    super(`Stopped before the Lambda deadline while ${what}; the next run resumes from the checkpoint`);
    this.name = 'DeadlineReachedError';
  }
}
