/**
 * Forwarder Lambda, run by the EventBridge schedule. Thin: read the config and the connector,
 * run `forward`, publish metrics, return the summary (docs/contract.md, "Handlers"). A schedule
 * of a named connector adds `detail: { connector, secretId }` to the scheduled event; without
 * it the function runs the connector in SECRET_ID.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { loadForwarderConfig, type ForwarderConfig } from '../core/config';
import type { Connector } from '../core/connector';
import { logger } from '../core/logger';
import { CONNECTOR_DIMENSION, type ScheduledConnectorDetail } from '../core/contract';
import { MetricName, metrics, MetricUnit } from '../core/metrics';
import { secretScrubber } from '../core/scrub';
import { loadConnector, SecretReadError } from '../core/secret';
import { closeSink } from '../core/sink/close-sink';
import { createSink } from '../core/sink/create-sink';
import { Deadline } from '../core/deadline';
import { forward, ForwarderRunError, type ForwarderSummary } from './forward';
import { recordRunMetrics } from './run-metrics';

let cachedConfig: ForwarderConfig | undefined;
let doc: DynamoDBDocumentClient | undefined;

/** For tests that change the environment between cases. */
export function resetForwarderState(): void {
  cachedConfig = undefined;
  doc = undefined;
}

/** The connector fields a named connector's schedule adds; anything else is ignored. */
function connectorOf(event: unknown): ScheduledConnectorDetail {
  const detail = (event as { detail?: Record<string, unknown> } | null)?.detail;
  const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  return { connector: text(detail?.connector), secretId: text(detail?.secretId) };
}

export const handler = async (event: unknown, context: Context): Promise<ForwarderSummary> => {
  const config = (cachedConfig ??= loadForwarderConfig());
  doc ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  const named = connectorOf(event);
  const secretId = named.secretId ?? config.secretId;
  logger.addContext(context);
  // Every metric also goes out per connector: the alarms of one connector watch that set.
  if (named.connector) metrics.addDimensions({ [CONNECTOR_DIMENSION]: named.connector });
  const endsAtMs = Date.now() + context.getRemainingTimeInMillis();
  const run = async (connector: Connector) => {
    if (named.connector && connector.name !== named.connector) {
      // Checkpoints and the lease are kept per connectorName: two connectors of one stack must never share them.
      throw new ConnectorNameMismatchError(named.connector, connector.name, secretId);
    }
    const sink = createSink(connector);
    try {
      return await forward({
        config,
        connector,
        doc: doc as DynamoDBDocumentClient,
        sink,
        deadline: new Deadline(endsAtMs, config.deadlineReserveMs),
        leaseUntilMs: endsAtMs,
        owner: context.awsRequestId,
        logger,
      });
    } finally {
      await closeSink(sink, logger);
    }
  };

  try {
    let connector: Connector;
    try {
      connector = await loadConnector(secretId, { maxAgeSeconds: config.secretMaxAgeSeconds });
    } catch (err) {
      if (!(err instanceof SecretReadError && err.code === 'SecretPlaceholder')) throw err;
      // Right after deploy: not a failure (no error, no dead letter), one warning until it is filled in.
      logger.warn(err.message, { code: err.code });
      metrics.addMetric(MetricName.ConnectorNotConfigured, MetricUnit.Count, 1);
      return notConfigured(named.connector);
    }
    let summary: ForwarderSummary;
    try {
      summary = await run(connector);
    } catch (err) {
      if (!(err instanceof ForwarderRunError && err.isCredentialError)) throw err;
      // Credentials may have been rotated since the secret was cached: read it again, once.
      logger.warn('Credentials rejected; reading the secret again in case it was rotated');
      recordRunMetrics(err.summary);
      summary = await run(await loadConnector(secretId, { maxAgeSeconds: 0, forceFetch: true }));
    }
    recordRunMetrics(summary);
    logger.info('Run finished', { summary });
    return secretScrubber.deep(summary);
  } catch (err) {
    metrics.addMetric(MetricName.RunsFailed, MetricUnit.Count, 1);
    if (err instanceof ForwarderRunError) {
      recordRunMetrics(err.summary);
      logger.error('Run failed', { summary: err.summary });
    } else {
      logger.error('Run failed', { error: (err as Error).message, code: (err as Error).name });
    }
    // What Lambda records (and the dead-letter queue keeps): no secret in its message or stack.
    throw secretScrubber.error(err as Error);
  } finally {
    metrics.publishStoredMetrics();
  }
};

/** The summary of a run that found the placeholder secret and did nothing. */
function notConfigured(connectorName = ''): ForwarderSummary {
  return { connectorName, forwarded: 0, duplicatesSkipped: 0, filtered: 0, pages: 0, checkpoint: null, lagSeconds: 0, durationMs: 0, skipped: 'the connector secret still holds the placeholder', regions: {} };
}

export class ConnectorNameMismatchError extends Error {
  constructor(expected: string, found: string, secretId: string) {
    super(`Connector "${expected}" reads secret ${secretId}, whose connectorName is "${found}": they must be equal (checkpoints and the lease are kept per connectorName)`);
    this.name = 'ConnectorNameMismatch';
  }
}
