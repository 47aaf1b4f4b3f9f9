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

/**
 * DNIF (or a proxy before it) answered with a redirect. Following it would turn the POST into a
 * body-less GET whose 2xx passes for delivery, so it is a failed delivery, never followed.
 */
export class SinkRedirectedError extends SinkRejectedError {
  constructor(
    status: number,
    reason: string,
    /** The Location's host (never its path or query, which may carry a token); undefined when absent. */
    readonly locationHost: string | undefined,
    attempts: number,
  ) {
    super(status, reason, attempts);
    this.message = `DNIF answered HTTP ${status}${reason ? ` ${reason}` : ''}, a redirect${locationHost ? ` to ${locationHost}` : ''}: redirects are not followed; set dnif.url to the address that takes the POST`;
    this.name = 'SinkRedirectedError';
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
    /** The reason phrase of the last HTTP answer ("Bad Gateway"). */
    readonly lastReason?: string,
  ) {
    super(message);
    this.name = 'SinkUnavailableError';
  }
}
