/**
 * The facts the Lambda code and the CDK construct must agree on, kept once: environment
 * variables with their default and bounds, metric names and units, the namespace, service
 * names, the schedule event's connector fields, the placeholder secret. Side-effect free (no
 * SDK, no Powertools): infra/ imports this module and nothing else from functions/.
 */

export const METRICS_NAMESPACE = 'CloudTrailToDnif';
export const FORWARDER_SERVICE = 'cloudtrail-dnif-forwarder';
export const TEST_CONNECTION_SERVICE = 'cloudtrail-dnif-test-connection';
/** The EMF dimension (beside `service`) that a run of a named connector adds. */
export const CONNECTOR_DIMENSION = 'connector';

/** Metrics the forwarder emits, with the CloudWatch unit it emits them in. */
export const FORWARDER_METRICS = {
  EventsForwarded: 'Count',
  DuplicatesSkipped: 'Count',
  /** Max across regions per run. */
  LagSeconds: 'Seconds',
  SinkErrors: 'Count',
  Throttles: 'Count',
  RunDuration: 'Milliseconds',
  EventsFiltered: 'Count',
  EventsTruncated: 'Count',
  /** CloudTrailEvent strings that were not valid JSON. */
  EventsUnparsed: 'Count',
  /** A run that failed (threw): per connector, where Lambda's Errors is per function. */
  RunsFailed: 'Count',
  /** A run that found the secret still holding the deploy-time placeholder and did nothing. */
  ConnectorNotConfigured: 'Count',
  /** EventTime → DNIF 2xx: the run's largest (the DeliveryDelayHigh alarm's metric), and its 95th percentile. */
  DeliveryDelaySeconds: 'Seconds',
  DeliveryDelayP95Seconds: 'Seconds',
  /** The re-read window of the lateness span the run could afford (narrowest region). */
  RereadWindowSeconds: 'Seconds',
  /** LookupEvents calls the run could afford (smallest region): what the re-read window was sized by. */
  LookupBudgetCalls: 'Count',
  LookupCallsPer1000Events: 'Count',
} as const;

export type ForwarderMetricName = keyof typeof FORWARDER_METRICS;

/** Metrics only the trail-file source (S3 forwarder) emits, besides the ones above. */
export const TRAIL_FILE_METRICS = {
  /** Files delivered, digests and other keys skipped, files that could not be read. */
  ObjectsForwarded: 'Count',
  ObjectsSkipped: 'Count',
  ObjectReadErrors: 'Count',
  /** Work handed on to a later message (deadline, lease held, DNIF outage). */
  Continuations: 'Count',
  /** Files handed back because DNIF did not take them. */
  DeliveryDeferred: 'Count',
} as const;

export type TrailFileMetricName = keyof typeof TRAIL_FILE_METRICS;

export const TRAIL_AUDIT_SERVICE = 'cloudtrail-dnif-trail-audit';

/**
 * The trail audit's metrics: totals with the `service` dimension (the alarms), and per account and
 * region (dimensions `accountId`, `region`) for the dashboard.
 */
export const AuditMetric = {
  DigestsChecked: 'AuditDigestsChecked',
  LogFilesListed: 'AuditLogFilesListed',
  LogFilesDelivered: 'AuditLogFilesDelivered',
  LogFilesRepaired: 'AuditLogFilesRepaired',
  LogFilesMissing: 'AuditLogFilesMissing',
  Invalid: 'AuditInvalid',
  InProgress: 'AuditLogFilesInProgress',
  Unchecked: 'AuditLogFilesUnchecked',
  Errors: 'AuditErrors',
  NewestDigestAgeSeconds: 'AuditNewestValidDigestAgeSeconds',
  NoRecentDigest: 'AuditNoRecentDigest',
  TrailLoggingStopped: 'TrailLoggingStopped',
  TrailDeliveryErrors: 'TrailDeliveryErrors',
  TrailStatusUnavailable: 'TrailStatusUnavailable',
} as const;
export const TrailFileMetricName = Object.fromEntries(Object.keys(TRAIL_FILE_METRICS).map((k) => [k, k])) as {
  readonly [K in TrailFileMetricName]: K;
};
export const MetricName = Object.fromEntries(Object.keys(FORWARDER_METRICS).map((k) => [k, k])) as {
  readonly [K in ForwarderMetricName]: K;
};

/** A numeric environment variable: its default and the values it may take. */
export interface NumberSetting {
  readonly env: string;
  readonly default: number;
  readonly min: number;
  readonly max: number;
  /** Whole numbers only unless set. */
  readonly decimal?: boolean;
  /** The construct/context option that sets it, when there is one. */
  readonly option?: string;
}

const DAY = 86400;

