import { MetricName, metrics, MetricUnit } from '../core/metrics';
import type { ForwarderSummary } from './forward';

/** Adds one run's figures to the EMF document flushed at the end of the invocation. */
export function recordRunMetrics(summary: ForwarderSummary): void {
  const regions = Object.values(summary.regions);
  const total = (f: (r: (typeof regions)[number]) => number) => regions.reduce((n, r) => n + f(r), 0);
  metrics.addMetric(MetricName.EventsForwarded, MetricUnit.Count, summary.forwarded);
  metrics.addMetric(MetricName.DuplicatesSkipped, MetricUnit.Count, summary.duplicatesSkipped);
  metrics.addMetric(MetricName.EventsFiltered, MetricUnit.Count, summary.filtered);
  metrics.addMetric(MetricName.EventsTruncated, MetricUnit.Count, total((r) => r.truncated));
  metrics.addMetric(MetricName.EventsUnparsed, MetricUnit.Count, total((r) => r.unparsed));
  metrics.addMetric(MetricName.SinkErrors, MetricUnit.Count, total((r) => r.sinkErrors));
  metrics.addMetric(MetricName.Throttles, MetricUnit.Count, total((r) => r.throttles));
  metrics.addMetric(MetricName.LagSeconds, MetricUnit.Seconds, summary.lagSeconds);
  metrics.addMetric(MetricName.RunDuration, MetricUnit.Milliseconds, summary.durationMs);
  // Freshness (read-plan.ts): only what this run measured, so an idle run adds no zero delay.
  if (summary.deliveryDelaySeconds) {
    metrics.addMetric(MetricName.DeliveryDelaySeconds, MetricUnit.Seconds, summary.deliveryDelaySeconds.max);
    metrics.addMetric(MetricName.DeliveryDelayP95Seconds, MetricUnit.Seconds, summary.deliveryDelaySeconds.p95);
  }
  if (summary.rereadSeconds !== undefined) metrics.addMetric(MetricName.RereadWindowSeconds, MetricUnit.Seconds, summary.rereadSeconds);
  const budgets = regions.map((r) => r.budget?.calls).filter((n): n is number => n !== undefined);
  if (budgets.length > 0) metrics.addMetric(MetricName.LookupBudgetCalls, MetricUnit.Count, Math.min(...budgets));
  if (summary.callsPer1000Events !== undefined) metrics.addMetric(MetricName.LookupCallsPer1000Events, MetricUnit.Count, summary.callsPer1000Events);
}
