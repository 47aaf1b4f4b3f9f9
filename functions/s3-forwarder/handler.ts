/**
 * S3 trail-file forwarder, run by an SQS event source mapping with ReportBatchItemFailures
 * (SPEC.md, "Second source"). Thin: settings, connector, clients; processMessages decides what
 * becomes of each message; returns `{ batchItemFailures }`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ObjectLedger } from '../core/checkpoint/object-ledger';
import { loadS3ForwarderConfig, type S3ForwarderConfig } from '../core/config';
import type { Connector } from '../core/connector';
import { compileFilters } from '../core/filters';
import { logger } from '../core/logger';
import { metrics } from '../core/metrics';
import { loadConnector } from '../core/secret';
import { createSink } from '../core/sink/create-sink';
import { credentialsFor } from '../core/source/credentials';
import { forwardObject } from '../core/source/trail-files/forward-object';
import { Deadline } from '../core/time';
import { processMessages, emptyS3Summary } from './process-messages';
import { QueueSender } from './queue';
import { recordS3Metrics } from './s3-metrics';

let config: S3ForwarderConfig | undefined;
let doc: DynamoDBDocumentClient | undefined;
let queue: QueueSender | undefined;
const s3Clients = new Map<string, S3Client>();
/** Set after DNIF refused our credentials: the next invocation reads the secret afresh (rotation). */
let refetchSecret = false;

/** For tests that change the environment between cases. */
export function resetS3ForwarderState(): void {
  config = undefined;
  doc = undefined;
  queue = undefined;
  s3Clients.clear();
  refetchSecret = false;
}

/** One S3 client per connector identity: the connector's keys or role read the bucket. */
export function s3ClientFor(connector: Connector): S3Client {
  const id = `${connector.name}|${connector.aws.accessKeyId ?? ''}|${connector.aws.roleArn ?? ''}`;
  let client = s3Clients.get(id);
  if (!client) {
    const region = connector.regions[0];
    client = new S3Client({ region, credentials: credentialsFor(connector.aws, region), followRegionRedirects: true });
    s3Clients.set(id, client);
  }
  return client;
}

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  config ??= loadS3ForwarderConfig();
  doc ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  queue ??= new QueueSender();
  const settings = config;
  logger.addContext(context);
  const endsAtMs = Date.now() + context.getRemainingTimeInMillis();
  const summary = emptyS3Summary();
  const startedAt = Date.now();
  try {
    const connector = await loadConnector(settings.secretId, { maxAgeSeconds: refetchSecret ? 0 : settings.secretMaxAgeSeconds, forceFetch: refetchSecret });
    refetchSecret = false;
    const sink = createSink(connector);
    const deadline = new Deadline(endsAtMs, settings.deadlineReserveMs);
    const sender = queue;
    const forwardDeps = {
      s3: s3ClientFor(connector),
      ledger: new ObjectLedger(doc, settings.checkpointTable, connector.name),
      sink,
      deadline,
      limits: { maxEvents: settings.batchMaxEvents, maxBytes: settings.batchMaxBytes },
      keep: compileFilters(connector.filters),
      connectorName: connector.name,
      flatten: connector.flatten,
      owner: context.awsRequestId,
      leaseUntilMs: endsAtMs,
      logger,
    };
    try {
      const response = await processMessages(
        event.Records ?? [],
        {
          forward: (object) => forwardObject(object, forwardDeps),
          handOn: (arn, body, delay) => sender.send(arn, body, delay),
          deadline,
          outageToleranceMs: settings.outageToleranceHours * 3600_000,
          outageBackoffSeconds: settings.outageBackoffSeconds,
          logger,
        },
        summary,
      );
      if (summary.dnifErrors.DnifAuthRejected) refetchSecret = true;
      return response;
    } finally {
      await sink.close?.().catch((err: unknown) => logger.error('Closing the DNIF sink failed', { error: (err as Error).message, code: (err as Error).name }));
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
};
