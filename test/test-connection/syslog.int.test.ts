/**
 * dnif.syslog: the check connects (TCP, or TLS with the connector's CA and client certificate)
 * and sends nothing. Local TCP/TLS listeners play the DNIF Adapter; AWS is the stand-ins.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { handler } from '../../functions/test-connection/handler';
import { startStandIns, testCerts, type ConnectorDocument, type StandIns } from '../../standins';
import { urlEvent } from '../../standins/lambda';

let s: StandIns;
let undoEnv: () => void;
let restoreOutput: () => void;
const output: string[] = [];

interface Listener {
  port: number;
  received: Buffer[];
  sockets: Socket[];
  close(): Promise<void>;
}

async function listen(server: NetServer): Promise<Listener> {
  const received: Buffer[] = [];
  const sockets: Socket[] = [];
  server.on('connection', (c: Socket) => sockets.push(c));
  server.on('secureConnection', (c: Socket) => c.on('data', (d: Buffer) => received.push(d)));
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    sockets,
    close: () =>
      new Promise((r) => {
        sockets.forEach((c) => c.destroy());
        server.close(() => r());
      }),
  };
}

const tlsAdapter = (opts: TlsOptions) => listen(createTlsServer(opts));
/** What a DNIF TLS connector asks by default: our certificate, signed by its CA. */
const mutualTls = (): TlsOptions => ({ ...testCerts.server(), ca: testCerts.ca(), requestCert: true, rejectUnauthorized: true });

function syslogConnector(syslog: Record<string, unknown>): ConnectorDocument {
  const { dnif: _d, ...rest } = s.connector();
  return { ...rest, dnif: { syslog: { host: '127.0.0.1', ...syslog } } };
}

async function dnifCheck(doc: ConnectorDocument) {
  const r = await handler(urlEvent('POST', doc));
  const body = JSON.parse(r.body);
  return { statusCode: r.statusCode, body: r.body, check: body.checks.find((c: { name: string }) => c.name === 'dnif') };
}

beforeAll(async () => {
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      output.push(String(chunk));
      return true;
    }) as typeof stream.write),
  );
  restoreOutput = () => spies.forEach((spy) => spy.mockRestore());
  s = await startStandIns({ ratePerSecond: 50 });
  undoEnv = s.applyEnv();
});

afterAll(async () => {
  undoEnv?.();
  await s?.stop();
  restoreOutput?.();
});

