/**
 * How long after its EventTime an event shows up in Event history: a long tail, as CloudTrail
 * documents ("about 5 minutes", not guaranteed) and as measurements of its delays show.
 *
 *   share   delay after EventTime (uniform within the band)
 *   60 %    0 – 2 min
 *   30 %    2 – 5 min
 *    9 %    5 – 10 min
 *    1 %    10 min – LATENESS_SECONDS (15 min by default)
 *
 * `scale` compresses every bound the way the bench and tests compress time (LATENESS 900 s
 * run as 45 s: scale 1/20).
 */
export interface DelayBand {
  share: number;
  /** Upper bound of the band (ms); the lower bound is the previous band's. */
  upToMs: number;
}

export function longTailBands(latenessMs = 900_000, scale = 1): DelayBand[] {
  return [
    { share: 0.6, upToMs: 120_000 * scale },
    { share: 0.3, upToMs: 300_000 * scale },
    { share: 0.09, upToMs: 600_000 * scale },
    { share: 0.01, upToMs: Math.max(600_000 * scale, latenessMs * scale) },
  ];
}

/** A delay (ms) drawn from `bands` with `random` in [0, 1). */
export function drawDelayMs(bands: readonly DelayBand[], random: () => number): number {
  let u = random();
  let from = 0;
  for (const band of bands) {
    if (u < band.share) return Math.round(from + (u / band.share) * (band.upToMs - from));
    u -= band.share;
    from = band.upToMs;
  }
  return Math.round(from);
}
