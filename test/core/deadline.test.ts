import { Deadline } from '../../functions/core/deadline';

describe('Deadline', () => {
  it('keeps the reserve free', () => {
    let now = 0;
    const deadline = new Deadline(10_000, 2_000, () => now);
    expect(deadline.remainingMs()).toBe(8_000);
    expect(deadline.allows(7_999)).toBe(true);
    now = 8_000;
    expect(deadline.reached).toBe(true);
  });
});
