/**
 * Settings from the environment (SPEC.md, "Environment"). Read once per cold start;
 * a bad value fails fast with an error naming the variable.
 */
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

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function decimal(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(name, `must be a number between ${min} and ${max}, got "${raw}"`);
  return n;
}

export const DEFAULTS = {
  latenessSeconds: 900,
  backfillSeconds: 3600,
  settleSeconds: 300,
  batchMaxEvents: 500,
  batchMaxBytes: 1_000_000,
  secretMaxAgeSeconds: 300,
  deadlineReserveMs: 15_000,
  lookupRatePerSecond: 2,
} as const;

/** Settings both Lambdas share: where the connector lives. */
export function loadSecretId(env: Env = process.env): string {
  return required(env, 'SECRET_ID');
}

export function loadForwarderConfig(env: Env = process.env): ForwarderConfig {
  const latenessSeconds = integer(env, 'LATENESS_SECONDS', DEFAULTS.latenessSeconds, 0, 90 * 86400);
  return {
    secretId: loadSecretId(env),
    checkpointTable: required(env, 'CHECKPOINT_TABLE'),
    latenessSeconds,
    // LookupEvents only reaches 90 days back.
    backfillSeconds: integer(env, 'BACKFILL_SECONDS', DEFAULTS.backfillSeconds, 0, 90 * 86400),
    settleSeconds: Math.min(latenessSeconds, integer(env, 'SETTLE_SECONDS', DEFAULTS.settleSeconds, 0, 86400)),
    batchMaxEvents: integer(env, 'BATCH_MAX_EVENTS', DEFAULTS.batchMaxEvents, 1, 100_000),
    batchMaxBytes: integer(env, 'BATCH_MAX_BYTES', DEFAULTS.batchMaxBytes, 1024, 100_000_000),
    secretMaxAgeSeconds: integer(env, 'SECRET_MAX_AGE_SECONDS', DEFAULTS.secretMaxAgeSeconds, 0, 86400),
    deadlineReserveMs: integer(env, 'DEADLINE_RESERVE_MS', DEFAULTS.deadlineReserveMs, 0, 600_000),
    lookupRatePerSecond: decimal(env, 'LOOKUP_RATE_PER_SECOND', DEFAULTS.lookupRatePerSecond, 0.1, 2),
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
}

export function loadS3ForwarderConfig(env: Env = process.env): S3ForwarderConfig {
  return {
    secretId: loadSecretId(env),
    checkpointTable: required(env, 'CHECKPOINT_TABLE'),
    batchMaxEvents: integer(env, 'BATCH_MAX_EVENTS', DEFAULTS.batchMaxEvents, 1, 100_000),
    batchMaxBytes: integer(env, 'BATCH_MAX_BYTES', DEFAULTS.batchMaxBytes, 1024, 100_000_000),
    secretMaxAgeSeconds: integer(env, 'SECRET_MAX_AGE_SECONDS', DEFAULTS.secretMaxAgeSeconds, 0, 86400),
    deadlineReserveMs: integer(env, 'DEADLINE_RESERVE_MS', DEFAULTS.deadlineReserveMs, 0, 600_000),
    outageToleranceHours: decimal(env, 'DNIF_OUTAGE_TOLERANCE_HOURS', 24, 0, 24 * 14),
    outageBackoffSeconds: integer(env, 'DNIF_OUTAGE_BACKOFF_SECONDS', 5, 0, 900),
  };
}
