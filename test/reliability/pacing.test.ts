/**
 * LookupEvents pacing when the process is busy: a timer that fires late (a busy event loop, a GC
 * pause) must not let the following calls come closer together. Found by the fault schedules,
 * where the CloudTrail stand-in saw 3 LookupEvents within 999 ms (gaps 501 + 498 ms).
 */
import { RateLimiter } from '../../functions/core/source/rate-limiter';
import { maxInAnyWindow } from '../../standins/rate-window';
import { useLogScan } from './support/log-scan';

useLogScan();

describe('LookupEvents limiter under a late timer', () => {
  afterEach(() => jest.useRealTimers());

  it('keeps ≤ 2 calls in any 1-second window when one wake-up is 40 ms late', async () => {
    jest.useFakeTimers();
    let now = 1_000_000;
    const limiter = new RateLimiter(2, 5, () => now);
    const sent: number[] = [];
    // [how late the timer fires] for each call after the first
    const lateness = [40, 0, 0, 0, 25, 0, 0];
    await limiter.acquire();
    sent.push(now);
    for (const late of lateness) {
      const wait = limiter.waitMs();
      const acquired = limiter.acquire();
      now += wait + late;
      await jest.advanceTimersByTimeAsync(wait + late);
      await acquired;
      sent.push(now);
    }
    expect(maxInAnyWindow(sent)).toBeLessThanOrEqual(2);
    // Still about 2 a second: the late wake-ups cost only their own delay.
    expect(sent[sent.length - 1] - sent[0]).toBeLessThanOrEqual(lateness.length * 505 + 40 + 25);
  });
});
