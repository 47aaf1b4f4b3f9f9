import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** Metric names the CDK alarms and dashboard read; change them together. */
export const MetricName = {
  EventsForwarded: 'EventsForwarded',
  DuplicatesSkipped: 'DuplicatesSkipped',
  LagSeconds: 'LagSeconds',
  SinkErrors: 'SinkErrors',
  Throttles: 'Throttles',
  RunDuration: 'RunDuration',
  EventsFiltered: 'EventsFiltered',
  EventsTruncated: 'EventsTruncated',
  EventsUnparsed: 'EventsUnparsed',
} as const;

/** What only the trail-file source emits besides the above (infra/names.ts TRAIL_FILE_METRICS). */
export const TrailFileMetricName = {
  ObjectsForwarded: 'ObjectsForwarded',
  ObjectsSkipped: 'ObjectsSkipped',
  ObjectReadErrors: 'ObjectReadErrors',
  Continuations: 'Continuations',
  DeliveryDeferred: 'DeliveryDeferred',
} as const;

export const METRICS_NAMESPACE = 'CloudTrailToDnif';

/** EMF metrics (Powertools): one flush per invocation, dimension `service` only so alarms match. */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'cloudtrail-dnif-forwarder',
});

export { MetricUnit };
