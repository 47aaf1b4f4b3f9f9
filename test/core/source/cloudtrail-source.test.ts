/**
 * CloudTrailSource takes the LookupEvents limiter's slot as the request leaves the SDK, so a
 * stall while the SDK builds a request (a busy event loop, several regions at once) cannot bunch
 * requests. The limiter's own pacing rules are in rate-limiter.test.ts.
 */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { HttpResponse } from '@smithy/protocol-http';
import { CloudTrailSource } from '../../../functions/core/source/cloudtrail-source';
import { RateLimiter } from '../../../functions/core/source/rate-limiter';
import { Deadline } from '../../../functions/core/deadline';
import { maxInAnyWindow } from '../../../standins/rate-window';

const block = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // a busy event loop: another region parsing a page, building records
  }
};

describe('CloudTrailSource pacing', () => {
  it('takes the slot as the request leaves, so a stall inside the SDK cannot bunch requests', async () => {
    // Records when each LookupEvents reaches the wire and answers with one more page each time.
    const departures: number[] = [];
    const client = new CloudTrailClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
      maxAttempts: 1,
      requestHandler: {
        handle: async () => {
          departures.push(Date.now());
          const body = JSON.stringify({ Events: [], NextToken: departures.length < 5 ? `page-${departures.length}` : undefined });
          return { response: new HttpResponse({ statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: Buffer.from(body) }) };
        },
      },
    });
    // The second request stalls 450 ms while the SDK builds it (a GC pause, another region's work).
    let built = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        built += 1;
        if (built === 2) block(450);
        return next(args);
      },
      { step: 'build', name: 'stallSecondRequest' },
    );
    const source = new CloudTrailSource({ region: 'us-east-1', client, limiter: new RateLimiter(2, 10) });

    const result = await source.fetchSlice(0, 60, new Deadline(Date.now() + 60_000, 0));

    expect(result.pages).toBe(5);
    // Slots taken before the SDK would have let request 2 leave 450 ms late and request 3 on time: 3 in a second.
    expect(maxInAnyWindow(departures)).toBeLessThanOrEqual(2);
    // Spaced by the API's own 500 ms: the limiter's 10 ms margin above it is for the last hop's
    // jitter (signing between slot and wire, longer on a loaded machine: 501 ms seen in a full
    // run). A slot taken before the stall would leave ~60 ms between requests 2 and 3.
    for (let i = 1; i < departures.length; i++) expect(departures[i] - departures[i - 1]).toBeGreaterThanOrEqual(500);
  });
});
