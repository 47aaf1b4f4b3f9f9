/**
 * The LookupEvents limiter (2 requests/s per account and region): even spacing, throttle
 * penalties, counting from answers, and pacing when a timer fires late or several callers wait.
 * How CloudTrailSource takes its slots is in cloudtrail-source.test.ts.
 */
import { Deadline, DeadlineReachedError } from '../../../functions/core/deadline';
import { RateLimiter } from '../../../functions/core/source/rate-limiter';
import { maxInAnyWindow } from '../../../standins/rate-window';

const block = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // a busy event loop: another region parsing a page, building records
  }
};

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

  it('keeps the spacing between several callers waiting on one limiter', async () => {
    // The slot each caller took, read back from the limiter (next free slot − 525 ms) on a clock
    // held still for the reading: Date.now() in the callback would add the event loop's jitter.
    let heldAt: number | undefined;
    const limiter = new RateLimiter(2, 25, () => heldAt ?? Date.now());
    const taken: number[] = [];
    const slotJustTaken = () => {
      heldAt = Date.now();
      const slot = heldAt + limiter.waitMs() - 525;
      heldAt = undefined;
      return slot;
    };
    setTimeout(() => block(120), 300);
    await Promise.all(Array.from({ length: 4 }, () => limiter.acquire().then(() => taken.push(slotJustTaken()))));
    taken.sort((a, b) => a - b);
    for (let i = 1; i < taken.length; i++) expect(taken[i] - taken[i - 1]).toBeGreaterThanOrEqual(525 - 1);
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

/**
 * A timer that fires late (a busy event loop, a GC pause) must not let the following calls come
 * closer together: the next slot counts from when a slot is really taken. Found by the fault
 * schedules, where the CloudTrail stand-in saw 3 LookupEvents within 999 ms (gaps 501 + 498 ms).
 * The clock is the test's, so the late wake-ups happen exactly as written on any machine.
 */
describe('RateLimiter with a late timer', () => {
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
    // Each call a full spacing (500 ms + the 5 ms margin) after the one before, late or not.
    for (let i = 1; i < sent.length; i++) expect(sent[i] - sent[i - 1]).toBeGreaterThanOrEqual(505);
    // Still about 2 a second: the late wake-ups cost only their own delay.
    expect(sent[sent.length - 1] - sent[0]).toBeLessThanOrEqual(lateness.length * 505 + 40 + 25);
  });

  it('stops at the deadline when another caller takes the slot it waited for, instead of waiting for the next', async () => {
    jest.useFakeTimers();
    let now = 1_000_000;
    const limiter = new RateLimiter(2, 10, () => now);
    await limiter.acquire();
    // Both wait for the slot 510 ms on; the first in line takes it. The second's deadline allowed
    // that wait but not another 510 ms: it must give up, not wake after its run should have ended.
    const first = limiter.acquire();
    const second = limiter.acquire(new Deadline(now + 800, 0, () => now));
    const outcome = second.then(
      () => 'acquired',
      (err: unknown) => (err instanceof DeadlineReachedError ? 'deadline' : String(err)),
    );
    now += 510;
    await jest.advanceTimersByTimeAsync(510);
    await first;
    now += 510;
    await jest.advanceTimersByTimeAsync(510);
    expect(await outcome).toBe('deadline');
  });
});
