/**
 * The syslog sink against the syslog receiver stand-in: RFC 5424 framing, TLS with a client
 * certificate, reconnects and retries, and what happens to batches when the connection breaks.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { SyslogTarget } from '../../functions/core/connector';
import { SinkUnavailableError } from '../../functions/core/sink/errors';
import { buildRecord, type OutgoingRecord } from '../../functions/core/sink/records';
import { SyslogSink, SyslogTlsError, type SyslogSinkOptions } from '../../functions/core/sink/syslog-sink';
import { Deadline, DeadlineReachedError } from '../../functions/core/time';
import { loadRecords, testCerts, type CloudTrailRecord } from '../../standins';
import { startSyslogReceiver, type SyslogReceiver } from '../../standins/syslog-receiver';

const BASE_TIME = Date.parse('2024-10-16T11:52:46Z') / 1000;

function toRecord(r: CloudTrailRecord, i: number): OutgoingRecord {
  const eventId = `${r.eventID.slice(0, 24)}-${String(i).padStart(6, '0')}`;
  return buildRecord(
    { eventId, eventTime: BASE_TIME + i, eventName: r.eventName, eventSource: r.eventSource, cloudTrailEvent: JSON.stringify({ ...r, eventID: eventId }) },
    { connectorName: 'prod cloudtrail', region: 'us-east-1', forwardedAt: '2026-01-01T00:00:00.000Z', flatten: false, maxRecordBytes: 1_000_000 },
  );
}

/** `n` distinct records built from the shared real ones, as region-run would hand them over. */
function records(n: number, from = 0): OutgoingRecord[] {
  const real = loadRecords();
  return Array.from({ length: n }, (_, k) => toRecord(real[(from + k) % real.length], from + k));
}

const deadline = (ms = 20_000) => new Deadline(Date.now() + ms, 0);
const sinkFor = (rx: SyslogReceiver, opts: Partial<SyslogSinkOptions> = {}, target: Record<string, unknown> = {}) =>
  new SyslogSink(rx.target(target) as SyslogTarget, { hostname: 'prod cloudtrail', baseDelayMs: 50, maxDelayMs: 200, ...opts });
const ids = (batch: OutgoingRecord[]) => batch.map((r) => r.eventId);

