/**
 * The syslog sink and the test-connection probe against a real rsyslog (GnuTLS and OpenSSL
 * drivers, stock limits), the receivers issue 11 was found with: confirmation by the close
 * handshake (#2), the 8 KB message limit (#3) and GnuTLS's silent close on a refused client
 * certificate (#4).
 */
import type { SyslogTarget } from '../../../functions/core/connector';
import { SinkUnavailableError } from '../../../functions/core/sink/errors';
import { buildRecord, type OutgoingRecord } from '../../../functions/core/sink/records';
import { SyslogSink } from '../../../functions/core/sink/syslog-sink';
import { SinkTlsError } from '../../../functions/core/sink/tls-errors';
import { Deadline } from '../../../functions/core/deadline';
import { dnifSyslogCheck } from '../../../functions/test-connection/checks';
import { ForwarderRunError } from '../../../functions/forwarder/forward';
import { loadRecords, testCerts } from '../../../standins';
import { startRsyslog, type Rsyslog } from '../../helpers/rsyslog';
import { useStandIns } from '../../helpers/standins';
import { invokeForwarder, newConnector } from '../../helpers/forwarder-harness';
import { recentEvents, storedCursor } from '../../helpers/forwarder-helpers';

const BASE_TIME = Date.parse('2024-10-16T11:52:46Z') / 1000;
const deadline = () => new Deadline(Date.now() + 20_000, 0);

function records(n: number, from = 0, requestParameters?: unknown): OutgoingRecord[] {
  const real = loadRecords();
  return Array.from({ length: n }, (_, k) => {
    const r = real[(from + k) % real.length];
    const eventId = `rsyslog-${String(from + k).padStart(6, '0')}`;
    const record = requestParameters === undefined ? { ...r, eventID: eventId } : { ...r, eventID: eventId, requestParameters };
    return buildRecord(
      { eventId, eventTime: BASE_TIME + k, eventName: r.eventName, eventSource: r.eventSource, cloudTrailEvent: JSON.stringify(record) },
      { connectorName: 'prod', region: 'us-east-1', forwardedAt: '2026-01-01T00:00:00.000Z', flatten: false, maxRecordBytes: 1_000_000 },
    );
  });
}

const sinkFor = (rs: Rsyslog, target: Record<string, unknown> = {}, maxAttempts = 3) =>
  new SyslogSink(rs.target(target) as SyslogTarget, { hostname: 'prod', maxAttempts, baseDelayMs: 20, maxDelayMs: 50 });
const idsOf = (lines: string[]) => lines.map((l) => (JSON.parse(l) as { dnifForwarder: { eventId: string } }).dnifForwarder.eventId);

describe.each(['gtls', 'ossl'] as const)('rsyslog with the %s driver, client certificates required', (driver) => {
  let rs: Rsyslog;
  beforeAll(async () => {
    rs = await startRsyslog({ driver });
  });
  afterAll(() => rs.stop());

  it('confirms each batch by rsyslog answering our close, and rsyslog has every event', async () => {
    const sink = sinkFor(rs);
    const batches = [records(50, 0), records(50, 50), records(50, 100)];
    for (const b of batches) await sink.send(b, deadline());
    expect(sink.counters).toMatchObject({ confirmations: 3, replayedEvents: 0 });
    const lines = await rs.waitForLines(150);
    expect(idsOf(lines)).toEqual(batches.flat().map((r) => r.eventId));
    const probe = await dnifSyslogCheck(rs.target() as SyslogTarget, 3000);
    expect(probe).toMatchObject({ ok: true, code: 'OK' });
  });

  it('a client certificate rsyslog does not accept: stops at once as a certificate refusal, and test connection fails (issue 11 #4)', async () => {
    const before = rs.lines().length;
    const untrusted = testCerts.untrusted();
    for (const target of [{ cert: undefined, key: undefined }, { cert: untrusted.cert, key: untrusted.key }]) {
      const sink = sinkFor(rs, target, 6);
      const err = await sink.send(records(5, 1000), deadline()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkTlsError);
      // GnuTLS closes after the handshake without an alert; OpenSSL sends one.
      expect(err).toMatchObject({ isAuthError: true, attempts: 1, message: expect.stringContaining('dnif.syslog.cert/key') });
      expect((err as SinkTlsError).networkCode).toMatch(driver === 'gtls' ? /^TLS_CLOSED_AFTER_HANDSHAKE$/ : /^ERR_SSL_TLSV1\d?_ALERT_/);

      const probe = await dnifSyslogCheck(rs.target(target) as SyslogTarget, 3000);
      expect(probe).toMatchObject({ ok: false, code: 'DnifTlsError', dnifMessage: 'Credentials error' });
      expect(probe.hint).toContain('dnif.syslog.cert and dnif.syslog.key');
    }
    expect(rs.lines().length).toBe(before);
  });

  it('plain TCP aimed at the TLS listener: send fails (nothing confirmed), and so does test connection (issue 11 #2)', async () => {
    const before = rs.lines().length;
    const plain = { tls: false, ca: undefined, cert: undefined, key: undefined };
    const err = await sinkFor(rs, plain, 2).send(records(5, 2000), deadline()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkUnavailableError);
    expect(err).toMatchObject({ attempts: 2, message: expect.stringContaining('did not confirm the batch') });
    const probe = await dnifSyslogCheck(rs.target(plain) as SyslogTarget, 3000);
    expect(probe).toMatchObject({ ok: false, code: 'DnifUnreachable' });
    expect(probe.message).toContain('dnif.syslog.tls');
    expect(rs.lines().length).toBe(before);
  });
});

