/**
 * Trail audit Lambda, run hourly by an EventBridge schedule (contract, "Second source"). Thin:
 * config, connector, clients; runAudit does the work; repairs go through the S3 source's
 * forwardObject; returns `{ digests, logFiles, delivered, missing, repaired, invalid }`.
 */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { Connector } from '../core/connector';
import { PublicKeyDirectory } from '../core/digest/public-keys';
import { CONNECTOR_DIMENSION } from '../core/contract';
import { logger } from '../core/logger';
import { metrics } from '../core/metrics';
import { loadConnector } from '../core/secret';
import { credentialsFor } from '../core/source/credentials';
import { closeSink } from '../core/sink/close-sink';
import { forwardObjectDeps, invocationDeadline } from '../core/delivery/trail-files/forward-deps';
import { forwardObject } from '../core/delivery/trail-files/forward-object';
import { resetS3Clients } from '../core/source/trail-files/s3-client';
import { loadAuditConfig, type AuditConfig } from './audit-config';
import { recordAuditMetrics } from './audit-metrics';
import { runAudit, type AuditCounts } from './audit-run';
import type { LedgerState, ObjectRef } from './log-file-check';
import { readTrailHealth } from './trail-health';

export interface AuditSummary extends AuditCounts {
  errors: number;
  /** Trails whose GetTrailStatus says logging is off. */
  trailsNotLogging: number;
}

let cachedConfig: AuditConfig | undefined;
let doc: DynamoDBDocumentClient | undefined;

/** For tests that change the environment between cases. */
export function resetTrailAuditState(): void {
  cachedConfig = undefined;
  doc = undefined;
  resetS3Clients();
}

/** CloudTrail clients with the connector's access (the credentials that read the bucket), one per region. */
function cloudTrailClients(connector: Connector): (region: string) => CloudTrailClient {
  const clients = new Map<string, CloudTrailClient>();
  return (region) => {
    let c = clients.get(region);
    if (!c) clients.set(region, (c = new CloudTrailClient({ region, credentials: credentialsFor(connector.aws, region) })));
    return c;
  };
}

export const handler = async (_event: unknown, context: Context): Promise<AuditSummary> => {
  const config = (cachedConfig ??= loadAuditConfig());
  doc ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  logger.addContext(context);
  // A connector of many in one stack: its alarms watch its own totals.
  if (config.metricsConnector) metrics.addDimensions({ [CONNECTOR_DIMENSION]: config.metricsConnector });
  const nowMs = Date.now();
  const windowStartMs = nowMs - config.lookbackHours * 3_600_000;
  try {
    const connector = await loadConnector(config.secretId, { maxAgeSeconds: config.secretMaxAgeSeconds });
    const cloudtrail = cloudTrailClients(connector);
    const { deps: forwardDeps, sink } = forwardObjectDeps(doc, config, connector, { owner: context.awsRequestId, ...invocationDeadline(context, config.deadlineReserveMs) }, logger);
    const { s3, ledger, deadline } = forwardDeps;
    try {
      const report = await runAudit({
        s3,
        bucket: config.bucket,
        prefix: config.prefix,
        windowStartMs,
        nowMs,
        // Keys valid at any time since the predecessors of the window's oldest digests.
        keys: new PublicKeyDirectory(cloudtrail, { start: new Date(windowStartMs - 2 * 3_600_000), end: new Date(nowMs) }),
        trailHealth: (name, homeRegion) => readTrailHealth(cloudtrail(homeRegion), name, homeRegion),
        concurrency: config.concurrency,
        deadline,
        logger,
        ledgerState: async (ref: ObjectRef): Promise<LedgerState> => {
          const entry = await ledger.get(ref);
          if (entry?.status === 'done') return 'done';
          if (entry?.status === 'in-progress' && (entry.leaseUntil ?? 0) > Date.now()) return 'busy';
          return 'not-delivered';
        },
        repair: async (ref) => {
          const outcome = await forwardObject(ref, forwardDeps);
          return { status: outcome.status, code: outcome.code };
        },
      });
      recordAuditMetrics(report, nowMs);
      for (const t of report.trails) {
        if (t.isLogging === false) logger.error('Trail is not logging: CloudTrail writes no files for it', { trail: t.name, homeRegion: t.homeRegion });
        if (t.latestDeliveryError || t.latestDigestDeliveryError) {
          logger.error('Trail reports a delivery error', { trail: t.name, homeRegion: t.homeRegion, latestDeliveryError: t.latestDeliveryError, latestDigestDeliveryError: t.latestDigestDeliveryError });
        }
        if (t.error) logger.warn('Trail status could not be read', { trail: t.name, homeRegion: t.homeRegion, code: t.error });
      }
      const summary: AuditSummary = { ...report.summary, trailsNotLogging: report.trails.filter((t) => t.isLogging === false).length };
      logger.info('Audit finished', { summary, window: { from: new Date(windowStartMs).toISOString(), to: new Date(nowMs).toISOString() } });
      return summary;
    } finally {
      await closeSink(sink, logger);
    }
  } catch (err) {
    logger.error('Audit run failed', { error: (err as Error).message, code: (err as Error).name });
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
};
