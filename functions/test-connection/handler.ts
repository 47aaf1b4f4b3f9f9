/**
 * Test-connection Lambda behind a function URL (payload 2.0). GET tests the stored connector
 * (the secret named by SECRET_ID); POST tests the connector JSON sent as the body, before it
 * is saved. Thin: parse the request, get the connector, run the checks concurrently within a
 * time bound, answer (SPEC.md, "Test connection"; docs/test-connection.md).
 */
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { connectorSecretId, loadSecretId, numberFromEnv } from '../core/config';
import { NUMBER_SETTINGS } from '../core/contract';
import { parseConnector, type Connector } from '../core/connector';
import { logger } from '../core/logger';
import { loadConnector } from '../core/secret';
import {
  awsCredentialsCheck,
  cloudTrailCheck,
  dnifHttpCheck,
  dnifSyslogCheck,
  errorOf,
  failedCheck,
  passedCheck,
  regionsCheck,
  type CheckResult,
} from './checks';
import { classifyConnectorError, DNIF, unknownFailure, type Failure } from './error-codes';
import { parseRequest } from './request';
import { trailChecks, trailConfigFrom } from './s3-checks';
import { buildResponse } from './response';
import { Scrubber } from '../core/scrub';
import { withTimeout } from './timeout';

export interface TestConnectionConfig {
  /** The whole answer is due within this (ms). */
  budgetMs: number;
  /** Each check's own bound (ms). */
  checkTimeoutMs: number;
}

export const DEFAULT_CONFIG: TestConnectionConfig = {
  budgetMs: NUMBER_SETTINGS.testConnectionBudgetMs.default,
  checkTimeoutMs: NUMBER_SETTINGS.testConnectionCheckTimeoutMs.default,
};

/** Optional TEST_CONNECTION_BUDGET_MS and TEST_CONNECTION_CHECK_TIMEOUT_MS. */
export function loadTestConnectionConfig(env: Record<string, string | undefined> = process.env): TestConnectionConfig {
  const budgetMs = numberFromEnv(env, NUMBER_SETTINGS.testConnectionBudgetMs);
  return { budgetMs, checkTimeoutMs: Math.min(budgetMs, numberFromEnv(env, NUMBER_SETTINGS.testConnectionCheckTimeoutMs)) };
}

type UrlResult = LambdaFunctionURLResult & { statusCode: number; headers: Record<string, string>; body: string };

export const handler = async (event: LambdaFunctionURLEvent, context?: Context): Promise<UrlResult> => {
  const started = Date.now();
  const scrubber = new Scrubber();
  const method = event?.requestContext?.http?.method ?? '';
  let source: 'stored' | 'request' | undefined;
  let connector: Connector | undefined;
  let checks: CheckResult[] = [];
  let statusCode: number | undefined;
  let headers: Record<string, string> | undefined;
  try {
    if (context) logger.addContext(context);
    const config = loadTestConnectionConfig();
    // Finish well inside the function's own timeout, whatever the configuration says.
    const lambdaLeft = context?.getRemainingTimeInMillis?.();
    const endsAt = started + Math.min(config.budgetMs, lambdaLeft !== undefined ? lambdaLeft - 1_000 : Infinity);
    const bound = () => Math.max(0, Math.min(config.checkTimeoutMs, endsAt - Date.now()));

    const request = parseRequest(event ?? {});
    if (request.kind === 'invalid') {
      checks = [failedCheck('request', request.failure)];
      statusCode = request.httpStatus;
      if (request.allow) headers = { allow: request.allow };
    } else {
      source = request.kind === 'stored' ? 'stored' : 'request';
      const first = await readConnector(request, scrubber, bound());
      checks = [first.check];
      connector = first.connector;
      if (connector) checks.push(...(await runChecks(connector, bound())));
    }
  } catch (err) {
    // A bug: answer 500 with a generic message; the details go to the log, scrubbed (below).
    const isConfig = (err as { name?: string })?.name === 'ConfigError';
    checks.push(failedCheck('request', isConfig ? classifyConnectorError(err, 'secret') : unknownFailure(err, 'testing the connection')));
  }

  for (const c of checks) {
    const err = errorOf(c) as { name?: string; message?: string; stack?: string } | undefined;
    if (err) logger.error(`Unexpected error in check ${c.name}`, scrubber.deep({ region: c.region, errorName: err.name, errorMessage: err.message, stack: err.stack }));
  }
  const { result } = buildResponse(checks, scrubber, { statusCode, source, connectorName: connector?.name, headers });
  logger.info(
    'Test connection answered',
    scrubber.deep({
      method,
      source,
      statusCode: result.statusCode,
      durationMs: Date.now() - started,
      checks: checks.map((c) => ({ name: c.name, region: c.region, ok: c.ok, code: c.code, cause: c.cause })),
    }),
  );
  return result;
};

