/**
 * Names the Lambda code and the stack must agree on (SPEC.md; the code emits EMF through
 * Powertools, whose default dimension is `service` = POWERTOOLS_SERVICE_NAME).
 */
export const METRICS_NAMESPACE = 'CloudTrailToDnif';
export const FORWARDER_SERVICE = 'cloudtrail-dnif-forwarder';
export const TEST_CONNECTION_SERVICE = 'cloudtrail-dnif-test-connection';
export const TRAIL_AUDIT_SERVICE = 'cloudtrail-dnif-trail-audit';

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
} as const;

export type ForwarderMetricName = keyof typeof FORWARDER_METRICS;

/** Metrics only the trail-file source emits (besides the ones above). */
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
