/**
 * How long events took from their EventTime to DNIF's acknowledgement, for one run: the
 * `DeliveryDelaySeconds` figures of the summary and the metric. One number per delivered event
 * (8 bytes) is kept until the run ends: ~27,000 of them at the API's ceiling, ~216 KB.
 */
export interface DelayFigures {
  p95: number;
  max: number;
}

export class DelayTally {
  private readonly delays: number[] = [];

  /** Events with these EventTimes (epoch s) were acknowledged at `ackSec`. */
  add(ackSec: number, eventTimes: Iterable<number>): void {
    for (const t of eventTimes) this.delays.push(Math.max(0, ackSec - t));
  }

  get count(): number {
    return this.delays.length;
  }

  figures(): DelayFigures | undefined {
    if (this.delays.length === 0) return undefined;
    const sorted = [...this.delays].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
    return { p95: Math.round(at(0.95)), max: Math.round(sorted[sorted.length - 1]) };
  }
}
