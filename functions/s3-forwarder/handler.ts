/**
 * S3 trail-file forwarder, run by an SQS event source mapping with ReportBatchItemFailures
 * (SPEC.md, "Second source"). Thin: config, connector, clients; processMessages decides what
 * becomes of each message; returns `{ batchItemFailures }`. A direct invoke with
 * `{"replay":{...}}` replays a time range through the same ledger (replay.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadS3ForwarderConfig, type S3ForwarderConfig } from '../core/config';
import { logger } from '../core/logger';
import { CONNECTOR_DIMENSION } from '../core/contract';
import { metrics } from '../core/metrics';
import { loadConnector } from '../core/secret';
import { closeSink } from '../core/sink/close-sink';
import type { Sink } from '../core/sink/sink';
import { forwardObjectDeps, invocationDeadline } from '../core/delivery/trail-files/forward-deps';
import { forwardObject, type ForwardObjectDeps } from '../core/delivery/trail-files/forward-object';
import { resetS3Clients } from '../core/source/trail-files/s3-client';
import { processMessages, emptyS3Summary } from './process-messages';
import { QueueSender } from './queue';
import { parseReplayRequest, replay, type ReplaySummary } from './replay';
import { recordS3Metrics } from './s3-metrics';

let cachedConfig: S3ForwarderConfig | undefined;
let doc: DynamoDBDocumentClient | undefined;
let queue: QueueSender | undefined;
/** Set after DNIF refused our credentials: the next invocation reads the secret afresh (rotation). */
let refetchSecret = false;

/** For tests that change the environment between cases. */
export function resetS3ForwarderState(): void {
  cachedConfig = undefined;
  doc = undefined;
  queue = undefined;
  resetS3Clients();
  refetchSecret = false;
}

/** What a direct invoke for replay sends. */
export interface ReplayEvent {
  replay: unknown;
}

/** Everything forwardObject needs for this invocation, and the sink to close after. */
export async function invocationDeps(config: S3ForwarderConfig, context: Context): Promise<{ deps: ForwardObjectDeps; sink: Sink }> {
  doc ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  const connector = await loadConnector(config.secretId, { maxAgeSeconds: refetchSecret ? 0 : config.secretMaxAgeSeconds, forceFetch: refetchSecret });
  refetchSecret = false;
  return forwardObjectDeps(doc, config, connector, { owner: context.awsRequestId, ...invocationDeadline(context, config.deadlineReserveMs) }, logger);
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
export async function handler(event: ReplayEvent, context: Context): Promise<ReplaySummary>;
export async function handler(event: SQSEvent | ReplayEvent, context: Context): Promise<SQSBatchResponse | ReplaySummary> {
  const config = (cachedConfig ??= loadS3ForwarderConfig());
  queue ??= new QueueSender();
  const sender = queue;
  logger.addContext(context);
  // A connector of many in one stack: its alarms watch its own figures.
  if (config.metricsConnector) metrics.addDimensions({ [CONNECTOR_DIMENSION]: config.metricsConnector });
  const summary = emptyS3Summary();
  const startedAt = Date.now();
  try {
    const request = 'replay' in event ? parseReplayRequest(event.replay) : undefined;
    const { deps, sink } = await invocationDeps(config, context);
    try {
      if (request) {
        const result = await replay(request, { s3: deps.s3, forward: (o) => forwardObject(o, deps), deadline: deps.deadline });
        logger.info('Replay finished', { replay: result });
        return result;
      }
      const response = await processMessages(
        (event as SQSEvent).Records ?? [],
        {
          forward: (object) => forwardObject(object, deps),
          handOn: (arn, body, delay) => sender.send(arn, body, delay),
          deadline: deps.deadline,
          outageToleranceMs: config.outageToleranceHours * 3600_000,
          outageBackoffSeconds: config.outageBackoffSeconds,
          logger,
        },
        summary,
      );
      if (summary.dnifErrors.DnifAuthRejected) refetchSecret = true;
      return response;
    } finally {
      await closeSink(sink, logger);
    }
  } catch (err) {
    // Nothing was decided per message (no secret, no config): SQS delivers the whole batch again.
    logger.error('S3 forwarder run failed', { error: (err as Error).message, code: (err as Error).name });
    throw err;
  } finally {
    recordS3Metrics(summary, Date.now() - startedAt);
    logger.info('S3 forwarder run finished', { summary });
    metrics.publishStoredMetrics();
  }
}