describe('syslog sink, over TLS with a client certificate (DNIF default)', () => {
  let rx: SyslogReceiver;
  beforeAll(async () => {
    rx = await startSyslogReceiver({ tls: 'trusted', requireClientCert: true });
  });
  afterAll(() => rx.close());
  beforeEach(async () => {
    rx.clear();
    await rx.accept();
  });
  afterEach(() => rx.expectClean());

  it('sends each record as one RFC 5424 message, octet-counted, MSG exactly the JSON the HTTP sink sends', async () => {
    const real = loadRecords().slice(0, 3);
    real[1] = { ...real[1], errorCode: 'AccessDenied', errorMessage: 'Zugriff verweigert – für Benutzer' };
    real[2] = { ...real[2], eventName: 'DescribeInstanceCreditSpecificationsAndMore' };
    const batch = real.map(toRecord);
    const sink = sinkFor(rx);
    const stats = await sink.send(batch, deadline());
    await sink.close();

    expect(stats).toEqual({ attempts: 1, errors: 0, bytesSent: expect.any(Number) });
    expect(rx.messages).toHaveLength(3);
    rx.messages.forEach((m, i) => {
      expect(m.msg).toBe(batch[i].json);
      expect(m).toMatchObject({
        version: 1,
        facility: 16,
        severity: i === 1 ? 4 : 6,
        timestamp: new Date((BASE_TIME + i) * 1000).toISOString().replace('.000Z', 'Z'),
        hostname: 'prod_cloudtrail',
        appName: 'cloudtrail',
        procId: null,
        structuredData: null,
      });
      expect(m.json?.dnifForwarder).toMatchObject({ connectorName: 'prod cloudtrail', eventId: batch[i].eventId, region: 'us-east-1' });
    });
    expect(rx.messages.map((m) => m.msgId)).toEqual([real[0].eventName, real[1].eventName, 'DescribeInstanceCreditSpecificat']);
    expect(rx.messages[1].json?.errorMessage).toBe('Zugriff verweigert – für Benutzer');
    // The frames were exactly what was counted as sent.
    expect(stats.bytesSent).toBe(rx.messages.reduce((n, m) => n + String(m.length).length + 1 + m.length, 0));
    expect(rx.connections).toHaveLength(1);
    expect(rx.connections[0]).toMatchObject({ closedBy: 'client', clientCert: expect.any(String), tlsProtocol: 'TLSv1.3' });
  });

  it('keeps frames whole when several regions send at once: batches go one after another', async () => {
    const batches = [records(40, 0), records(40, 1000), records(40, 2000)];
    const sink = sinkFor(rx);
    await Promise.all(batches.map((b) => sink.send(b, deadline())));
    await sink.close();
    const got = rx.messages.map((m) => String(m.json?.dnifForwarder?.eventId));
    expect(got).toHaveLength(120);
    // Each batch arrives contiguous and in order.
    const order = batches.map((b) => got.indexOf(b[0].eventId)).sort((a, b) => a - b);
    const expected = order.flatMap((start) => got.slice(start, start + 40));
    expect(expected).toEqual(got);
    for (const b of batches) expect(got.slice(got.indexOf(b[0].eventId), got.indexOf(b[0].eventId) + 40)).toEqual(ids(b));
  });

  it('loses nothing when the Adapter drops the connection in the middle of a batch: the unconfirmed batches go again', async () => {
    const batches = [records(100, 0), records(100, 100), records(100, 200)];
    const sink = sinkFor(rx);
    rx.dropAfter(130); // inside the second batch, after its bytes were flushed
    for (const b of batches) await sink.send(b, deadline());
    await sink.close();

    expect(rx.eventsById().size).toBe(300);
    expect([...rx.eventsById().keys()].sort()).toEqual(batches.flatMap(ids).sort());
    expect(rx.connections[0]).toMatchObject({ closedBy: 'receiver', messages: 130 });
    expect(rx.connections[0].discardedBytes).toBeGreaterThan(0);
    // Duplicates are what the first connection had taken before it broke: bounded by the unconfirmed window.
    expect(rx.duplicates).toBe(130);
    expect(sink.counters.replayedEvents).toBeLessThanOrEqual(300);
    expect(sink.unconfirmedEvents).toBe(0);
  });

  it('confirms every confirmEveryEvents by closing and reopening, so a break repeats at most that many', async () => {
    const sink = sinkFor(rx, { confirmEveryEvents: 100 });
    for (let i = 0; i < 5; i++) await sink.send(records(50, i * 50), deadline());
    rx.dropAfter(20); // in the third connection's first batch
    await sink.send(records(50, 250), deadline());
    await sink.send(records(50, 300), deadline());
    await sink.close();

    expect(rx.eventsById().size).toBe(350);
    expect(sink.counters.confirmations).toBeGreaterThanOrEqual(3);
    expect(rx.duplicates).toBeLessThanOrEqual(100);
    expect(rx.connections.filter((c) => c.closedBy === 'client').length).toBe(rx.connections.length - 1);
  });

  it('notices a connection the Adapter closed between batches and sends on a new one', async () => {
    const sink = sinkFor(rx);
    rx.dropAfter(50); // exactly the end of the first batch
    await sink.send(records(50, 0), deadline());
    await new Promise((r) => setTimeout(r, 50));
    await sink.send(records(50, 50), deadline());
    await sink.close();
    expect(rx.eventsById().size).toBe(100);
    expect(rx.connections.length).toBe(2);
    // The first batch could not be confirmed on the dropped connection, so it went again.
    expect(rx.duplicates).toBe(50);
  });

  it('retries with backoff while the Adapter refuses connections, and delivers once it is back', async () => {
    await rx.refuse();
    const sink = sinkFor(rx, { maxAttempts: 20 });
    setTimeout(() => void rx.accept(), 600);
    const stats = await sink.send(records(10), deadline());
    await sink.close();
    expect(stats.errors).toBeGreaterThan(0);
    expect(stats.attempts).toBe(stats.errors + 1);
    expect(rx.eventsById().size).toBe(10);
  });

  it('gives up with SinkUnavailableError (ECONNREFUSED) after its attempts, counting nothing as sent', async () => {
    await rx.refuse();
    const sink = sinkFor(rx, { maxAttempts: 3 });
    const err = await sink.send(records(5), deadline()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkUnavailableError);
    expect(err).toMatchObject({ attempts: 3, networkCode: 'ECONNREFUSED', message: expect.stringContaining(`tls://127.0.0.1:${rx.port}`) });
    expect(sink.unconfirmedEvents).toBe(0);
    await sink.close();
  });

  it('stops at the deadline instead of retrying past it', async () => {
    await rx.refuse();
    const sink = sinkFor(rx, { maxAttempts: 100, baseDelayMs: 200, maxDelayMs: 200 });
    const started = Date.now();
    const err = await sink.send(records(5), deadline(700)).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(err instanceof SinkUnavailableError || err instanceof DeadlineReachedError).toBe(true);
    await expect(sink.send(records(1), deadline(-1))).rejects.toBeInstanceOf(DeadlineReachedError);
  });

  it('refuses to write without the client certificate DNIF asks for: an auth rejection, nothing counted as sent', async () => {
    const sink = sinkFor(rx, {}, { cert: undefined, key: undefined });
    const err = await sink.send(records(5), deadline()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyslogTlsError);
    expect(err).toMatchObject({ isAuthError: true, attempts: 1, message: expect.stringContaining('dnif.syslog.cert/key') });
    expect(rx.messages).toHaveLength(0);
    expect(sink.unconfirmedEvents).toBe(0);
    await sink.close();
  });

  it("does not trust DNIF's certificate without the right CA", async () => {
    const sink = sinkFor(rx, {}, { ca: testCerts.untrusted().cert });
    const err = await sink.send(records(1), deadline()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyslogTlsError);
    expect((err as SyslogTlsError).message).toMatch(/not trusted \(.+\): give DNIF's CA as dnif.syslog.ca/);
    expect(rx.connections).toHaveLength(0);
  });

  it('names unusable PEMs as a configuration problem, without their content', async () => {
    const key = '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n';
    const sink = sinkFor(rx, {}, { key });
    const err = await sink.send(records(1), deadline()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyslogTlsError);
    expect(err).toMatchObject({ isAuthError: false, message: expect.stringContaining('could not be used') });
    expect((err as Error).message).not.toContain('bm90IGEga2V5');
  });

  it('reports at close() when written events could not be confirmed and the Adapter stays away', async () => {
    const sink = sinkFor(rx, { closeTimeoutMs: 200 });
    await sink.send(records(10), deadline());
    await rx.refuse(); // cuts the connection before the sink could confirm
    const err = await sink.close().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkUnavailableError);
    expect((err as Error).message).toMatch(/^10 events written to DNIF .* were not confirmed .*may be missing in DNIF/);
  });
});

