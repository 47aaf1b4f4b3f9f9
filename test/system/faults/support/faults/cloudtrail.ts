/** CloudTrail faults, queued on the stand-in for a region: throttle bursts, 5xx, resets, short pages, delays. */
import type { StandIns } from '../../../../../standins';
import { rng, seedFor, type Rng } from '../suite';

/** Before each slice a run reads, with chance `rate`, one fault for that region, drawn from the region's own stream. */
export class SliceFaults {
  private readonly rngs = new Map<string, Rng>();

  constructor(
    private readonly s: StandIns,
    /** The schedule's name: each region's stream is seeded by `${name}/${region}`. */
    private readonly name: string,
  ) {}

  private rngOf(region: string): Rng {
    let r = this.rngs.get(region);
    if (!r) this.rngs.set(region, (r = rng(seedFor(`${this.name}/${region}`))));
    return r;
  }

  beforeSlice(region: string, rate: number): void {
    const r = this.rngOf(region);
    if (!r.chance(rate)) return;
    const ct = this.s.cloudtrail;
    r.weighted<() => void>([
      [3, () => ct.injectFault({ kind: 'throttle', code: r.pick(['ThrottlingException', 'Throttling'] as const), times: r.int(1, 3), region })],
      [3, () => ct.injectFault({ kind: 'internal', status: r.pick([500, 503] as const), times: r.chance(0.1) ? r.int(3, 10) : r.int(1, 2), region })],
      [2, () => ct.injectFault({ kind: 'reset', times: r.int(1, 2), region })],
      [2, () => ct.injectFault({ kind: 'short-page', size: r.int(1, 49), times: r.int(1, 3), region })],
      [1, () => ct.injectFault({ kind: 'delay', ms: r.chance(0.2) ? r.int(1500, 4000) : r.int(50, 1500), region })],
    ])();
  }
}

/** Before an invocation, with chance `rate`, one to three faults for regions drawn from `rnd`. */
export function queueRunFaults(s: StandIns, rnd: Rng, regions: readonly string[], rate: number): void {
  for (let k = rnd.chance(rate) ? rnd.int(1, 3) : 0; k > 0; k--) {
    const region = rnd.pick(regions);
    rnd.weighted<() => void>([
      [3, () => s.cloudtrail.injectFault({ kind: 'throttle', times: rnd.int(1, 3), region })],
      [3, () => s.cloudtrail.injectFault({ kind: 'internal', status: rnd.pick([500, 503] as const), times: rnd.int(1, 2), region })],
      [2, () => s.cloudtrail.injectFault({ kind: 'reset', region })],
      [2, () => s.cloudtrail.injectFault({ kind: 'short-page', size: rnd.int(1, 49), times: rnd.int(1, 3), region })],
      [1, () => s.cloudtrail.injectFault({ kind: 'delay', ms: rnd.int(100, 2500), region })],
    ])();
  }
}
