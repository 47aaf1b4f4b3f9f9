import { RateLimiter } from '../../functions/core/source/rate-limiter';
import { Deadline } from '../../functions/core/deadline';
import { backoffDelayMs } from '../../functions/core/retry';

describe('RateLimiter', () => {
  it('never lets more than the rate through in any 1-second window', async () => {
    const limiter = new RateLimiter(2);
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      await limiter.acquire();
      times.push(Date.now());
    }
    for (const t of times) {
      expect(times.filter((u) => u > t - 1000 && u <= t).length).toBeLessThanOrEqual(2);
    }
    expect(times[5] - times[0]).toBeLessThan(2500 + 200);
  });

  it('waits longer after a throttle penalty', async () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(2, 5, () => now);
    await limiter.acquire();
    limiter.penalise(3000);
    expect(limiter.waitMs()).toBe(3000);
    now += 3000;
    expect(limiter.waitMs()).toBe(0);
  });
});

describe('backoff and deadline', () => {
  it('grows exponentially up to the cap, with jitter below it', () => {
    expect(backoffDelayMs(0, 100, 1000, () => 1)).toBe(100);
    expect(backoffDelayMs(3, 100, 1000, () => 1)).toBe(800);
    expect(backoffDelayMs(10, 100, 1000, () => 1)).toBe(1000);
    expect(backoffDelayMs(10, 100, 1000, () => 0.5)).toBe(500);
  });

  it('keeps the reserve free', () => {
    let now = 0;
    const deadline = new Deadline(10_000, 2_000, () => now);
    expect(deadline.remainingMs()).toBe(8_000);
    expect(deadline.allows(7_999)).toBe(true);
    now = 8_000;
    expect(deadline.reached).toBe(true);
  });
});
