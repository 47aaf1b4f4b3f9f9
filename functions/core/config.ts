/**
 * Settings from the environment (SPEC.md, "Environment"). Read once per cold start;
 * a bad value fails fast with an error naming the variable. Names, defaults and bounds are
 * the contract's (contract.ts), which the CDK construct checks its options against too.
 */
import { ENV, NUMBER_SETTINGS, readNumber, type NumberSetting } from './contract';

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`Environment variable ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export interface ForwarderConfig {
  secretId: string;
  checkpointTable: string;
  /** How late (s) an event may show up in Event history and still be delivered. */
  latenessSeconds: number;
  /** How far back (s) the very first run of a region starts. */
  backfillSeconds: number;
  /** Re-read (s) of the newest part of the window on every run, so typical ~5 min late events go out early. */
  settleSeconds: number;
  batchMaxEvents: number;
  batchMaxBytes: number;
  /** How long (s) the secret is cached between runs of a warm function. */
  secretMaxAgeSeconds: number;
  /** Time (ms) kept free before the Lambda deadline to write the checkpoint and release the lease. */
  deadlineReserveMs: number;
  /** LookupEvents requests per second per account and region (AWS allows 2). */
  lookupRatePerSecond: number;
}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
  const v = env[name]?.trim();
  if (!v) throw new ConfigError(name, 'is required');
  return v;
}

/** The setting's value from the environment, its default when unset or empty. */
export function numberFromEnv(env: Env, setting: NumberSetting): number {
  const raw = env[setting.env];
  if (raw === undefined || raw.trim() === '') return setting.default;
  const read = readNumber(raw, setting);
  if ('problem' in read) throw new ConfigError(setting.env, read.problem);
  return read.value;
}

/** Each setting's default (the contract's NUMBER_SETTINGS). */
export const DEFAULTS = Object.fromEntries(Object.entries(NUMBER_SETTINGS).map(([k, v]) => [k, v.default])) as {
  readonly [K in keyof typeof NUMBER_SETTINGS]: (typeof NUMBER_SETTINGS)[K]['default'];
};

/** Settings both Lambdas share: where the connector lives. */
export function loadSecretId(env: Env = process.env): string {
  return required(env, ENV.secretId);
}

/**
 * The secret of a named connector (CONNECTOR_SECRET_IDS, set by a stack with `connectors`), or
 * undefined when the stack has no connector by that name.
 */
export function connectorSecretId(name: string, env: Env = process.env): string | undefined {
  const raw = env[ENV.connectorSecretIds]?.trim();
  if (!raw) return undefined;
  let ids: unknown;
  try {
    ids = JSON.parse(raw);
  } catch {
    throw new ConfigError(ENV.connectorSecretIds, 'must be a JSON object of connector name to secret ARN');
  }
  const id = (ids as Record<string, unknown> | null)?.[name];
  return typeof id === 'string' && Object.prototype.hasOwnProperty.call(ids, name) ? id : undefined;
}

export function loadForwarderConfig(env: Env = process.env): ForwarderConfig {
  const n = (setting: NumberSetting) => numberFromEnv(env, setting);
  const latenessSeconds = n(NUMBER_SETTINGS.latenessSeconds);
  return {
    secretId: loadSecretId(env),
    checkpointTable: required(env, ENV.checkpointTable),
    latenessSeconds,
    backfillSeconds: n(NUMBER_SETTINGS.backfillSeconds),
    settleSeconds: Math.min(latenessSeconds, n(NUMBER_SETTINGS.settleSeconds)),
    batchMaxEvents: n(NUMBER_SETTINGS.batchMaxEvents),
    batchMaxBytes: n(NUMBER_SETTINGS.batchMaxBytes),
    secretMaxAgeSeconds: n(NUMBER_SETTINGS.secretMaxAgeSeconds),
    deadlineReserveMs: n(NUMBER_SETTINGS.deadlineReserveMs),
    lookupRatePerSecond: n(NUMBER_SETTINGS.lookupRatePerSecond),
  };
}

/** The S3 trail-file forwarder (SPEC.md, "Second source"). */
export interface S3ForwarderConfig {
  secretId: string;
  checkpointTable: string;
  batchMaxEvents: number;
  batchMaxBytes: number;
  secretMaxAgeSeconds: number;
  deadlineReserveMs: number;
  /** How long a DNIF outage may last before its messages are left to reach the dead-letter queue. */
  outageToleranceHours: number;
  /** The first delay (s) of work handed back during a DNIF outage; it doubles up to 900 s. */
  outageBackoffSeconds: number;
  /** METRICS_CONNECTOR: the `connector` dimension every metric carries as well, if set. */
  metricsConnector?: string;
}

export function loadS3ForwarderConfig(env: Env = process.env): S3ForwarderConfig {
  const n = (setting: NumberSetting) => numberFromEnv(env, setting);
  return {
    secretId: loadSecretId(env),
    checkpointTable: required(env, ENV.checkpointTable),
    batchMaxEvents: n(NUMBER_SETTINGS.batchMaxEvents),
    batchMaxBytes: n(NUMBER_SETTINGS.batchMaxBytes),
    secretMaxAgeSeconds: n(NUMBER_SETTINGS.secretMaxAgeSeconds),
    deadlineReserveMs: n(NUMBER_SETTINGS.deadlineReserveMs),
    outageToleranceHours: n(NUMBER_SETTINGS.outageToleranceHours),
    outageBackoffSeconds: n(NUMBER_SETTINGS.outageBackoffSeconds),
    metricsConnector: env[ENV.metricsConnector]?.trim() || undefined,
  };
}
