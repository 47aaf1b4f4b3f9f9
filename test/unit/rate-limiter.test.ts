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

describe('RateLimiter counts from answers too', () => {
  it('lets no call leave before the one two places earlier was answered a second ago (slow first request)', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 10, () => now);
    const wait = () => limiter.waitMs();
    expect(wait()).toBe(0);
    void limiter.acquire(); // sent at 0, reaches the server late, answered at 300
    now = 300;
    limiter.answered();
    expect(wait()).toBe(210); // the spacing alone
    now = 510;
    void limiter.acquire();
    now = 530;
    limiter.answered();
    // Spacing would allow 1020; the first answer (300) says not before 1310.
    expect(wait()).toBe(1310 - 530);
  });

  it('a limiter for a new process first waits one window (the previous run may have just called)', () => {
    const now = 5_000;
    const limiter = new RateLimiter(2, 10, () => now, { assumeRecentCalls: true });
    expect(limiter.waitMs()).toBe(1010);
    expect(new RateLimiter(2, 10, () => now).waitMs()).toBe(0);
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
