/**
 * Forwarder Lambda, run by the EventBridge schedule. Thin: read settings and the connector,
 * run `forward`, publish metrics, return the summary (SPEC.md, "Handlers").
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { loadForwarderConfig, type ForwarderConfig } from '../core/config';
import type { Connector } from '../core/connector';
import { logger } from '../core/logger';
import { metrics } from '../core/metrics';
import { secretScrubber } from '../core/scrub';
import { loadConnector } from '../core/secret';
import { createSink } from '../core/sink/create-sink';
import { Deadline } from '../core/time';
import { forward, ForwarderRunError, type ForwarderSummary } from './forward';
import { recordRunMetrics } from './run-metrics';

let config: ForwarderConfig | undefined;
let doc: DynamoDBDocumentClient | undefined;

/** For tests that change the environment between cases. */
export function resetForwarderState(): void {
  config = undefined;
  doc = undefined;
}

export const handler = async (_event: unknown, context: Context): Promise<ForwarderSummary> => {
  config ??= loadForwarderConfig();
  doc ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  const settings = config;
  logger.addContext(context);
  const endsAtMs = Date.now() + context.getRemainingTimeInMillis();
  const run = async (connector: Connector) => {
    const sink = createSink(connector);
    try {
      return await forward({
        config: settings,
        connector,
        doc: doc as DynamoDBDocumentClient,
        sink,
        deadline: new Deadline(endsAtMs, settings.deadlineReserveMs),
        leaseUntilMs: endsAtMs,
        owner: context.awsRequestId,
        logger,
      });
    } finally {
      // Every batch was confirmed (or failed) inside send; close only releases what is open.
      await sink.close?.().catch((err: unknown) => logger.warn('Closing the DNIF sink failed', { code: (err as Error).name }));
    }
  };

  try {
    const connector = await loadConnector(settings.secretId, { maxAgeSeconds: settings.secretMaxAgeSeconds });
    let summary: ForwarderSummary;
    try {
      summary = await run(connector);
    } catch (err) {
      if (!(err instanceof ForwarderRunError && err.isCredentialError)) throw err;
      // Credentials may have been rotated since the secret was cached: read it again, once.
      logger.warn('Credentials rejected; reading the secret again in case it was rotated');
      recordRunMetrics(err.summary);
      summary = await run(await loadConnector(settings.secretId, { maxAgeSeconds: 0, forceFetch: true }));
    }
    recordRunMetrics(summary);
    logger.info('Run finished', { summary });
    return secretScrubber.deep(summary);
  } catch (err) {
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
