/**
 * The per-region LookupEvents limiter under a busy event loop (several regions at once): a
 * timer that fires late must not squeeze the next request closer than the spacing.
 */
import { RateLimiter } from '../../functions/shared/source/rate-limiter';

const block = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // a busy event loop: another region parsing a page, building records
  }
};

describe('RateLimiter with late timers', () => {
  it('counts the next slot from when a slot is really taken', async () => {
    const limiter = new RateLimiter(2, 25);
    const taken: number[] = [];
    await limiter.acquire();
    taken.push(Date.now());
    // While the second acquire sleeps, the event loop is busy past its slot.
    setTimeout(() => block(200), 400);
    await limiter.acquire();
    taken.push(Date.now());
    await limiter.acquire();
    taken.push(Date.now());
    expect(taken[1] - taken[0]).toBeGreaterThanOrEqual(590); // woke ~75 ms late
    expect(taken[2] - taken[1]).toBeGreaterThanOrEqual(525);
  });

  it('keeps the spacing between several callers waiting on one limiter', async () => {
    const limiter = new RateLimiter(2, 25);
    const taken: number[] = [];
    setTimeout(() => block(120), 300);
    await Promise.all(Array.from({ length: 4 }, () => limiter.acquire().then(() => taken.push(Date.now()))));
    taken.sort((a, b) => a - b);
    for (let i = 1; i < taken.length; i++) expect(taken[i] - taken[i - 1]).toBeGreaterThanOrEqual(525 - 1);
  });
});