/** Every numeric setting the functions read (docs/contract.md, "Environment"). */
export const NUMBER_SETTINGS = {
  latenessSeconds: { env: 'LATENESS_SECONDS', default: 900, min: 0, max: 90 * DAY, option: 'latenessSeconds' },
  // LookupEvents only reaches 90 days back.
  backfillSeconds: { env: 'BACKFILL_SECONDS', default: 3600, min: 0, max: 90 * DAY, option: 'backfillSeconds' },
  settleSeconds: { env: 'SETTLE_SECONDS', default: 300, min: 0, max: DAY },
  batchMaxEvents: { env: 'BATCH_MAX_EVENTS', default: 500, min: 1, max: 100_000, option: 'batchMaxEvents' },
  batchMaxBytes: { env: 'BATCH_MAX_BYTES', default: 1_000_000, min: 1024, max: 100_000_000, option: 'batchMaxBytes' },
  secretMaxAgeSeconds: { env: 'SECRET_MAX_AGE_SECONDS', default: 300, min: 0, max: DAY },
  deadlineReserveMs: { env: 'DEADLINE_RESERVE_MS', default: 15_000, min: 0, max: 600_000 },
  lookupRatePerSecond: { env: 'LOOKUP_RATE_PER_SECOND', default: 2, min: 0.1, max: 2, decimal: true },
  testConnectionBudgetMs: { env: 'TEST_CONNECTION_BUDGET_MS', default: 8_000, min: 100, max: 60_000 },
  testConnectionCheckTimeoutMs: { env: 'TEST_CONNECTION_CHECK_TIMEOUT_MS', default: 5_000, min: 100, max: 60_000 },
  // The trail-file source (S3 forwarder).
  outageToleranceHours: { env: 'DNIF_OUTAGE_TOLERANCE_HOURS', default: 24, min: 0, max: 14 * 24, decimal: true },
  /** The first delay (s) of work handed back during a DNIF outage; it doubles up to 900 s. */
  outageBackoffSeconds: { env: 'DNIF_OUTAGE_BACKOFF_SECONDS', default: 5, min: 0, max: 900 },
  // The trail audit. The ledger keeps objects 31 days; two weeks back is already 336 digests per account-region and run.
  auditLookbackHours: { env: 'AUDIT_LOOKBACK_HOURS', default: 24, min: 1, max: 14 * 24 },
  auditConcurrency: { env: 'AUDIT_CONCURRENCY', default: 8, min: 1, max: 64 },
  auditObjectConcurrency: { env: 'AUDIT_OBJECT_CONCURRENCY', default: 8, min: 1, max: 64 },
} as const satisfies Record<string, NumberSetting>;

export const ENV = {
  secretId: 'SECRET_ID',
  checkpointTable: 'CHECKPOINT_TABLE',
  /** Test connection: JSON object connector name -> secret ARN, for `?connector=<name>`. */
  connectorSecretIds: 'CONNECTOR_SECRET_IDS',
  /**
   * S3 forwarder, optional: the `connector` dimension its metrics carry as well (the construct
   * sets it for a connector of `connectors`, so that connector's alarms watch its own figures).
   */
  metricsConnector: 'METRICS_CONNECTOR',
} as const;

/**
 * Reads one number: `raw` as given (environment string, context string or number). Returns the
 * number, or a problem phrased to follow the setting's name ("must be ...").
 */
export function readNumber(raw: string | number, bounds: Pick<NumberSetting, 'min' | 'max' | 'decimal'>): { value: number } | { problem: string } {
  const text = String(raw).trim();
  const n = Number(text);
  if (bounds.decimal ? text === '' || !Number.isFinite(n) : !/^\d+$/.test(text)) {
    return { problem: bounds.decimal ? `must be a number between ${bounds.min} and ${bounds.max}, got "${raw}"` : `must be a whole number, got "${raw}"` };
  }
  if (n < bounds.min || n > bounds.max) return { problem: `must be between ${bounds.min} and ${bounds.max}, got ${n}` };
  return { value: n };
}

/** AWS region codes in partitions aws, aws-cn, aws-us-gov, aws-iso*: us-east-1, cn-north-1, us-gov-west-1, us-isob-east-1. */
export const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

/** A connector name in the stack: it names construct ids, alarms, metrics and the lease. */
export const CONNECTOR_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * What a schedule of a named connector adds to the scheduled event, under `detail` (which is
 * `{}` in an EventBridge scheduled event): the connector's name and the secret to read.
 */
export interface ScheduledConnectorDetail {
  connector?: string;
  secretId?: string;
}

/** The value every field of a created secret holds until the operator puts the real connector. */
export const PLACEHOLDER_VALUE = 'REPLACE_ME';

/**
 * What the created secret holds until the operator replaces it. Deliberately constant (no
 * context, no region): CloudFormation rewrites the secret value whenever this template value
 * changes, which would overwrite the real connector on the next deploy.
 */
export const PLACEHOLDER_CONNECTOR = {
  connectorName: PLACEHOLDER_VALUE,
  awsAccessKeyId: PLACEHOLDER_VALUE,
  awsSecretAccessKey: PLACEHOLDER_VALUE,
  awsRegion: PLACEHOLDER_VALUE,
  dnif: { url: `https://${PLACEHOLDER_VALUE}/events`, token: PLACEHOLDER_VALUE },
} as const;

/** True for a secret value still holding the deploy-time placeholder (its connectorName). */
export function isPlaceholderConnector(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { connectorName?: unknown }).connectorName === PLACEHOLDER_VALUE;
}
