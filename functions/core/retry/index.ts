export { backoffDelayMs, cappedExponentialMs } from './backoff';
export { retry, type GiveUpReason, type RetryPolicy } from './retry';
export { sleep } from './sleep';
