// Run only by quiet-environment.test.ts (not a *.test.ts file): one noisy pass, one noisy failure.
import { logger } from '../../../functions/core/logger';

it('passes noisily', () => {
  console.log('NOISE-OF-PASS');
  process.stdout.write('RAW-OF-PASS\n');
  logger.error('LOG-OF-PASS');
});

it('fails noisily', () => {
  console.log('NOISE-OF-FAIL');
  logger.error('LOG-OF-FAIL');
  expect('the failure').toBe('shown');
});