describe('rsyslog over TCP, stock message size limit (issue 11 #3)', () => {
  let rs: Rsyslog;
  beforeAll(async () => {
    rs = await startRsyslog({ driver: 'tcp' });
  });
  afterAll(() => rs.stop());

  it('every record arrives as whole JSON under the 8 KB default; without the cap rsyslog cuts it', async () => {
    const bulky = { policyDocument: 'p'.repeat(20_000) };
    const capped = sinkFor(rs); // maxMessageBytes 8192, the default
    await capped.send([...records(2, 0, bulky), ...records(3, 2)], deadline());
    const lines = await rs.waitForLines(5);
    const parsed = lines.map((l) => JSON.parse(l) as { requestParameters?: unknown; dnifForwarder: { eventId: string; truncated?: string[] } });
    expect(parsed.map((p) => p.dnifForwarder.eventId)).toEqual(['rsyslog-000000', 'rsyslog-000001', 'rsyslog-000002', 'rsyslog-000003', 'rsyslog-000004']);
    expect(parsed[0].requestParameters).toMatch(/^\[removed by forwarder: \d+ bytes\]$/);
    expect(parsed[0].dnifForwarder.truncated).toContain('requestParameters');

    // The same record with a cap above rsyslog's: rsyslog keeps only its first 8 KB.
    const uncapped = sinkFor(rs, { maxMessageBytes: 1_000_000 });
    await uncapped.send(records(1, 10, bulky), deadline());
    const last = (await rs.waitForLines(6))[5];
    expect(last.length).toBeLessThan(8192);
    expect(() => JSON.parse(last)).toThrow();
  });
});

describe('the forwarder handler with rsyslog (GnuTLS) as the Adapter', () => {
  const env = useStandIns({ putDefaultSecret: false });
  let rs: Rsyslog;
  beforeAll(async () => {
    rs = await startRsyslog({ driver: 'gtls' });
  });
  afterAll(() => rs.stop());

  const connectorFor = (target: Record<string, unknown>) => (name: string) => {
    const { dnif: _http, ...rest } = env().connector({ connectorName: name });
    return { ...rest, dnif: { syslog: rs.target(target) } };
  };

  it('a client certificate rsyslog closes on is an auth rejection: the secret is read again once, the checkpoint stays; rotated in, all arrive (issue 11 #4)', async () => {
    const s = env();
    const name = await newConnector(s, connectorFor({ cert: undefined, key: undefined }));
    const events = recentEvents(40, s.region, s.accountId, 5150);
    s.cloudtrail.addEvents(s.region, events);
    const reads = s.secrets.getSecretValueCalls;

    const err = (await invokeForwarder().catch((e: unknown) => e)) as ForwarderRunError;

    expect(err).toBeInstanceOf(ForwarderRunError);
    expect(err.summary.regions[s.region].error).toMatchObject({ code: 'DnifAuthRejected', message: expect.stringContaining('closed the connection right after the TLS handshake') });
    expect(s.secrets.getSecretValueCalls - reads).toBe(2);
    const oldest = Math.min(...events.map((e) => Date.parse(e.eventTime) / 1000));
    expect(Number((await storedCursor(s, name, s.region))?.head ?? 0)).toBeLessThanOrEqual(oldest);

    s.putConnectorSecret(connectorFor({})(name));
    const before = rs.lines().length;
    const summary = await invokeForwarder();
    expect(summary.forwarded).toBe(40);
    const ids = idsOf((await rs.waitForLines(before + 40)).slice(before));
    expect(ids.sort()).toEqual(events.map((e) => e.eventID).sort());
  });
});
