/**
 * The contract module is the one source of the settings' bounds: the functions' config loader
 * and the construct's option checks refuse the same values, and take the same defaults.
 */
import { loadForwarderConfig } from '../../functions/core/config';
import { NUMBER_SETTINGS, readNumber } from '../../functions/core/contract';
import { resolveSettings } from '../../infra/settings';

const stackOptions = Object.values(NUMBER_SETTINGS).filter((s): s is typeof s & { option: string } => 'option' in s);
const base = { SECRET_ID: 'arn:secret', CHECKPOINT_TABLE: 't' };

describe('readNumber', () => {
  it.each([
    ['12', { min: 0, max: 100 }, { value: 12 }],
    [' 7 ', { min: 0, max: 100 }, { value: 7 }],
    ['1.5', { min: 0, max: 2, decimal: true }, { value: 1.5 }],
    ['1.5', { min: 0, max: 2 }, { problem: 'must be a whole number, got "1.5"' }],
    ['ten', { min: 0, max: 2, decimal: true }, { problem: 'must be a number between 0 and 2, got "ten"' }],
    [101, { min: 0, max: 100 }, { problem: 'must be between 0 and 100, got 101' }],
  ])('%j within %j -> %j', (raw, bounds, expected) => expect(readNumber(raw, bounds)).toEqual(expected));
});

describe.each(stackOptions)('$env / option $option', (setting) => {
  it('has the same default in the stack and in the function', () => {
    expect((resolveSettings({}) as unknown as Record<string, number>)[setting.option]).toBe(setting.default);
    expect((loadForwarderConfig(base) as unknown as Record<string, number>)[setting.option]).toBe(setting.default);
  });

  it.each(['min', 'max'] as const)('accepts the %s bound and refuses one past it, in both', (end) => {
    const ok = setting[end];
    const bad = end === 'min' ? ok - 1 : ok + 1;
    expect(() => resolveSettings({ [setting.option]: ok })).not.toThrow();
    expect(() => loadForwarderConfig({ ...base, [setting.env]: String(ok) })).not.toThrow();
    if (bad >= 0) {
      expect(() => resolveSettings({ [setting.option]: bad })).toThrow(setting.option);
      expect(() => loadForwarderConfig({ ...base, [setting.env]: String(bad) })).toThrow(setting.env);
    }
  });
});
