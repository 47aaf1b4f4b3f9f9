/**
 * Watches the forwarder's CloudTrail side without changing it: when each LookupEvents call is
 * sent (after the limiter, per region) and which slices are read. Spies only record and call
 * through; they are installed for the whole test file.
 *
 * Why count at the client: the CloudTrail stand-in runs in the same event loop as the forwarder
 * and dynalite, so the arrival times it records jitter by 10-20 ms when that loop is busy; the
 * rule of SPEC.md ("LookupEvents is called at most 2 times per second") is about the calls.
 */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudTrailSource } from '../../../functions/shared/source/cloudtrail-source';
import { maxInAnyWindow } from '../../../standins/rate-window';

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
      const t = Date.now();
      void Promise.resolve(this.config.region()).then((region) => calls.push({ t, region }));
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
