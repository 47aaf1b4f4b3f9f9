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

// Lazy prefix: the first `AWSLogs/` that starts a well-formed trail path wins.
const TRAIL_KEY =
  /^(?:(.*?)\/)??AWSLogs\/(?:(o-[a-z0-9]{10,32})\/)?(\d{12})\/(CloudTrail|CloudTrail-Insight|CloudTrail-Digest)\/([a-z0-9-]+)\/(\d{4})\/(\d{2})\/(\d{2})\/[^/]+\.json\.gz$/;

/**
 * Classifies a decoded object key. With `prefix` (no trailing slash; '' for none) the key must sit
 * right under it; without, any prefix is accepted.
 */
export function parseTrailKey(key: string, prefix?: string): TrailKey {
  const m = TRAIL_KEY.exec(key);
  if (!m) return { kind: 'other' };
  const [, keyPrefix = '', orgId, account, folder, region, yyyy, mm, dd] = m;
  if (prefix !== undefined && keyPrefix !== prefix.replace(/\/+$/, '')) return { kind: 'other' };
  return { kind: KINDS[folder], prefix: keyPrefix, orgId, account, region, date: `${yyyy}-${mm}-${dd}` };
}

/** True for the keys whose records are forwarded (log and Insight files). */
export const isForwardedKind = (kind: TrailKeyKind): boolean => kind === 'log' || kind === 'insight';
