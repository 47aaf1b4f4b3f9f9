/**
 * Names the Lambda code and the stack must agree on (SPEC.md; the code emits EMF through
 * Powertools, whose default dimension is `service` = POWERTOOLS_SERVICE_NAME).
 */
export const METRICS_NAMESPACE = 'CloudTrailToDnif';
export const FORWARDER_SERVICE = 'cloudtrail-dnif-forwarder';
export const TEST_CONNECTION_SERVICE = 'cloudtrail-dnif-test-connection';

/** Metrics the forwarder emits, with the unit it emits them in. */
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
  /** EventTime → DNIF 2xx: the run's largest, and its 95th percentile. */
  DeliveryDelaySeconds: 'Seconds',
  DeliveryDelayP95Seconds: 'Seconds',
  /** The re-read window of the lateness span the run could afford (narrowest region). */
  RereadWindowSeconds: 'Seconds',
  /** LookupEvents calls the run could afford (smallest region). */
  LookupBudgetCalls: 'Count',
  LookupCallsPer1000Events: 'Count',
} as const;

export type ForwarderMetricName = keyof typeof FORWARDER_METRICS;
