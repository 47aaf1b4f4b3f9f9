import { drawDelayMs, longTailBands } from '../../standins/release-delay';
import { seededRandom } from '../../standins/fixtures';

describe('long-tail release delay', () => {
  it('draws 60% within 2 min, 30% within 5, 9% within 10 and 1% up to LATENESS', () => {
    const random = seededRandom(42);
    const bands = longTailBands(900_000);
    const n = 100_000;
    const counts = [0, 0, 0, 0];
    let max = 0;
    for (let i = 0; i < n; i++) {
      const d = drawDelayMs(bands, random);
      counts[d <= 120_000 ? 0 : d <= 300_000 ? 1 : d <= 600_000 ? 2 : 3]++;
      max = Math.max(max, d);
    }
    const shares = counts.map((c) => Math.round((c / n) * 100));
    expect(shares).toEqual([60, 30, 9, 1]);
    expect(max).toBeLessThanOrEqual(900_000);
    expect(max).toBeGreaterThan(850_000);
  });

  it('scales every bound for compressed time', () => {
    expect(longTailBands(900_000, 1 / 20).map((b) => b.upToMs)).toEqual([6000, 15_000, 30_000, 45_000]);
    expect(drawDelayMs(longTailBands(900_000, 1 / 20), () => 0.999_999)).toBeLessThanOrEqual(45_000);
  });
});
