/** DNIF answered with a status that retrying will not change (4xx other than 429). */
export class SinkRejectedError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly attempts = 1,
  ) {
    super(`DNIF rejected the batch: HTTP ${status} ${reason}`.trim());
    this.name = 'SinkRejectedError';
  }
  get isAuthError(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** DNIF could not take the batch within the retries and time allowed (5xx, 429, network). */
export class SinkUnavailableError extends Error {
  constructor(
    message: string,
    readonly attempts: number,
    readonly lastStatus?: number,
    /** The last network failure, e.g. ECONNREFUSED, a TLS certificate code, or ETIMEDOUT_REQUEST. */
    readonly networkCode?: string,
  ) {
    super(message);
    this.name = 'SinkUnavailableError';
  }
}
