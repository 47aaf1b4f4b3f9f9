/**
 * A real rsyslog (Debian's rsyslogd 8.x, installed by .ci/run) as the DNIF Adapter in tests: its
 * own config, pid and work directory in a temp dir, listening on 127.0.0.1 with imtcp over TLS
 * (GnuTLS or OpenSSL driver, the test CA's server certificate, client certificates required) or
 * plain TCP, writing each message's MSG as one line of a file. No system service is touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CERTS_DIR, testCerts } from '../../standins/dnif-receiver';

export const RSYSLOGD = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((p) => existsSync(p));

export interface RsyslogOptions {
  /** TLS driver, or plain TCP. */
  driver: 'gtls' | 'ossl' | 'tcp';
}

export interface Rsyslog {
  port: number;
  /** `dnif.syslog` for this listener (client certificate of the test CA for TLS). */
  target(overrides?: Record<string, unknown>): Record<string, unknown> & { host: string; port: number; tls: boolean; maxMessageBytes: number };
  /** The MSG of every message rsyslog wrote out, in order. */
  lines(): string[];
  /** Waits until `n` lines are written (rsyslog writes asynchronously). */
  waitForLines(n: number, timeoutMs?: number): Promise<string[]>;
  /** What rsyslog said on stderr (its own errors, e.g. a refused certificate). */
  stderr(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

export async function startRsyslog(opts: RsyslogOptions): Promise<Rsyslog> {
  if (!RSYSLOGD) throw new Error('rsyslogd is not installed: .ci/run installs it (apt-get install rsyslog rsyslog-gnutls rsyslog-openssl)');
  const dir = mkdtempSync(path.join(tmpdir(), 'rsyslog-test-'));
  const port = await freePort();
  const out = path.join(dir, 'messages.log');
  const tls = opts.driver !== 'tcp';
  const driver = tls
    ? `global(workDirectory="${dir}" defaultNetstreamDriverCAFile="${CERTS_DIR}/ca.crt" defaultNetstreamDriverCertFile="${CERTS_DIR}/server.crt" defaultNetstreamDriverKeyFile="${CERTS_DIR}/server.key")
module(load="imtcp" streamDriver.name="${opts.driver}" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")`
    : `global(workDirectory="${dir}")
module(load="imtcp")`;
  // Stock limits on purpose: maxMessageSize 8k, imtcp maxFrameSize 200000.
  writeFileSync(
    path.join(dir, 'rsyslog.conf'),
    `${driver}
input(type="imtcp" port="${port}" address="127.0.0.1")
template(name="msgOnly" type="string" string="%msg%\\n")
action(type="omfile" file="${out}" template="msgOnly" flushOnTXEnd="on" asyncWriting="off")
`,
  );
  const child: ChildProcess = spawn(RSYSLOGD, ['-n', '-f', path.join(dir, 'rsyslog.conf'), '-i', path.join(dir, 'rsyslogd.pid'), '-C'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (let i = 0; !(await listening(port)); i++) {
    if (i > 100 || child.exitCode !== null) {
      child.kill();
      throw new Error(`rsyslogd did not start listening on ${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.replace(/^ /, '')) : []);
  return {
    port,
    target(overrides = {}) {
      const client = testCerts.client();
      return { host: '127.0.0.1', port, tls, maxMessageBytes: 8192, ...(tls ? { ca: testCerts.ca(), cert: client.cert, key: client.key } : {}), ...overrides };
    },
    lines,
    async waitForLines(n, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (lines().length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
      return lines();
    },
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether this machine can run the rsyslog tests (CI installs rsyslog; see .ci/run). */
export function rsyslogVersion(): string | undefined {
  if (!RSYSLOGD) return undefined;
  return /rsyslogd\s+(\S+)/.exec(spawnSync(RSYSLOGD, ['-v'], { encoding: 'utf8' }).stdout ?? '')?.[1];
}