describe('syslog sink, plain TCP', () => {
  it('sends over TCP and treats an Adapter that never answers our close as flushed-only', async () => {
    // An Adapter that keeps its side open after ours: no confirmation is possible.
    const received: Buffer[] = [];
    const sockets: Socket[] = [];
    const server = createServer({ allowHalfOpen: true }, (s) => {
      sockets.push(s);
      s.on('data', (d: Buffer) => received.push(d));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const sink = new SyslogSink({ host: '127.0.0.1', port, tls: false }, { hostname: 'h', closeTimeoutMs: 300, confirmEveryEvents: 5 });
      await sink.send(records(5), deadline());
      const started = Date.now();
      await sink.send(records(5, 5), deadline()); // confirmation due: waits closeTimeoutMs once, then stops asking
      await sink.send(records(5, 10), deadline());
      await sink.close();
      expect(Date.now() - started).toBeLessThan(2500);
      expect(sink.counters.confirmations).toBe(0);
      const text = Buffer.concat(received).toString('utf8');
      expect(text.match(/<134>1 /g)).toHaveLength(15);
      expect(text).toMatch(/^\d+ <134>1 2024-10-16T11:52:46Z h cloudtrail - /);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => server.close(r));
    }
  });

  it('talks to the TCP receiver stand-in', async () => {
    const rx = await startSyslogReceiver({ tls: false });
    try {
      const sink = new SyslogSink(rx.target() as SyslogTarget, { hostname: 'h' });
      await sink.send(records(20), deadline());
      await sink.close();
      expect(rx.eventsById().size).toBe(20);
      expect(sink.counters).toMatchObject({ connections: 1, confirmations: 1, replayedEvents: 0 });
      rx.expectClean();
    } finally {
      await rx.close();
    }
  });
});
