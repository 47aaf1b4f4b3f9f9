/**
 * Reads CloudTrail Event history with LookupEvents: one time slice at a time, every page,
 * within the 2 requests/s limit, retrying throttling and transient faults until the deadline.
 */
import { CloudTrailClient, LookupEventsCommand, type Event as LookupEvent } from '@aws-sdk/client-cloudtrail';
import { Deadline, DeadlineReachedError } from '../deadline';
import { isThrottleError, isTransientAwsError } from '../errors/aws';
import { SourceError } from '../errors/source-error';
import { backoffDelayMs, retry } from '../retry';
import type { RateLimiter } from './rate-limiter';
import type { CloudTrailCredentials } from './credentials';
import type { SourceEvent } from '../event';

export { SourceError };

export interface SliceResult {
  events: SourceEvent[];
  pages: number;
  throttles: number;
  retries: number;
  /** false: stopped at `maxEvents` before the last page; `events` is then only the newest part. */
  complete: boolean;
}

const PAGE_SIZE = 50; // the API maximum

export function createCloudTrailClient(region: string, credentials: CloudTrailCredentials): CloudTrailClient {
  return new CloudTrailClient({
    region,
    credentials,
    // Retries are ours (below): we count throttles and keep to the deadline.
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 20_000 },
  });
}

export interface CloudTrailSourceOptions {
  region: string;
  client: CloudTrailClient;
  limiter: RateLimiter;
  /** Transient-fault retries per page before giving up (throttles are retried until the deadline). */
  maxTransientRetries?: number;
  random?: () => number;
}

export class CloudTrailSource {
  readonly region: string;
  private readonly client: CloudTrailClient;
  private readonly limiter: RateLimiter;
  private readonly maxTransientRetries: number;
  private readonly random: () => number;

  constructor(options: CloudTrailSourceOptions) {
    this.region = options.region;
    this.client = options.client;
    this.limiter = options.limiter;
    this.maxTransientRetries = options.maxTransientRetries ?? 8;
    this.random = options.random ?? Math.random;
  }

  /**
   * Every event with startSec <= EventTime < endSec, oldest first. LookupEvents' bounds are
   * inclusive and its pages newest first, so we ask for [start, end], drop `end` and sort.
   */
  async fetchSlice(startSec: number, endSec: number, deadline: Deadline, maxEvents = Number.POSITIVE_INFINITY): Promise<SliceResult> {
    const result: SliceResult = { events: [], pages: 0, throttles: 0, retries: 0, complete: true };
    const seen = new Set<string>();
    let nextToken: string | undefined;
    do {
      const page = await this.fetchPage(startSec, endSec, nextToken, deadline, result);
      result.pages += 1;
      for (const raw of page.Events ?? []) {
        const event = toSourceEvent(raw);
        if (!event || event.eventTime < startSec || event.eventTime >= endSec || seen.has(event.eventId)) continue;
        seen.add(event.eventId);
        result.events.push(event);
      }
      nextToken = page.NextToken;
      if (nextToken && result.events.length >= maxEvents) {
        result.complete = false;
        break;
      }
    } while (nextToken);
    result.events.sort((a, b) => a.eventTime - b.eventTime || (a.eventId < b.eventId ? -1 : 1));
    return result;
  }

  private async fetchPage(startSec: number, endSec: number, nextToken: string | undefined, deadline: Deadline, stats: SliceResult) {
    try {
      return await retry(
        async () => {
          if (!deadline.allows(this.limiter.waitMs())) throw new DeadlineReachedError(`reading CloudTrail in ${this.region}`);
          return this.client.send(
            pacedBy(
              this.limiter,
              deadline,
              new LookupEventsCommand({
                StartTime: new Date(startSec * 1000),
                EndTime: new Date(endSec * 1000),
                MaxResults: PAGE_SIZE,
                NextToken: nextToken,
              }),
            ),
            // The client's own timeout (20 s) can outlast the run: a slow answer must not carry it past the deadline.
            { abortSignal: AbortSignal.timeout(Math.max(1, deadline.remainingMs())) },
          );
        },
        {
          // Throttles are retried until the deadline, transient faults `maxTransientRetries` times.
          isRetryable: (err, attempt) => !(err instanceof DeadlineReachedError) && (isThrottleError(err) || (isTransientAwsError(err) && attempt < this.maxTransientRetries)),
          // A throttle waits in the limiter (penalised below), not here.
          backoff: (attempt, err) => (isThrottleError(err) ? 0 : backoffDelayMs(attempt, 200, 10_000, this.random)),
          onRetry: (err, attempt) => {
            if (!isThrottleError(err)) {
              stats.retries += 1;
              return;
            }
            stats.throttles += 1;
            // Someone else shares this account's limit: back off beyond our own spacing.
            this.limiter.penalise(backoffDelayMs(Math.min(attempt, 5), 300, 5_000, this.random) + 300);
          },
          deadline,
          exhausted: (err) => new DeadlineReachedError(`${isThrottleError(err) ? 'reading' : 'retrying'} CloudTrail in ${this.region}`),
        },
      );
    } catch (err) {
      throw err instanceof DeadlineReachedError ? err : toSourceError(err, this.region);
    }
  }
}

/**
 * Takes the rate-limit slot as the request leaves: after the SDK has serialised and signed it,
 * just before the HTTP handler. Time spent (or stalled) in between can then only delay the
 * request, never bunch it with the next one, so the limiter needs only a small margin. The
 * answer is reported back too, so no call leaves before the one `rate` places earlier was answered
 * a second ago (see RateLimiter.answered).
 */
export const LOOKUP_RATE_LIMIT_MIDDLEWARE = 'lookupEventsRateLimit';

function pacedBy(limiter: RateLimiter, deadline: Deadline, command: LookupEventsCommand): LookupEventsCommand {
  command.middlewareStack.add(
    (next) => async (args) => {
      await limiter.acquire(deadline);
      try {
        return await next(args);
      } finally {
        limiter.answered();
      }
    },
    { step: 'deserialize', priority: 'low', name: LOOKUP_RATE_LIMIT_MIDDLEWARE },
  );
  return command;
}

function toSourceEvent(raw: LookupEvent): SourceEvent | undefined {
  if (!raw.EventId || !raw.EventTime) return undefined;
  return {
    eventId: raw.EventId,
    eventTime: Math.floor(raw.EventTime.getTime() / 1000),
    eventName: raw.EventName,
    eventSource: raw.EventSource,
    readOnly: raw.ReadOnly,
    username: raw.Username,
    accessKeyId: raw.AccessKeyId,
    resources: raw.Resources,
    cloudTrailEvent: raw.CloudTrailEvent,
  };
}

/** Names the failure the way a user can act on it; AWS messages carry no secrets. */
export function toSourceError(err: unknown, region: string): SourceError {
  const e = err as { name?: string; message?: string; code?: string };
  const name = e.name ?? 'Error';
  const detail = e.message ? `: ${e.message}` : '';
  return new SourceError(name, `LookupEvents failed in ${region} with ${name}${detail}`, region);
}
