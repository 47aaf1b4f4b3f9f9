/**
 * The syslog sink against the syslog receiver stand-in: RFC 5424 framing, TLS with a client
 * certificate, the close handshake that confirms each batch, retries, and what happens to a
 * batch when the connection breaks. rsyslog.int.test.ts does the same against rsyslog.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { SyslogTarget } from '../../../functions/core/connector';
import { SinkUnavailableError } from '../../../functions/core/sink/errors';
import { buildRecord, type OutgoingRecord } from '../../../functions/core/sink/records';
import { SyslogSink, type SyslogSinkOptions } from '../../../functions/core/sink/syslog-sink';
import { SinkTlsError } from '../../../functions/core/sink/tls-errors';
import { Deadline, DeadlineReachedError } from '../../../functions/core/deadline';
import { loadRecords, testCerts, type CloudTrailRecord } from '../../../standins';
import { startSyslogReceiver, type SyslogReceiver } from '../../../standins/syslog-receiver';

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
  new SyslogSink({ maxMessageBytes: 1_000_000, ...rx.target(target) } as SyslogTarget, { hostname: 'prod cloudtrail', baseDelayMs: 50, maxDelayMs: 200, ...opts });
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

  it('confirms each batch on its own connection before send resolves, so the checkpoint can only follow confirmed events', async () => {
    const sink = sinkFor(rx);
    for (let i = 0; i < 3; i++) await sink.send(records(20, i * 20), deadline());
    expect(rx.eventsById().size).toBe(60);
    // One connection per batch, each ended by us and answered by the Adapter before send resolved.
    expect(rx.connections).toHaveLength(3);
    expect(rx.connections.every((c) => c.closedBy === 'client' && c.closedAt !== undefined && c.messages === 20)).toBe(true);
    expect(sink.counters).toMatchObject({ connections: 3, confirmations: 3, replayedEvents: 0 });
  });

  it('loses nothing when the Adapter drops the connection in the middle of a batch: that batch goes again', async () => {
    const batches = [records(100, 0), records(100, 100), records(100, 200)];
    const sink = sinkFor(rx);
    rx.dropAfter(130); // inside the second batch, after its bytes were flushed
    for (const b of batches) await sink.send(b, deadline());

    expect(rx.eventsById().size).toBe(300);
    expect([...rx.eventsById().keys()].sort()).toEqual(batches.flatMap(ids).sort());
    expect(rx.connections[1]).toMatchObject({ closedBy: 'receiver', messages: 30 });
    // Only the unconfirmed batch came twice, and of it only what the broken connection had taken.
    expect(rx.duplicates).toBe(30);
    expect(sink.counters.replayedEvents).toBe(100);
  });

  it('an Adapter that took the whole batch but did not confirm it: the batch goes again, and send resolves only on a confirmed one (issue 11 #2)', async () => {
    const sink = sinkFor(rx);
    rx.withholdConfirmation(2);
    const batch = records(25, 500);
    const stats = await sink.send(batch, deadline());
    expect(rx.withheld).toBe(2);
    expect(stats).toMatchObject({ attempts: 3, errors: 2 });
    expect(rx.messages).toHaveLength(75);
    expect(rx.eventsById().size).toBe(25);
    expect(sink.counters).toMatchObject({ connections: 3, confirmations: 1, replayedEvents: 50 });
  });

  it('retries with backoff while the Adapter refuses connections, and delivers once it is back', async () => {
    await rx.refuse();
    const sink = sinkFor(rx, { maxAttempts: 20 });
    setTimeout(() => void rx.accept(), 600);
    const stats = await sink.send(records(10), deadline());
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
    expect(sink.counters.confirmations).toBe(0);
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
    expect(err).toBeInstanceOf(SinkTlsError);
    expect(err).toMatchObject({ isAuthError: true, attempts: 1, message: expect.stringContaining('dnif.syslog.cert/key') });
    expect(rx.messages).toHaveLength(0);
    expect(sink.counters.confirmations).toBe(0);
    await sink.close();
  });

  it("does not trust DNIF's certificate without the right CA", async () => {
    const sink = sinkFor(rx, {}, { ca: testCerts.untrusted().cert });
    const err = await sink.send(records(1), deadline()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkTlsError);
    expect((err as SinkTlsError).message).toMatch(/not trusted \(.+\): give DNIF's CA as dnif.syslog.ca/);
    expect(rx.connections).toHaveLength(0);
  });

  it('names unusable PEMs as a configuration problem, without their content', async () => {
    const key = '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n';
    const sink = sinkFor(rx, {}, { key });
    const err = await sink.send(records(1), deadline()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkTlsError);
    expect(err).toMatchObject({ isAuthError: false, message: expect.stringContaining('could not be used') });
    expect((err as Error).message).not.toContain('bm90IGEga2V5');
  });

  it('an Adapter that closes right after the handshake, with no alert (rsyslog with GnuTLS), refuses the certificate: stops at once (issue 11 #4)', async () => {
    const server = createTlsServer({ ...testCerts.server(), ca: testCerts.ca(), requestCert: true, rejectUnauthorized: false });
    server.on('secureConnection', (c) => {
      if (!c.authorized) c.end();
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const untrusted = testCerts.untrusted();
      const sink = new SyslogSink({ host: '127.0.0.1', port, tls: true, ca: testCerts.ca(), cert: untrusted.cert, key: untrusted.key, maxMessageBytes: 8192 }, { hostname: 'h' });
      const err = await sink.send(records(5), deadline()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkTlsError);
      expect(err).toMatchObject({ isAuthError: true, attempts: 1, networkCode: 'TLS_CLOSED_AFTER_HANDSHAKE', message: expect.stringContaining('dnif.syslog.cert/key') });
      expect(sink.counters.confirmations).toBe(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('syslog sink, plain TCP', () => {
  it('does not resolve send for an Adapter that never answers our close: nothing unconfirmed counts as delivered (issue 11 #2)', async () => {
    const received: Buffer[] = [];
    const sockets: Socket[] = [];
    const server = createServer({ allowHalfOpen: true }, (s) => {
      sockets.push(s);
      s.on('data', (d: Buffer) => received.push(d));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const sink = new SyslogSink({ host: '127.0.0.1', port, tls: false, maxMessageBytes: 8192 }, { hostname: 'h', closeTimeoutMs: 300, maxAttempts: 2, baseDelayMs: 10 });
      const err = await sink.send(records(5), deadline()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkUnavailableError);
      expect(err).toMatchObject({ attempts: 2, networkCode: 'ETIMEDOUT_CONFIRM', message: expect.stringContaining('did not confirm the batch') });
      // The bytes did arrive (twice): what was missing is the proof.
      expect(Buffer.concat(received).toString('utf8').match(/<134>1 /g)).toHaveLength(10);
      expect(sink.counters.confirmations).toBe(0);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => server.close(r));
    }
  });

  it('plain TCP aimed at a TLS listener: send fails instead of resolving once the bytes are flushed (issue 11 #2)', async () => {
    const tlsRx = await startSyslogReceiver({ tls: 'trusted', requireClientCert: true });
    try {
      const sink = new SyslogSink({ host: '127.0.0.1', port: tlsRx.port, tls: false, maxMessageBytes: 8192 }, { hostname: 'h', maxAttempts: 2, baseDelayMs: 10 });
      const err = await sink.send(records(5), deadline()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkUnavailableError);
      expect((err as SinkUnavailableError).networkCode).toMatch(/^(EUNEXPECTEDDATA|ECONNRESET|EPEERCLOSED)$/);
      expect(tlsRx.messages).toHaveLength(0);
    } finally {
      await tlsRx.close();
    }
  });

  it('talks to the TCP receiver stand-in', async () => {
    const rx = await startSyslogReceiver({ tls: false });
    try {
      const sink = new SyslogSink({ maxMessageBytes: 8192, ...rx.target() } as SyslogTarget, { hostname: 'h' });
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

describe('syslog message size (issue 11 #3)', () => {
  it('keeps every message within dnif.syslog.maxMessageBytes, header included, shrinking the bulkiest fields', async () => {
    const rx = await startSyslogReceiver({ tls: false, maxMessageBytes: 8192 });
    try {
      const sink = new SyslogSink({ ...(rx.target() as SyslogTarget), maxMessageBytes: 8192 }, { hostname: 'prod cloudtrail' });
      const real = loadRecords()[0];
      const big = { ...real, requestParameters: { policy: 'x'.repeat(20_000) } };
      const event = { eventId: 'big-1', eventTime: BASE_TIME, eventName: 'PutRolePolicyWithAVeryLongNameIndeed', eventSource: real.eventSource, cloudTrailEvent: JSON.stringify(big) };
      const ctx = { connectorName: 'prod cloudtrail', region: 'us-east-1', forwardedAt: '2026-01-01T00:00:00.000Z', flatten: false };
      // As region-run builds it: within the sink's record limit, counted as truncated.
      const built = buildRecord(event, { ...ctx, maxRecordBytes: Math.min(1_000_000, sink.maxRecordBytes) });
      // As a source unaware of the limit builds it: the sink shrinks it the same way.
      const unaware = buildRecord({ ...event, eventId: 'big-2' }, { ...ctx, maxRecordBytes: 1_000_000 });
      expect(built.truncated).toBe(true);
      expect(unaware.truncated).toBe(false);
      await sink.send([built, unaware, ...records(3)], deadline());

      rx.expectClean();
      expect(rx.messages).toHaveLength(5);
      for (const m of rx.messages) expect(m.length).toBeLessThanOrEqual(8192);
      for (const id of ['big-1', 'big-2']) {
        const got = rx.eventsById().get(id);
        expect(got?.requestParameters).toMatch(/^\[removed by forwarder: \d+ bytes\]$/);
        expect(got?.dnifForwarder).toMatchObject({ eventId: id, truncated: ['responseElements', 'requestParameters'].filter((f) => f in big) });
        expect(got?.eventName).toBe(real.eventName);
      }
      expect(sink.counters.shrunk).toBe(1);
    } finally {
      await rx.close();
    }
  });
});