/** The first check: the stored secret (GET) or the candidate in the body (POST), read and validated. */
async function readConnector(
  request: { kind: 'stored'; connector?: string } | { kind: 'candidate'; connector: unknown },
  scrubber: Scrubber,
  timeoutMs: number,
): Promise<{ check: CheckResult; connector?: Connector }> {
  const start = Date.now();
  const took = () => Date.now() - start;
  if (request.kind === 'candidate') {
    try {
      const connector = parseConnector(request.connector);
      scrubber.addConnector(connector);
      return { connector, check: passedCheck('connector', `The connector in the request body is valid (${connector.name})`, {}, took()) };
    } catch (err) {
      // Every string of an invalid candidate may be a secret in the wrong place: hide them all.
      scrubber.addAllStringsOf(request.connector);
      return { check: failedCheck('connector', classifyConnectorError(err, 'request'), {}, took()) };
    }
  }
  let secretId: string | undefined;
  try {
    if (request.connector !== undefined) {
      secretId = connectorSecretId(request.connector);
      if (!secretId) return { check: failedCheck('secret', unknownConnector(request.connector), {}, took()) };
    } else {
      secretId = loadSecretId();
    }
    const id = secretId;
    // Always read afresh: the user may just have saved a new value.
    const connector = await withTimeout(timeoutMs, () => loadConnector(id, { maxAgeSeconds: 0, forceFetch: true }));
    scrubber.addConnector(connector);
    return { connector, check: passedCheck('secret', `Secret ${secretId} was read and holds a valid connector (${connector.name})`, {}, took()) };
  } catch (err) {
    return { check: failedCheck('secret', classifyConnectorError(err, 'secret', secretId), {}, took()) };
  }
}

/** Every check after the connector, concurrently, each within `timeoutMs`. */
async function runChecks(connector: Connector, timeoutMs: number): Promise<CheckResult[]> {
  const dnif = connector.http
    ? dnifHttpCheck(connector.http, timeoutMs)
    : connector.syslog
      ? dnifSyslogCheck(connector.syslog, timeoutMs, connector.name)
      : undefined;
  // SOURCE=s3: the trail's bucket, newest file and queue instead of LookupEvents (s3-checks.ts).
  const trail = trailConfigFrom();
  const [credentials, source, dnifResult] = await Promise.all([
    awsCredentialsCheck(connector, timeoutMs),
    trail ? trailChecks(connector, trail, timeoutMs) : Promise.all(connector.regions.map((region) => cloudTrailCheck(connector, region, timeoutMs))),
    dnif,
  ]);
  return [credentials, ...(trail ? source : [regionsCheck(connector, source), ...source]), ...(dnifResult ? [dnifResult] : [])];
}

/** `?connector=<name>` names no connector of this stack. */
function unknownConnector(name: string): Failure {
  return {
    code: 'BadRequest',
    message: `This stack has no connector named "${name.slice(0, 64)}"`,
    hint: 'Use a name from the stack\'s connectors option, or leave out ?connector= to test the default connector.',
    dnifMessage: DNIF.configuration,
    field: 'connector',
  };
}
