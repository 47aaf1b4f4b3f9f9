/** @type {import('jest').Config} */
module.exports = {
  // Output of passing tests is held back (test/helpers/quiet-environment.ts). Layout: test/README.md.
  testEnvironment: '<rootDir>/test/helpers/quiet-environment.ts',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/helpers/setup-env.ts'],
  transform: {
    // Type-checking is done once by `tsc --noEmit` in `npm test`; ts-jest only transpiles
    // (tsconfig.json sets isolatedModules, which makes ts-jest transpile each file on its own).
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 60000,
  // Integration suites start servers on loopback; two workers fit the 2-core CI machine.
  maxWorkers: 2,
};
