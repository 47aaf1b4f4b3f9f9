/**
 * The function URL response: `{"status","timestamp","checks"}` as JSON, never cached, with
 * every string scrubbed of the connector's secret values.
 */
import type { LambdaFunctionURLResult } from 'aws-lambda';
import type { CheckResult } from './checks';
import { blameOf } from './error-codes';
import type { Scrubber } from '../core/scrub';

export const SUCCESS = 'Connection successful';
export const FAILURE = 'Connection failed';

export interface TestConnectionBody {
  status: typeof SUCCESS | typeof FAILURE;
  timestamp: string;
  /** `stored` (GET: the secret) or `request` (POST: the connector in the body). */
  source?: 'stored' | 'request';
  connectorName?: string;
  checks: CheckResult[];
}

/**
 * 200 when every check passed; 400 when the request or the connector is at fault; 500 when
 * something failed unexpectedly (a bug, or the function's own settings); 502 when AWS or
 * DNIF refused or could not be reached.
 */
export function httpStatusOf(checks: CheckResult[]): number {
  const failed = checks.filter((c) => !c.ok);
  if (failed.length === 0) return 200;
  if (failed.some((c) => blameOf(c.code) === 'request')) return 400;
  if (failed.some((c) => blameOf(c.code) === 'internal')) return 500;
  return 502;
}

export function buildResponse(
  checks: CheckResult[],
  scrubber: Scrubber,
  extra: { statusCode?: number; source?: 'stored' | 'request'; connectorName?: string; headers?: Record<string, string> } = {},
): { result: LambdaFunctionURLResult & { statusCode: number; headers: Record<string, string>; body: string }; body: TestConnectionBody } {
  const ok = checks.length > 0 && checks.every((c) => c.ok);
  const body: TestConnectionBody = scrubber.deep({
    status: ok ? SUCCESS : FAILURE,
    timestamp: new Date().toISOString(),
    ...(extra.source ? { source: extra.source } : {}),
    ...(extra.connectorName ? { connectorName: extra.connectorName } : {}),
    checks,
  });
  return {
    body,
    result: {
      statusCode: extra.statusCode ?? (ok ? 200 : httpStatusOf(checks)),
      headers: {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        ...(extra.headers ?? {}),
      },
      body: JSON.stringify(body),
    },
  };
}
