/** Time bounds for the checks: each has its own, all share the request's budget. */

export class CheckTimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'CheckTimeoutError';
  }
}

/**
 * Run `fn` for at most `ms`: when time is up the signal is aborted (the SDK and fetch stop the
 * request) and the promise rejects with CheckTimeoutError even if `fn` ignores the signal.
 */
export async function withTimeout<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new CheckTimeoutError(ms));
      controller.abort();
    }, Math.max(0, ms));
  });
  try {
    return await Promise.race([fn(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}
