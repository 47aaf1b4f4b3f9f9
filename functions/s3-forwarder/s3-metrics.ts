import { MetricName, metrics, MetricUnit, TrailFileMetricName } from '../core/metrics';
import type { S3RunSummary } from './process-messages';

/** Adds one invocation's figures to the EMF document flushed at its end. */
export function recordS3Metrics(summary: S3RunSummary, durationMs: number): void {
  const readErrors = Object.values(summary.readErrors).reduce((n, c) => n + c, 0);
  metrics.addMetric(MetricName.EventsForwarded, MetricUnit.Count, summary.forwarded);
  metrics.addMetric(MetricName.DuplicatesSkipped, MetricUnit.Count, summary.duplicatesSkipped);
  metrics.addMetric(MetricName.EventsFiltered, MetricUnit.Count, summary.filtered);
  metrics.addMetric(MetricName.EventsTruncated, MetricUnit.Count, summary.truncated);
  metrics.addMetric(MetricName.EventsUnparsed, MetricUnit.Count, summary.unparsed);
  metrics.addMetric(MetricName.SinkErrors, MetricUnit.Count, summary.sinkErrors);
  metrics.addMetric(TrailFileMetricName.ObjectsForwarded, MetricUnit.Count, summary.delivered);
  metrics.addMetric(TrailFileMetricName.ObjectsSkipped, MetricUnit.Count, summary.skippedDigests + summary.skippedOther);
  metrics.addMetric(TrailFileMetricName.ObjectReadErrors, MetricUnit.Count, readErrors + summary.badMessages);
  metrics.addMetric(TrailFileMetricName.Continuations, MetricUnit.Count, summary.handedOn);
  metrics.addMetric(TrailFileMetricName.DeliveryDeferred, MetricUnit.Count, Object.values(summary.dnifErrors).reduce((n, c) => n + c, 0));
  metrics.addMetric(MetricName.RunDuration, MetricUnit.Milliseconds, durationMs);
}
