/**
 * The contract's transport rules (docs/contract.md, "The connector secret"), as plain checks the
 * connector schema applies: where DNIF may be, which extra headers may go with a batch, and which
 * unknown key names may be echoed in an error. Each check answers a problem text that names a
 * rule, never a value.
 */
import { isIP } from 'node:net';

/** The environment switch for plain http / syslog without TLS to a loopback IP (tests, demo, bench). */
export const ALLOW_LOOPBACK_PLAINTEXT = 'DNIF_ALLOW_LOOPBACK_PLAINTEXT';

export const plaintextAllowed = (env: NodeJS.ProcessEnv = process.env): boolean => env[ALLOW_LOOPBACK_PLAINTEXT] === '1';

/** 127.0.0.0/8 or ::1, decided on the parsed address: `127.attacker.example` is a host name, not loopback. */
export function isLoopbackIp(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const family = isIP(bare);
  if (family === 4) return Number(bare.split('.')[0]) === 127;
  // The URL parser writes an IPv6 address in its canonical form (0:0:0:0:0:0:0:1 is ::1).
  if (family === 6) return new URL(`http://[${bare}]/`).hostname === '[::1]';
  return false;
}

const PLAINTEXT_RULE = `only to a loopback IP (127.0.0.0/8 or ::1) and only with ${ALLOW_LOOPBACK_PLAINTEXT}=1 (tests and the demo)`;

/** Why `dnif.url` breaks the transport rules, or undefined when it keeps them. */
export function dnifUrlProblem(raw: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an https:// URL';
  }
  if (url.username || url.password) return 'must not carry a user name or password: give credentials in dnif.auth';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol !== 'http:') return 'must be an https:// URL';
  return isLoopbackIp(url.hostname) && plaintextAllowed(env) ? undefined : `must be an https:// URL (http:// ${PLAINTEXT_RULE})`;
}

/** Why syslog without TLS to `host` is refused, or undefined when allowed. */
export function plainSyslogProblem(host: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return isLoopbackIp(host) && plaintextAllowed(env) ? undefined : `false is accepted ${PLAINTEXT_RULE}; DNIF Adapters take TLS`;
}

/** RFC 9110 token characters: a header name. */
export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Headers that frame or route the request: the sink sets them, or they would split it. */
export const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'expect', 'keep-alive', 'proxy-connection', 'trailer']);

/** Why a value cannot go in an HTTP header (CR, LF, NUL and other controls; not Latin-1), or undefined. */
export function headerValueProblem(value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return 'must not contain control characters (CR, LF, NUL, ...)';
  if (/[^\x00-\xff]/.test(value)) return 'must be Latin-1 text (HTTP header values cannot carry other characters)';
  if (value !== value.trim()) return 'must not start or end with white space';
  return undefined;
}

/**
 * Whether a key name can be shown in an error: a field name someone misspelt, not a secret pasted
 * as a key. Field names are short, camelCase or kebab-case, with few digits; keys, tokens and
 * passwords are long, mixed-case and digit-rich.
 */
export function isShowableKeyName(key: string): boolean {
  if (key.length === 0 || key.length > 40 || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(key)) return false;
  const digits = (key.match(/\d/g) ?? []).length;
  const upper = (key.match(/[A-Z]/g) ?? []).length;
  return digits <= 2 && upper <= Math.max(3, key.length / 3) && !/[A-Z]{3}/.test(key);
}

/** What is wrong with `dnif.headers`, by key (or by position for a name that may be a secret). */
export function headerProblems(headers: Record<string, string>, authHeader: string | undefined): { key: string; problem: string }[] {
  const problems: { key: string; problem: string }[] = [];
  const seen = new Set<string>();
  Object.entries(headers).forEach(([name, value], i) => {
    const key = HEADER_NAME.test(name) && isShowableKeyName(name) ? name : `(header ${i + 1})`;
    const lower = name.toLowerCase();
    const problem = !HEADER_NAME.test(name)
      ? 'is not a valid HTTP header name'
      : RESERVED_HEADERS.has(lower)
        ? 'is set by the forwarder or frames the request: it cannot be given in dnif.headers'
        : lower === authHeader
          ? 'is the header dnif.auth sets: give it there only'
          : seen.has(lower)
            ? 'is given twice (header names are case-insensitive)'
            : typeof value === 'string'
              ? headerValueProblem(value)
              : 'must be a string';
    seen.add(lower);
    if (problem) problems.push({ key, problem });
  });
  return problems;
}
