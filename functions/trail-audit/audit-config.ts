/** The audit's settings from the environment (contract, "Second source"); a bad value names the variable. */
import { ConfigError, DEFAULTS, loadSecretId } from '../core/config';

type Env = Record<string, string | undefined>;

export interface AuditConfig {
  secretId: string;
  checkpointTable: string;
  bucket: string;
  /** Without a trailing slash; empty when the trail has no key prefix. */
  prefix: string;
  lookbackHours: number;
  /** Account-regions audited at once, and S3 objects read at once within each. */
  concurrency: { accountRegions: number; objects: number };
  secretMaxAgeSeconds: number;
  deadlineReserveMs: number;
}

function whole(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function loadAuditConfig(env: Env = process.env): AuditConfig {
  const bucket = env.AUDIT_BUCKET?.trim();
  if (!bucket) throw new ConfigError('AUDIT_BUCKET', 'is required');
  const checkpointTable = env.CHECKPOINT_TABLE?.trim();
  if (!checkpointTable) throw new ConfigError('CHECKPOINT_TABLE', 'is required');
  return {
    secretId: loadSecretId(env),
    checkpointTable,
    bucket,
    prefix: (env.AUDIT_PREFIX ?? '').trim().replace(/^\/+|\/+$/g, ''),
    // The ledger keeps objects 15 days: looking back further would call delivered files "never delivered".
    lookbackHours: whole(env, 'AUDIT_LOOKBACK_HOURS', 24, 1, 14 * 24),
    concurrency: {
      accountRegions: whole(env, 'AUDIT_CONCURRENCY', 8, 1, 64),
      objects: whole(env, 'AUDIT_OBJECT_CONCURRENCY', 8, 1, 64),
    },
    secretMaxAgeSeconds: whole(env, 'SECRET_MAX_AGE_SECONDS', DEFAULTS.secretMaxAgeSeconds, 0, 86400),
    deadlineReserveMs: whole(env, 'DEADLINE_RESERVE_MS', DEFAULTS.deadlineReserveMs, 0, 600_000),
  };
}
