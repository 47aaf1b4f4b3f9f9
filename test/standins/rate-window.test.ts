import { SlidingWindowLimiter, maxInAnyWindow } from '../../standins/rate-window';

describe('sliding 1 s window', () => {
  it('counts requests in the half-open window (t-1000, t]', () => {
    expect(maxInAnyWindow([])).toBe(0);
    expect(maxInAnyWindow([0, 1000, 2000])).toBe(1);
    expect(maxInAnyWindow([0, 999, 1000])).toBe(2);
    expect(maxInAnyWindow([2000, 0, 500, 999, 1998])).toBe(3);
  });

  it('admits at most the limit per key and does not let refused requests use capacity', () => {
    const l = new SlidingWindowLimiter(2);
    expect([0, 10, 20].map((t) => l.tryAcquire('a', t))).toEqual([true, true, false]);
    expect(l.tryAcquire('b', 20)).toBe(true);
    expect(l.tryAcquire('a', 999)).toBe(false);
    expect(l.tryAcquire('a', 1000)).toBe(true); // 0 has left; 10 is still in
    expect(l.tryAcquire('a', 1009)).toBe(false);
    expect(l.tryAcquire('a', 1010)).toBe(true);
  });
});
