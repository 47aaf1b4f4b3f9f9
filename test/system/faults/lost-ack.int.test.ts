/**
 * The one duplicate the forwarder cannot see coming: DNIF stores a batch, and its 2xx never
 * arrives (the connection drops on the way back). To the forwarder that is a network error, so
 * the sink sends the batch again. It is the same case as SPEC.md's allowed one (a crash between
 * DNIF's acceptance and the checkpoint write), seen from the other side: at most that one batch
 * arrives twice, and DNIF can drop it by dnifForwarder.eventId.
 *
 * The receiver stand-in never drops an answer after storing a batch, so a small proxy in front of
 * it does: it passes each request on, and for the chosen ones destroys the client's connection
 * once the receiver has answered 200.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handler, resetForwarderState } from '../../../functions/forwarder/handler';
import { resetSecretCache } from '../../../functions/core/secret';
import { generateEvents, lambdaContext, scheduledEvent } from '../../../standins';
import { emit } from './support/log-scan';
import { useSuite } from './support/suite';

jest.setTimeout(60_000);

const suite = useSuite('lost-ack.int.test.ts');
const REGION = 'us-east-1';

/** Relays requests to `target`; the n-th relayed request (1-based) in `lose` gets its answer dropped. */
async function startLossyProxy(target: string, lose: Set<number>): Promise<{ url: string; lost: () => number; close(): Promise<void> }> {
  const upstream = new URL(target);
  let seen = 0;
  let lost = 0;
  const server: Server = createServer((req, res) => {
    const n = ++seen;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const up = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers as IncomingHttpHeaders }, (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (c: Buffer) => body.push(c));
        answer.on('end', () => {
          if (lose.has(n) && answer.statusCode === 200) {
            lost += 1;
            res.socket?.destroy();
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(body));
        });
      });
      up.on('error', () => res.destroy());
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${upstream.pathname}`,
    lost: () => lost,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

afterEach(() => {
  delete process.env.BATCH_MAX_EVENTS;
});

it('a 2xx lost on the way back: that one batch arrives twice, nothing is lost, the next run sends nothing', async () => {
  const s = suite.standIns();
  s.cloudtrail.clearEvents();
  s.dnif.clear();
  s.dnif.normal();
  process.env.BATCH_MAX_EVENTS = '40';
  resetForwarderState();
  resetSecretCache();
  const now = Date.now();
  const events = generateEvents({ count: 120, region: REGION, accountId: s.accountId, from: now - 30 * 60_000, to: now - 60_000, seed: 41 });
  s.cloudtrail.addEvents(REGION, events);
  const proxy = await startLossyProxy(s.dnif.url, new Set([2]));
  suite.putSecret(s.connector({ connectorName: `lost-ack-${Date.now()}`, dnif: { url: proxy.url } }));
  try {
    const first = await handler(scheduledEvent(), lambdaContext(30_000));
    const second = await handler(scheduledEvent(), lambdaContext(30_000));

    expect(proxy.lost()).toBe(1);
    expect(first.regions[REGION].error).toBeUndefined();
    expect(first.regions[REGION].sinkErrors).toBe(1);
    expect(second.forwarded).toBe(0);
    expect(s.dnif.eventsById().size).toBe(events.length);
    // Exactly the batch whose answer was lost, once more.
    expect(s.dnif.duplicates).toBe(40);
    expect(s.dnif.requests[2].events.map((e) => e.dnifForwarder?.eventId)).toEqual(s.dnif.requests[1].events.map((e) => e.dnifForwarder?.eventId));
    emit(`[lost-ack] 120 events in batches of 40, one 2xx lost: delivered ${s.dnif.eventsById().size}, duplicates ${s.dnif.duplicates} (that batch), lost 0`);
  } finally {
    await proxy.close();
  }
});
