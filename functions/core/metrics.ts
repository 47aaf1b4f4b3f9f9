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
  /** EventTime → DNIF 2xx, the run's largest (the alarm's metric). */
  DeliveryDelaySeconds: 'DeliveryDelaySeconds',
  /** EventTime → DNIF 2xx, the run's 95th percentile. */
  DeliveryDelayP95Seconds: 'DeliveryDelayP95Seconds',
  /** The re-read window the run chose (narrowest region). */
  RereadWindowSeconds: 'RereadWindowSeconds',
  /** LookupEvents calls the run could afford (smallest region): what the re-read window was sized by. */
  LookupBudgetCalls: 'LookupBudgetCalls',
  LookupCallsPer1000Events: 'LookupCallsPer1000Events',
} as const;

export const METRICS_NAMESPACE = 'CloudTrailToDnif';

/** EMF metrics (Powertools): one flush per invocation, dimension `service` only so alarms match. */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'cloudtrail-dnif-forwarder',
});

export { MetricUnit };
