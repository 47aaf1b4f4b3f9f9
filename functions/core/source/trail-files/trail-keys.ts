/**
 * Which object keys are CloudTrail's (SPEC.md, "Second source", "Which objects"):
 *
 *   [<prefix>/]AWSLogs/[o-<org id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz          log
 *   [<prefix>/]AWSLogs/[o-<org id>/]<account>/CloudTrail-Insight/<region>/YYYY/MM/DD/<file>.json.gz  insight
 *   [<prefix>/]AWSLogs/[o-<org id>/]<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<file>.json.gz   digest
 *
 * Log and Insight files are forwarded; digests feed the audit; anything else is counted and left.
 */

export type TrailKeyKind = 'log' | 'insight' | 'digest' | 'other';

export interface TrailKey {
  kind: TrailKeyKind;
  /** The trail's key prefix before `AWSLogs/`, without its trailing slash ('' when none). */
  prefix?: string;
  orgId?: string;
  account?: string;
  region?: string;
  /** The file's day as YYYY-MM-DD (UTC), from the key. */
  date?: string;
}

const KINDS: Record<string, TrailKeyKind> = { CloudTrail: 'log', 'CloudTrail-Insight': 'insight', 'CloudTrail-Digest': 'digest' };

// Lazy prefix: the first `AWSLogs/` that starts a trail path wins. The part after the log kind is
// `<region>/YYYY/MM/DD/<file>` as CloudTrail writes it; anything else ending in .json.gz under the
// kind's folder is still that kind (the contract names only the folders and the suffix).
const TRAIL_KEY = /^(?:(.*?)\/)??AWSLogs\/(?:(o-[a-z0-9]+)\/)?(\d{12})\/(CloudTrail|CloudTrail-Insight|CloudTrail-Digest)\/((?:[^/]+\/)*[^/]+\.json\.gz)$/;
const REGION_AND_DAY = /^([a-z]{2}(?:-[a-z]+)+-\d+)\/(?:(\d{4})\/(\d{2})\/(\d{2})\/)?/;

/**
 * Classifies a decoded object key. With `prefix` (no trailing slash; '' for none) the key must sit
 * right under it; without, any prefix is accepted.
 */
export function parseTrailKey(key: string, prefix?: string): TrailKey {
  const m = TRAIL_KEY.exec(key);
  if (!m) return { kind: 'other' };
  const [, keyPrefix = '', orgId, account, folder, rest] = m;
  if (prefix !== undefined && keyPrefix !== prefix.replace(/\/+$/, '')) return { kind: 'other' };
  const where = REGION_AND_DAY.exec(rest);
  const date = where?.[2] ? `${where[2]}-${where[3]}-${where[4]}` : undefined;
  return { kind: KINDS[folder], prefix: keyPrefix, orgId, account, region: where?.[1], date };
}

/** True for the keys whose records are forwarded (log and Insight files). */
export const isForwardedKind = (kind: TrailKeyKind): boolean => kind === 'log' || kind === 'insight';
