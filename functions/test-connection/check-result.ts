/** What every test-connection check answers, and how a check is timed. */
import type { FieldProblem } from '../core/connector';
import type { Code, Failure } from './error-codes';
import { withTimeout } from './timeout';

export type CheckName = 'request' | 'secret' | 'connector' | 'awsCredentials' | 'regions' | 'cloudtrail' | 'dnif' | TrailCheckName;
/** The trail-file source's checks (s3-checks.ts). */
export type TrailCheckName = 'trailBucket' | 'trailFile' | 'trailKms' | 'trailQueue' | 'trailDigests';

export interface CheckResult {
  name: CheckName;
  ok: boolean;
  code: Code;
  message: string;
  hint: string;
  dnifMessage?: string;
  /** Details; present where they apply. */
  region?: string;
  regions?: string[];
  accountId?: string;
  arn?: string;
  /** DNIF's scheme://host:port (never the path or query, which may carry a token). */
  target?: string;
  transport?: 'http' | 'syslog';
  field?: string;
  problems?: FieldProblem[];
  /** The raw AWS error code or network/TLS error code behind `code`. */
  cause?: string;
  /** HTTP status DNIF answered with. */
  status?: number;
  /** Non-failing advice. */
  warnings?: string[];
  durationMs: number;
}

/** The unexpected error behind a check, kept off the JSON (non-enumerable) for the log. */
export const errorOf = (c: CheckResult): unknown => (c as { error?: unknown }).error;

/** A failed check, in the documented key order. */
export function failedCheck(name: CheckName, f: Failure, details: Partial<CheckResult> = {}, durationMs = 0): CheckResult {
  const check: CheckResult = {
    name,
    ok: false,
    code: f.code,
    message: f.message,
    hint: f.hint,
    dnifMessage: f.dnifMessage,
    ...details,
    ...(f.field !== undefined ? { field: f.field } : {}),
    ...(f.problems !== undefined ? { problems: f.problems } : {}),
    ...(f.cause !== undefined ? { cause: f.cause } : {}),
    ...(f.status !== undefined ? { status: f.status } : {}),
    durationMs,
  };
  if (f.error !== undefined) Object.defineProperty(check, 'error', { value: f.error, enumerable: false });
  return check;
}

export function passedCheck(name: CheckName, message: string, details: Partial<CheckResult> = {}, durationMs = 0, hint = ''): CheckResult {
  return { name, ok: true, code: 'OK', message, hint, ...details, durationMs };
}

/** Time one check: run it within `timeoutMs`; a timeout or a throw becomes a failed check. */
export async function timed(
  timeoutMs: number,
  run: (signal: AbortSignal) => Promise<Omit<CheckResult, 'durationMs'>>,
  onError: (err: unknown) => CheckResult,
): Promise<CheckResult> {
  const start = Date.now();
  let result: CheckResult;
  try {
    result = { ...(await withTimeout(timeoutMs, run)), durationMs: 0 };
  } catch (err) {
    result = onError(err);
  }
  result.durationMs = Date.now() - start;
  return result;
}
