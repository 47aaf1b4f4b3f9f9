/** The audit's settings from the environment (contract, "Second source"); a bad value names the variable. */
import { ConfigError, loadS3ForwarderConfig, numberFromEnv, type S3ForwarderConfig } from '../core/config';
import { NUMBER_SETTINGS } from '../core/contract';

type Env = Record<string, string | undefined>;

/** The S3 forwarder's settings (repairs go through its path) plus where and how far back to audit. */
export interface AuditConfig extends S3ForwarderConfig {
  bucket: string;
  /** Without a trailing slash; empty when the trail has no key prefix. */
  prefix: string;
  lookbackHours: number;
  /** Account-regions audited at once, and S3 objects read at once within each. */
  concurrency: { accountRegions: number; objects: number };
}

export function loadAuditConfig(env: Env = process.env): AuditConfig {
  const bucket = env.AUDIT_BUCKET?.trim();
  if (!bucket) throw new ConfigError('AUDIT_BUCKET', 'is required');
  return {
    ...loadS3ForwarderConfig(env),
    bucket,
    prefix: (env.AUDIT_PREFIX ?? '').trim().replace(/^\/+|\/+$/g, ''),
    lookbackHours: numberFromEnv(env, NUMBER_SETTINGS.auditLookbackHours),
    concurrency: {
      accountRegions: numberFromEnv(env, NUMBER_SETTINGS.auditConcurrency),
      objects: numberFromEnv(env, NUMBER_SETTINGS.auditObjectConcurrency),
    },
  };
}