describe('dnif.syslog', () => {
  it('mutual TLS with the CA, client certificate and key: handshake completes, nothing is sent', async () => {
    const adapter = await tlsAdapter(mutualTls());
    try {
      const client = testCerts.client();
      const r = await dnifCheck(syslogConnector({ port: adapter.port, tls: true, ca: testCerts.ca(), cert: client.cert, key: client.key }));
      expect(r.statusCode).toBe(200);
      expect(r.check).toEqual({
        name: 'dnif',
        ok: true,
        code: 'OK',
        message: expect.stringMatching(new RegExp(`^DNIF at tls://127\\.0\\.0\\.1:${adapter.port} completed a TLS handshake \\(TLSv1\\.[23]\\) and confirmed a clean close; no message was sent$`)),
        hint: '',
        target: `tls://127.0.0.1:${adapter.port}`,
        transport: 'syslog',
        durationMs: expect.any(Number),
      });
      expect(Buffer.concat(adapter.received)).toHaveLength(0);
      // The client key is a secret of the connector.
      expect(r.body).not.toContain('PRIVATE KEY');
      expect(output.join('')).not.toContain(client.key.split('\n')[1]);
    } finally {
      await adapter.close();
    }
  });

  it('plain TCP: one test message, confirmed by the close handshake', async () => {
    const received: Buffer[] = [];
    const adapter = await listen(createNetServer((c) => c.on('data', (d: Buffer) => received.push(d))));
    try {
      const r = await dnifCheck(syslogConnector({ port: adapter.port, tls: false }));
      expect(r.check).toMatchObject({ ok: true, message: `DNIF at tcp://127.0.0.1:${adapter.port} took a test message over TCP and confirmed it with a clean close` });
      expect(Buffer.concat(received).toString()).toMatch(/^\d+ <134>1 \S+ local-cloudtrail cloudtrail - test-connection - \{"dnifForwarder":\{"connectorName":"local-cloudtrail","testConnection":true\}\}$/);
    } finally {
      await adapter.close();
    }
  });

  it('plain TCP aimed at a TLS listener fails (issue 11 #2): the listener never confirms', async () => {
    const adapter = await tlsAdapter(mutualTls());
    try {
      const r = await dnifCheck(syslogConnector({ port: adapter.port, tls: false }));
      expect(r.statusCode).toBe(502);
      expect(r.check).toMatchObject({ ok: false, code: 'DnifUnreachable', dnifMessage: 'Unable to connect' });
      expect(r.check.cause).toMatch(/^(EUNEXPECTEDDATA|ECONNRESET|EPEERCLOSED)$/);
      expect(r.check.message).toContain('check dnif.syslog.tls');
    } finally {
      await adapter.close();
    }
  });

  it('an adapter that closes right after the handshake, without an alert, refuses the certificate (issue 11 #4, as rsyslog with GnuTLS)', async () => {
    // Asks for a certificate, takes any, then hangs up on one it does not like: rsyslog gtls's way.
    const server = createTlsServer({ ...testCerts.server(), ca: testCerts.ca(), requestCert: true, rejectUnauthorized: false });
    server.on('secureConnection', (c) => {
      if (!c.authorized) c.end();
    });
    const adapter = await listen(server);
    try {
      const untrusted = testCerts.untrusted();
      const r = await dnifCheck(syslogConnector({ port: adapter.port, tls: true, ca: testCerts.ca(), cert: untrusted.cert, key: untrusted.key }));
      expect(r.statusCode).toBe(502);
      expect(r.check).toMatchObject({ ok: false, code: 'DnifTlsError', cause: 'TLS_CLOSED_AFTER_HANDSHAKE', dnifMessage: 'Credentials error' });
      expect(r.check.hint).toContain('dnif.syslog.cert and dnif.syslog.key');
    } finally {
      await adapter.close();
    }
  });

  it('nothing listening → DnifUnreachable (ECONNREFUSED)', async () => {
    const adapter = await listen(createNetServer());
    const port = adapter.port;
    await adapter.close();
    const r = await dnifCheck(syslogConnector({ port, tls: true, ca: testCerts.ca() }));
    expect(r.statusCode).toBe(502);
    expect(r.check).toMatchObject({ ok: false, code: 'DnifUnreachable', cause: 'ECONNREFUSED', dnifMessage: 'Unable to connect', transport: 'syslog' });
    expect(r.check.hint).toContain('dnif.syslog.host');
  });

  it('a self-signed adapter certificate (not signed by the given CA) → DnifTlsError', async () => {
    const adapter = await tlsAdapter(testCerts.untrusted());
    try {
      const r = await dnifCheck(syslogConnector({ port: adapter.port, tls: true, ca: testCerts.ca() }));
      expect(r.check).toMatchObject({ ok: false, code: 'DnifTlsError', cause: 'DEPTH_ZERO_SELF_SIGNED_CERT', dnifMessage: 'Unable to connect' });
      expect(r.check.hint).toContain('dnif.syslog.ca');
    } finally {
      await adapter.close();
    }
  });

  it('no client certificate where the adapter requires one → DnifTlsError (the TLS 1.3 alert after the handshake is awaited)', async () => {
    const adapter = await tlsAdapter(mutualTls());
    try {
      const r = await dnifCheck(syslogConnector({ port: adapter.port, tls: true, ca: testCerts.ca() }));
      expect(r.check).toMatchObject({ ok: false, code: 'DnifTlsError', dnifMessage: 'Credentials error' });
      expect(r.check.cause).toMatch(/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|TLS_CLOSED_AFTER_HANDSHAKE/);
      expect(r.check.hint).toContain('dnif.syslog.cert');
    } finally {
      await adapter.close();
    }
  });

  it('a key that is not a key → DnifTlsError naming the settings, without the PEM', async () => {
    const adapter = await tlsAdapter(mutualTls());
    try {
      const bogusKey = '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbCBzZWNyZXQtOTk5\n-----END PRIVATE KEY-----\n';
      const r = await dnifCheck(syslogConnector({ port: adapter.port, tls: true, ca: testCerts.ca(), cert: testCerts.client().cert, key: bogusKey }));
      expect(r.check).toMatchObject({ ok: false, code: 'DnifTlsError', dnifMessage: 'Configuration Error' });
      expect(r.body).not.toContain('bm90IGEga2V5IGF0IGFsbCBzZWNyZXQtOTk5');
    } finally {
      await adapter.close();
    }
  });

  it('an adapter that accepts TCP but never answers the TLS handshake → DnifTimeout within the bound', async () => {
    const adapter = await listen(createNetServer()); // accepts, says nothing
    process.env.TEST_CONNECTION_CHECK_TIMEOUT_MS = '1500';
    try {
      const t = Date.now();
      const r = await dnifCheck(syslogConnector({ port: adapter.port, tls: true, ca: testCerts.ca() }));
      expect(r.check).toMatchObject({ ok: false, code: 'DnifTimeout', dnifMessage: 'Request Timeout' });
      expect(Date.now() - t).toBeLessThan(3_000);
    } finally {
      delete process.env.TEST_CONNECTION_CHECK_TIMEOUT_MS;
      await adapter.close();
    }
  });
});
