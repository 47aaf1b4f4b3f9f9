/**
 * DNIF faults. For forward() runs (schedule.ts) one fault at a time is armed before a batch and
 * undone once it settled (HTTP: 5xx/429 with or without Retry-After, a hang, a slow body, resets,
 * refusals, an outage, 4xx, redirects; syslog: a confirmation withheld, a drop mid-batch, a
 * refusal). For handler runs (handler-schedule.ts) one fault is armed before each invocation.
 */
import type { DnifReceiver, StandIns } from '../../../../../standins';
import type { SyslogReceiver } from '../../../../../standins/syslog-receiver';
import type { FaultCounts } from '../schedule-spec';
import { until, type Rng } from '../suite';

/**
 * DNIF hangs the next request (waiting up to `waitMs` for one to arrive) and answers the ones
 * after it, so the hung one runs into the sink's timeout or the run's deadline. Returns the undo.
 */
export function hangOneDnifRequest(dnif: DnifReceiver, waitMs: number): () => Promise<void> {
  const hung = () => dnif.attempts.filter((a) => a.status === 'hung').length;
  const before = hung();
  let over = false;
  dnif.hang();
  const released = until(() => over || hung() > before, 'a hung DNIF request', waitMs).then(
    () => over || dnif.normal(),
    () => over || dnif.normal(),
  );
  return async () => {
    over = true;
    dnif.normal();
    await released;
  };
}

export class BatchFaults {
  private armed = false;
  /** Batches being sent now: closing connections is only safe when none is. */
  private inFlight = 0;
  /** DNIF faults being undone (an outage that ends on a timer): settled between runs, never inside one. */
  private restoring: Promise<void>[] = [];

  constructor(
    private readonly s: StandIns,
    private readonly rnd: Rng,
    private readonly rate: () => number,
    private readonly counts: FaultCounts,
    private readonly violations: string[],
    private readonly batchMaxEvents: number,
    private readonly syslogRx?: SyslogReceiver,
  ) {}

  /** Arms at most one DNIF fault at a time; returns how to undo it once the batch is settled. */
  async arm(): Promise<() => Promise<void>> {
    const none = async () => undefined;
    if (this.armed || !this.rnd.chance(this.rate())) return none;
    const r = this.rnd;
    const dnif = this.s.dnif;
    this.armed = true;
    const done = async (undo: () => Promise<void> | void) => {
      await undo();
      this.armed = false;
    };
    if (this.syslogRx) return this.armSyslog(this.syslogRx, done);
    // Closing connections could cut a batch another region has in flight after DNIF stored it:
    // that is a lost 2xx, tested on its own, not here.
    const kind = r.weighted<string>([
      [6, 'status'],
      [1, 'hang'],
      [1, 'slow'],
      [this.inFlight === 0 ? 1 : 0, 'reset'],
      [this.inFlight === 0 ? 1 : 0, 'refuse'],
      [0.5, 'outage'],
      [0.3, 'reject4xx'],
      [0.6, 'redirect'],
    ]);
    switch (kind) {
      case 'status': {
        const retryAfter = r.weighted<number | string | undefined>([
          [4, undefined],
          [3, 0],
          [1, '0'],
          [0.5, 1],
          [0.5, new Date(Date.now() + 1000).toUTCString()],
        ]);
        dnif.failNext(r.chance(0.1) ? r.int(4, 8) : r.int(1, 3), r.pick([500, 502, 503, 504, 429]), retryAfter === undefined ? {} : { retryAfter });
        return () => done(() => dnif.normal());
      }
      case 'hang': {
        // The hung request runs into the sink's (scaled-down) timeout.
        const undo = hangOneDnifRequest(dnif, 5_000);
        return () => done(undo);
      }
      case 'slow': {
        dnif.slowBody(r.int(100, 1500));
        this.counts.dnif += 1;
        return () => done(() => dnif.normal());
      }
      case 'reset':
      case 'refuse': {
        await dnif.down(kind);
        const back = new Promise<void>((res) => setTimeout(res, r.int(30, 600))).then(() => dnif.up());
        return () => done(() => back);
      }
      case 'outage': {
        dnif.reject(r.pick([500, 503]), r.chance(0.5) ? { retryAfter: 0 } : {});
        const over = new Promise<void>((res) => setTimeout(res, r.int(500, 2500))).then(() => dnif.normal());
        return () => done(() => over);
      }
      case 'redirect': {
        // Followed, the POST would become a GET the landing page answers with 200: a batch lost.
        const location = r.chance(0.5) ? `${dnif.landingUrl}?from=redirect` : '/landing';
        dnif.failNext(r.int(1, 2), r.pick([301, 302, 303, 307, 308]), { location });
        return () => done(() => dnif.normal());
      }
      default: {
        dnif.failNext(1, r.pick([400, 413]));
        return () => done(() => dnif.normal());
      }
    }
  }

