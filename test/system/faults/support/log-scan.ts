/**
 * Captures everything written to stdout and stderr while a reliability test file runs (Powertools
 * logs to stdout) and fails a test whose output contains a secret value: the connector's
 * `secretValuesOf`, the raw credential fields of connectors that did not even parse, and the
 * stand-ins' own keys. Every file of the suite calls `useLogScan()` (through `useSuite()`).
 *
 * Output is swallowed so the test report stays readable; FAULTS_VERBOSE=1 passes it through.
 * Figures are written with `emit`, which bypasses the capture.
 */
import { parseConnector, secretValuesOf } from '../../../../functions/core/connector';
import { logger } from '../../../../functions/core/logger';

const stdoutWrite = process.stdout.write.bind(process.stdout);
const stderrWrite = process.stderr.write.bind(process.stderr);

/** Print a line the reader should see (figures, seeds), past the capture. */
export function emit(line: string): void {
  stdoutWrite(`${line}\n`);
}

/** value → what it is (for a leak report that never prints the value itself). */
const secrets = new Map<string, string>();

/** Values shorter than this are too common to scan for (and no real credential is). */
const MIN_SECRET_LENGTH = 8;

export function registerSecret(value: unknown, what: string): void {
  if (typeof value !== 'string') return;
  // As written, as JSON writes it (a log line), and each piece between control characters (a
  // library may quote a header value up to its CR LF or NUL).
  const forms = [value, JSON.stringify(value).slice(1, -1), ...value.split(/[\x00-\x1f\x7f]+/)];
  for (const form of forms) if (form.length >= MIN_SECRET_LENGTH && !secrets.has(form)) secrets.set(form, what);
}

/** The user part and query values of a URL: secrets wherever they appear. */
function registerUrlSecrets(url: unknown, label: string): void {
  if (typeof url !== 'string') return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return;
  }
  registerSecret(parsed.password, `${label}: dnif.url password`);
  registerSecret(parsed.username, `${label}: dnif.url user`);
  if (parsed.username || parsed.password) registerSecret(`${parsed.username}:${parsed.password}`, `${label}: dnif.url user:password`);
  for (const [k, v] of parsed.searchParams) registerSecret(v, `${label}: dnif.url query ${k}`);
}

const CREDENTIAL_FIELDS = ['awsAccessKeyId', 'awsSecretAccessKey', 'awsSessionToken', 'externalId'];
const DNIF_CREDENTIAL_FIELDS = ['token', 'password', 'value', 'secret'];

/** Every credential a connector document carries, whether or not it is valid. */
export function registerConnectorSecrets(doc: unknown, label: string): void {
  let text = typeof doc === 'string' ? doc : JSON.stringify(doc);
  try {
    for (const v of secretValuesOf(parseConnector(text))) registerSecret(v, `${label}: secretValuesOf`);
  } catch {
    // Invalid on purpose: the raw fields below still must not leak.
  }
  let raw: unknown;
  try {
    raw = typeof doc === 'string' ? JSON.parse(doc) : doc;
  } catch {
    raw = undefined;
    text = '';
  }
  if (typeof raw !== 'object' || raw === null) return;
  const r = raw as Record<string, unknown>;
  for (const f of CREDENTIAL_FIELDS) registerSecret(r[f], `${label}: ${f}`);
  // Misspelt keys (an "unknown field" case) may hold a real secret too.
  for (const [k, v] of Object.entries(r)) if (/secret|key|token|password/i.test(k)) registerSecret(v, `${label}: ${k}`);
  const dnif = r.dnif as Record<string, unknown> | undefined;
  if (dnif && typeof dnif === 'object') {
    for (const f of DNIF_CREDENTIAL_FIELDS) registerSecret(dnif[f], `${label}: dnif.${f}`);
    registerUrlSecrets(dnif.url, label);
    const auth = dnif.auth as Record<string, unknown> | undefined;
    if (auth && typeof auth === 'object') for (const f of DNIF_CREDENTIAL_FIELDS) registerSecret(auth[f], `${label}: dnif.auth.${f}`);
    const headers = dnif.headers as Record<string, unknown> | undefined;
    if (headers && typeof headers === 'object') for (const [k, v] of Object.entries(headers)) registerSecret(v, `${label}: dnif.headers.${k}`);
  }
}

export interface Leak {
  what: string;
  /** The offending line with the value replaced, so the report itself leaks nothing. */
  line: string;
}

export function findLeaks(text: string): Leak[] {
  const leaks: Leak[] = [];
  if (!text) return leaks;
  const lines = text.split('\n');
  for (const [value, what] of secrets) {
    const line = lines.find((l) => l.includes(value));
    if (line !== undefined) leaks.push({ what, line: line.split(value).join('<REDACTED>').slice(0, 400) });
  }
  return leaks;
}

export interface LogScan {
  /** Everything captured since the file started. */
  output(): string;
  /** Bytes captured so far (to prove the capture works). */
  bytes(): number;
}

/** Install the capture for this test file; each test fails if its output leaks a secret. */
export function useLogScan(): LogScan {
  let pending: string[] = [];
  let all: string[] = [];
  let bytes = 0;
  const verbose = process.env.FAULTS_VERBOSE === '1';
  const capture = (original: typeof stdoutWrite) =>
    ((chunk: unknown, ...rest: unknown[]): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
      pending.push(text);
      bytes += text.length;
      if (verbose) return (original as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
      // Honour a write callback, as the real stream would.
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as typeof process.stdout.write;

  const scanPending = (when: string) => {
    const text = pending.join('');
    all.push(text);
    pending = [];
    const leaks = findLeaks(text);
    if (leaks.length > 0) {
      throw new Error(`secret value in captured output ${when}:\n${leaks.map((l) => `  ${l.what}: ${l.line}`).join('\n')}`);
    }
  };

  beforeAll(() => {
    // Everything the code logs, not only errors: the scan must see every line.
    logger.setLogLevel('DEBUG');
    process.stdout.write = capture(stdoutWrite);
    process.stderr.write = capture(stderrWrite);
  });
  afterEach(() => {
    const name = expect.getState().currentTestName ?? '(unknown test)';
    scanPending(`during "${name}"`);
  });
  afterAll(() => {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    logger.setLogLevel('ERROR');
    scanPending('in hooks of this file');
  });

  return {
    output: () => all.join('') + pending.join(''),
    bytes: () => bytes,
  };
}
