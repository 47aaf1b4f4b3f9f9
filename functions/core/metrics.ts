import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { FORWARDER_SERVICE, METRICS_NAMESPACE } from './contract';

/** Metric names the CDK alarms and dashboard read live in the contract (contract.ts). */
export { MetricName, METRICS_NAMESPACE, TrailFileMetricName } from './contract';

/** EMF metrics (Powertools): one flush per invocation, dimension `service` (and `connector` for a named one). */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? FORWARDER_SERVICE,
});

export { MetricUnit };