  /** Syslog faults: the Adapter takes a batch but does not confirm it, drops mid-batch, or refuses. */
  private async armSyslog(rx: SyslogReceiver, done: (undo: () => Promise<void> | void) => Promise<void>): Promise<() => Promise<void>> {
    const r = this.rnd;
    // The first syslog fault of a schedule is always the one it is for.
    const kind = rx.withheld === 0 ? 'unconfirmed' : r.weighted<string>([
      [4, 'unconfirmed'],
      [2, 'drop'],
      [this.inFlight === 0 ? 1 : 0, 'refuse'],
    ]);
    switch (kind) {
      case 'unconfirmed': {
        // Every message is taken; the close that confirms them never comes (a reset instead).
        rx.withholdConfirmation(r.int(1, 2));
        return () => done(() => rx.normal());
      }
      case 'drop': {
        rx.dropAfter(r.int(1, this.batchMaxEvents));
        return () => done(() => rx.normal());
      }
      default: {
        await rx.refuse();
        const back = new Promise<void>((res) => setTimeout(res, r.int(30, 600))).then(() => rx.accept());
        return () => done(() => back);
      }
    }
  }

  /** Undoes a fault once its batch is settled (in the background: an outage ends on its timer). */
  restore(undo: () => Promise<void>): void {
    this.restoring.push(undo().catch((err: unknown) => void this.violations.push(`could not undo a DNIF fault: ${String(err)}`)));
  }

  async settle(): Promise<void> {
    while (this.restoring.length > 0) await Promise.all(this.restoring.splice(0));
  }

  /** Wraps one send: the fault armed before it, undone after it, the attempts that failed counted. */
  async around<T extends { errors: number }>(send: () => Promise<T>): Promise<T> {
    const undo = await this.arm();
    this.inFlight += 1;
    try {
      const stats = await send();
      this.counts.dnif += stats.errors;
      return stats;
    } catch (err) {
      this.counts.dnif += (err as { attempts?: number }).attempts ?? 0;
      throw err;
    } finally {
      this.inFlight -= 1;
      this.restore(undo);
    }
  }
}

/** Arms one DNIF fault before a handler invocation; returns how to undo it after the run. */
export async function armRunFault(dnif: DnifReceiver, r: Rng, rate: number, shortRun: boolean, counts: FaultCounts): Promise<() => Promise<void>> {
  if (!r.chance(rate)) return async () => undefined;
  const kind = r.weighted<string>([
    [5, 'status'],
    [1, 'reset'],
    // A hung request waits for the sink's 30 s timeout or the deadline: only in short runs.
    [shortRun ? 1 : 0, 'hang'],
    [1, 'slow'],
  ]);
  if (kind === 'status') {
    const retryAfter = r.weighted<number | string | undefined>([
      [3, undefined],
      [3, 0],
      [1, 1],
    ]);
    dnif.failNext(r.int(1, 3), r.pick([500, 502, 503, 504, 429]), retryAfter === undefined ? {} : { retryAfter });
    return async () => dnif.normal();
  }
  if (kind === 'reset') {
    // Armed before the invocation, so no batch is in flight when connections drop.
    await dnif.down('reset');
    const back = new Promise<void>((res) => setTimeout(res, r.int(200, 900))).then(() => dnif.up());
    return () => back;
  }
  // The hung request runs into the deadline.
  if (kind === 'hang') return hangOneDnifRequest(dnif, 40_000);
  dnif.slowBody(r.int(200, 1500));
  counts.dnif += 1;
  return async () => dnif.normal();
}
