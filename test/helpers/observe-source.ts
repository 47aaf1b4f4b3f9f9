/**
 * Watches the forwarder's CloudTrail side without changing it: when each LookupEvents call is
 * sent (as it leaves, after the limiter, per region) and which slices are read. Spies only record and call
 * through; they are installed for the whole test file.
 *
 * Why count at the client: the CloudTrail stand-in runs in the same event loop as the forwarder
 * and dynalite, so the arrival times it records jitter by 10-20 ms when that loop is busy; the
 * rule of SPEC.md ("LookupEvents is called at most 2 times per second") is about the calls.
 */
import type { DeserializeHandler, DeserializeHandlerArguments } from '@smithy/types';
import { CloudTrailClient, type LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CloudTrailSource, LOOKUP_RATE_LIMIT_MIDDLEWARE } from '../../functions/core/source/cloudtrail-source';
import { maxInAnyWindow } from '../../standins/rate-window';

type RelativeMiddleware = Parameters<LookupEventsCommand['middlewareStack']['addRelativeTo']>[0];

export interface SourceObserver {
  /** Calls since `mark`, per region: the most in any 1000 ms window. */
  maxPerSecond(regions: readonly string[], sinceMs: number): number;
  /** Ends of the slices read in `region` since `sinceMs` (an event at such a second crossed a boundary). */
  sliceEnds(region: string, sinceMs: number): Set<number>;
}

export function observeSource(): SourceObserver {
  const calls: { t: number; region: string }[] = [];
  const slices: { t: number; region: string; end: number }[] = [];
  let sendSpy: jest.SpyInstance | undefined;
  let sliceSpy: jest.SpyInstance | undefined;

  beforeAll(() => {
    const send = CloudTrailClient.prototype.send;
    sendSpy = jest.spyOn(CloudTrailClient.prototype, 'send').mockImplementation(function (this: CloudTrailClient, ...args: unknown[]) {
      const client = this;
      // Record when the request leaves: right after the source's limiter middleware lets it go.
      (args[0] as LookupEventsCommand).middlewareStack.addRelativeTo(
        ((next: DeserializeHandler<object, object>) => async (handlerArgs: DeserializeHandlerArguments<object>) => {
          const t = Date.now();
          calls.push({ t, region: await client.config.region() });
          return next(handlerArgs);
        }) as RelativeMiddleware,
        { relation: 'after', toMiddleware: LOOKUP_RATE_LIMIT_MIDDLEWARE, name: 'observeLookupEventsSent' },
      );
      return (send as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    } as typeof send);
    const fetchSlice = CloudTrailSource.prototype.fetchSlice;
    sliceSpy = jest.spyOn(CloudTrailSource.prototype, 'fetchSlice').mockImplementation(function (this: CloudTrailSource, ...args: Parameters<typeof fetchSlice>) {
      slices.push({ t: Date.now(), region: this.region, end: args[1] });
      return fetchSlice.apply(this, args);
    });
  });
  afterAll(() => {
    sendSpy?.mockRestore();
    sliceSpy?.mockRestore();
  });

  return {
    maxPerSecond(regions, sinceMs) {
      return Math.max(0, ...regions.map((r) => maxInAnyWindow(calls.filter((c) => c.region === r && c.t >= sinceMs).map((c) => c.t))));
    },
    sliceEnds(region, sinceMs) {
      return new Set(slices.filter((s) => s.region === region && s.t >= sinceMs).map((s) => s.end));
    },
  };
}
