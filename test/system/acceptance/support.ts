/**
 * Acceptance support: only what docs/contract.md names. Handlers are loaded from their
 * contract paths in a fresh module registry (a Lambda cold start), records are new ones
 * (not the fixtures), and a raw HTTP capture keeps the exact bytes DNIF would receive.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cloudTrailTime, type CloudTrailRecord } from '../../../standins';

type Handler = (event: unknown, context: unknown) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const HANDLERS = {
  forwarder: '../../../functions/forwarder/handler',
  testConnection: '../../../functions/test-connection/handler',
  s3Forwarder: '../../../functions/s3-forwarder/handler',
  trailAudit: '../../../functions/trail-audit/handler',
} as const;

/** The contract's `handler` export of one handler file, in a fresh module registry (cold start). */
export function coldHandler(which: keyof typeof HANDLERS): Handler {
  let h: Handler | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    h = (require(HANDLERS[which]) as { handler: Handler }).handler;
  });
  if (typeof h !== 'function') throw new Error(`${HANDLERS[which]} exports no handler`);
  return h;
}

let seq = 0;
/** A connector name no other test uses (own checkpoints, lease, ledger). */
export const uniqueName = (what = 'acc') => `${what}-${++seq}-${randomUUID().slice(0, 8)}`;

export interface RecordOptions {
  ms: number;
  region: string;
  accountId?: string;
  /** Keep milliseconds in eventTime (CloudTrail writes without; be liberal). */
  millis?: boolean;
  extra?: Record<string, unknown>;
}

/** A new management event, not a fixture: fresh eventID, odd but valid content. */
export function newRecord(o: RecordOptions): CloudTrailRecord {
  const accountId = o.accountId ?? '111122223333';
  const time = o.millis ? new Date(o.ms).toISOString() : cloudTrailTime(o.ms);
  return {
    eventVersion: '1.11',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAACCEPT${seq}:sessión-ü`,
      arn: `arn:aws:sts::${accountId}:assumed-role/Ops/sessión-ü`,
      accountId,
      accessKeyId: 'ASIAACCEPTANCE000001',
    },
    eventTime: time,
    eventSource: 'iam.amazonaws.com',
    eventName: 'TagRole',
    awsRegion: o.region,
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2.15 — 日本語 ✓',
    requestParameters: { roleName: 'Ops', tags: [{ key: 'Ω', value: 'emoji 🚀 "quoted" \\ back' }] },
    responseElements: null,
    requestID: randomUUID(),
    eventID: randomUUID(),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: accountId,
    eventCategory: 'Management',
    ...o.extra,
  } as unknown as CloudTrailRecord;
}

/** `n` records spread evenly over [fromMs, toMs], oldest first, with assorted oddities. */
export function newRecords(n: number, fromMs: number, toMs: number, region: string, accountId?: string): CloudTrailRecord[] {
  const step = n > 1 ? (toMs - fromMs) / (n - 1) : 0;
  return Array.from({ length: n }, (_, i) => {
    const extra: Record<string, unknown> = {};
    if (i % 7 === 3) extra.requestParameters = { policyDocument: 'x'.repeat(60_000) + '🚀' };
    if (i % 5 === 1) delete (extra as { userAgent?: unknown }).userAgent;
    if (i % 11 === 4) extra.additionalEventData = { nested: { deeper: { list: [1, 'two', { three: 3 }] } } };
    const r = newRecord({ ms: Math.round(fromMs + i * step), region, accountId, millis: i % 2 === 0, extra });
    if (i % 5 === 1) delete (r as unknown as Record<string, unknown>).userAgent;
    return r;
  });
}

export interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A bare HTTP server that keeps every request's exact bytes and answers `respond`'s status. */
export async function startCapture(
  respond: (req: Captured) => { status: number; headers?: Record<string, string>; body?: string } = () => ({ status: 200 }),
): Promise<{ url: string; base: string; requests: Captured[]; setRespond(r: typeof respond): void; close(): Promise<void> }> {
  const requests: Captured[] = [];
  let answer = respond;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const c: Captured = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(c);
      const a = answer(c);
      res.writeHead(a.status, a.headers);
      res.end(a.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    url: `${base}/events`,
    base,
    requests,
    setRespond: (r) => (answer = r),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Everything written to stdout/stderr (where Lambda logs go) while `fn` runs. */
export async function withLogs<T>(fn: () => Promise<T>): Promise<{ result?: T; error?: unknown; logs: string }> {
  const chunks: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture = (chunk: unknown): boolean => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    return true;
  };
  const origLog = console.log;
  const origErr = console.error;
  const origWarn = console.warn;
  const origInfo = console.info;
  console.log = console.error = console.warn = console.info = (...args: unknown[]) => void chunks.push(args.map(String).join(' '));
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    return { result: await fn(), logs: chunks.join('\n') };
  } catch (error) {
    return { error, logs: chunks.join('\n') };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    console.log = origLog;
    console.error = origErr;
    console.warn = origWarn;
    console.info = origInfo;
  }
}

/** Run with extra environment variables, restoring them after. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
