/**
 * The one retry loop: every caller that tries again (the sinks, the LookupEvents source, the
 * checkpoint store, test connection) states its policy here instead of writing its own loop.
 *
 * One round: run `fn(attempt)`; on a throw, stop with that error unless `isRetryable`; stop
 * with `exhausted(err, 'attempts')` after `maxAttempts`; otherwise take the delay from
 * `backoff`, tell `onRetry`, stop with `exhausted(err, 'deadline')` when `deadline` does not
 * allow the wait, sleep, and go again.
 */
import { sleep } from './sleep';

export type GiveUpReason = 'attempts' | 'deadline';

export interface RetryPolicy {
  /** Attempts in all, the first included (default: no bound; then `isRetryable` or the deadline must end it). */
  maxAttempts?: number;
  /** Whether the failure of attempt `attempt` (0-based) is worth another go (default: every failure). */
  isRetryable?: (err: unknown, attempt: number) => boolean;
  /** Milliseconds to wait after the failure of attempt `attempt` (0-based). */
  backoff: (attempt: number, err: unknown) => number;
  /** Called once a retry is decided, before the deadline is asked: counters, penalties, logs. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Asked before every wait: false ends the retries. A Deadline fits. */
  deadline?: { allows(ms: number): boolean };
  /** The error to throw when retries run out (default: the last failure itself). */
  exhausted?: (err: unknown, reason: GiveUpReason) => unknown;
  /** Aborting cuts a wait short (the next attempt then sees the aborted signal). */
  signal?: AbortSignal;
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const maxAttempts = policy.maxAttempts ?? Number.POSITIVE_INFINITY;
  const giveUp = (err: unknown, reason: GiveUpReason): unknown => (policy.exhausted ? policy.exhausted(err, reason) : err);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (policy.isRetryable && !policy.isRetryable(err, attempt)) throw err;
      if (attempt + 1 >= maxAttempts) throw giveUp(err, 'attempts');
      const delayMs = policy.backoff(attempt, err);
      policy.onRetry?.(err, attempt, delayMs);
      if (policy.deadline && !policy.deadline.allows(delayMs)) throw giveUp(err, 'deadline');
      if (delayMs > 0) await sleep(delayMs, policy.signal);
    }
  }
}
