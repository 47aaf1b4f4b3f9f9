/**
 * A green run stays quiet: the environment (quiet-environment.ts) drops what a passing test
 * wrote and prints what a failing one wrote, under its name. Runs jest on a fixture file.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..');

it('prints the output of the failed test only', () => {
  const r = spawnSync(
    path.join(ROOT, 'node_modules', '.bin', 'jest'),
    ['--config', 'jest.config.js', '--roots', '<rootDir>/test/helpers/quiet-fixture', '--testMatch', '**/*.fixture.ts', '--colors=false', '--ci'],
    { cwd: ROOT, encoding: 'utf8', timeout: 50_000, env: { ...process.env, TEST_VERBOSE: '', FAULTS_FULL: '', FAULTS_VERBOSE: '' } },
  );
  const all = r.stdout + r.stderr;
  expect(r.status).toBe(1);
  expect(all).toMatch(/Tests:\s+1 failed, 1 passed, 2 total/);
  for (const shown of ['--- output of the failed test "fails noisily" ---', 'NOISE-OF-FAIL', '"message":"LOG-OF-FAIL"']) expect(all).toContain(shown);
  // Quoted in jest's code frame around the failure, never printed as output of its own.
  expect(all.split('\n').filter((l) => /^(NOISE|RAW|\{"level).*OF-PASS/.test(l))).toEqual([]);
  expect(all).not.toMatch(/isolatedModules.*deprecated/);
});
