/**
 * The audit's metrics (EMF through Powertools): totals with the `service` dimension only, which the
 * alarms read, and one set per account and region (dimensions `accountId`, `region`) for the
 * dashboard. The names are the contract's (contract.ts), which infra/trail-audit.ts reads too.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AuditMetric, FORWARDER_SERVICE, METRICS_NAMESPACE } from '../core/contract';
import { MetricUnit, metrics } from '../core/metrics';
import type { AccountRegionReport, AuditReport } from './audit-run';

export { AuditMetric };


const COUNTS: Array<[keyof AccountRegionReport & string, string]> = [
  ['digests', AuditMetric.DigestsChecked],
  ['logFiles', AuditMetric.LogFilesListed],
  ['delivered', AuditMetric.LogFilesDelivered],
  ['repaired', AuditMetric.LogFilesRepaired],
  ['missing', AuditMetric.LogFilesMissing],
  ['invalid', AuditMetric.Invalid],
  ['inProgress', AuditMetric.InProgress],
  ['unchecked', AuditMetric.Unchecked],
];

const ageSeconds = (r: AccountRegionReport, nowMs: number) =>
  r.newestValidDigestMs === undefined ? undefined : Math.max(0, Math.round((nowMs - r.newestValidDigestMs) / 1000));

/** Adds the totals to the shared `metrics` (the handler publishes them) and flushes one EMF line per account-region. */
export function recordAuditMetrics(report: AuditReport, nowMs: number): void {
  for (const [field, name] of COUNTS) metrics.addMetric(name, MetricUnit.Count, report.summary[field as keyof AuditReport['summary']]);
  metrics.addMetric(AuditMetric.Errors, MetricUnit.Count, report.summary.errors);
  metrics.addMetric(AuditMetric.NoRecentDigest, MetricUnit.Count, report.accountRegions.filter((r) => r.noRecentDigest).length);
  const ages = report.accountRegions.map((r) => ageSeconds(r, nowMs)).filter((a): a is number => a !== undefined);
  if (ages.length) metrics.addMetric(AuditMetric.NewestDigestAgeSeconds, MetricUnit.Seconds, Math.max(...ages));
  metrics.addMetric(AuditMetric.TrailLoggingStopped, MetricUnit.Count, report.trails.filter((t) => t.isLogging === false).length);
  metrics.addMetric(
    AuditMetric.TrailDeliveryErrors,
    MetricUnit.Count,
    report.trails.filter((t) => t.latestDeliveryError || t.latestDigestDeliveryError).length,
  );
  metrics.addMetric(AuditMetric.TrailStatusUnavailable, MetricUnit.Count, report.trails.filter((t) => t.error).length);

  for (const r of report.accountRegions) {
    const one = new Metrics({
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
      serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? FORWARDER_SERVICE,
      defaultDimensions: { accountId: r.account, region: r.region },
    });
    for (const [field, name] of COUNTS) one.addMetric(name, MetricUnit.Count, r[field] as number);
    one.addMetric(AuditMetric.NoRecentDigest, MetricUnit.Count, r.noRecentDigest ? 1 : 0);
    const age = ageSeconds(r, nowMs);
    if (age !== undefined) one.addMetric(AuditMetric.NewestDigestAgeSeconds, MetricUnit.Seconds, age);
    one.publishStoredMetrics();
  }
}
