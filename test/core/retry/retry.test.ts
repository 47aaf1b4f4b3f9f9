import { backoffDelayMs, retry } from '../../../functions/core/retry';

const failing = (failures: number, err: unknown = new Error('boom')) => {
  let calls = 0;
  const fn = async (attempt: number) => {
    calls += 1;
    if (attempt < failures) throw err;
    return `ok after ${attempt}`;
  };
  return { fn, calls: () => calls };
};

describe('retry', () => {
  it('tries again until fn succeeds, passing the 0-based attempt and waiting the backoff between', async () => {
    const delays: number[] = [];
    const { fn, calls } = failing(2);
    await expect(retry(fn, { backoff: (a) => a + 1, onRetry: (_e, _a, d) => delays.push(d) })).resolves.toBe('ok after 2');
    expect(calls()).toBe(3);
    expect(delays).toEqual([1, 2]);
  });

  it('stops after maxAttempts with exhausted(err, "attempts"), or the error itself by default', async () => {
    const boom = new Error('boom');
    await expect(retry(failing(10, boom).fn, { maxAttempts: 3, backoff: () => 0 })).rejects.toBe(boom);
    const { fn, calls } = failing(10, boom);
    const reasons: string[] = [];
    await expect(retry(fn, { maxAttempts: 3, backoff: () => 0, exhausted: (_e, r) => (reasons.push(r), new Error('gave up')) })).rejects.toThrow('gave up');
    expect(calls()).toBe(3);
    expect(reasons).toEqual(['attempts']);
  });

  it('throws a failure isRetryable refuses at once, without a retry', async () => {
    const fatal = new Error('fatal');
    const { fn, calls } = failing(5, fatal);
    const onRetry = jest.fn();
    await expect(retry(fn, { isRetryable: (e) => e !== fatal, backoff: () => 0, onRetry })).rejects.toBe(fatal);
    expect(calls()).toBe(1);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it('asks the deadline before every wait: a wait it does not allow ends with exhausted(err, "deadline"), after onRetry', async () => {
    const order: string[] = [];
    const { fn, calls } = failing(5);
    await expect(
      retry(fn, {
        backoff: (a) => (a + 1) * 100,
        onRetry: (_e, a) => order.push(`retry ${a}`),
        deadline: { allows: (ms) => (order.push(`allows ${ms}`), ms < 200) },
        exhausted: (_e, reason) => new Error(reason),
      }),
    ).rejects.toThrow('deadline');
    expect(calls()).toBe(2);
    expect(order).toEqual(['retry 0', 'allows 100', 'retry 1', 'allows 200']);
  });

  it('an aborted signal cuts a wait short', async () => {
    const controller = new AbortController();
    const { fn } = failing(1);
    const started = Date.now();
    const run = retry(fn, { backoff: () => 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await expect(run).resolves.toBe('ok after 1');
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('backoff', () => {
  it('grows exponentially up to the cap, with jitter below it', () => {
    expect(backoffDelayMs(0, 100, 1000, () => 1)).toBe(100);
    expect(backoffDelayMs(3, 100, 1000, () => 1)).toBe(800);
    expect(backoffDelayMs(10, 100, 1000, () => 1)).toBe(1000);
    expect(backoffDelayMs(10, 100, 1000, () => 0.5)).toBe(500);
  });
});
