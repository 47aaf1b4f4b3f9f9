/**
 * What both DNIF stand-ins (HTTP and syslog) keep of the events they take in: the first copy of
 * each `dnifForwarder.eventId`, how many came again, and the tests waiting for a number of
 * distinct events.
 */
import type { DnifEvent } from './dnif-receiver';

export class EventLedger {
  private readonly firstById = new Map<string, DnifEvent>();
  private waiters: Array<() => void> = [];
  /** Events whose eventId had been taken in before. */
  duplicates = 0;

  /** `failure` is checked by every waiter: an error it returns rejects them at once. */
  constructor(private readonly failure: () => Error | undefined = () => undefined) {}

  /** Counts one event by its eventId; one without an id (or no JSON at all) is not counted. */
  add(event: DnifEvent | undefined): void {
    const id = event?.dnifForwarder?.eventId;
    if (typeof id !== 'string') return;
    if (this.firstById.has(id)) this.duplicates++;
    else this.firstById.set(id, event as DnifEvent);
  }

  /** Lets the waiters look again (after events were added, or a failure appeared). */
  notify(): void {
    this.waiters.forEach((w) => w());
  }

  /** A copy of the first copy of each event by eventId. */
  byId(): Map<string, DnifEvent> {
    return new Map(this.firstById);
  }

  /** Resolves once `n` distinct eventIds have arrived; rejects on a failure or after `timeoutMs`. */
  waitFor(n: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const failed = this.failure();
        if (!failed && this.firstById.size < n) return false;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        if (failed) reject(failed);
        else resolve();
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`waited ${timeoutMs} ms for ${n} events, got ${this.firstById.size}`));
      }, timeoutMs);
      if (!check()) this.waiters.push(check);
    });
  }

  /** Forgets the events and the duplicate count (waiters stay). */
  clear(): void {
    this.firstById.clear();
    this.duplicates = 0;
  }
}
