/**
 * What forwardObject needs for one invocation, built the same way by every caller of the normal
 * path: the S3 forwarder and the trail audit's repairs.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ObjectLedger } from '../../checkpoint/object-ledger';
import type { S3ForwarderConfig } from '../../config';
import type { Connector } from '../../connector';
import { compileFilters } from '../../filters';
import { createSink } from '../../sink/create-sink';
import type { Sink } from '../../sink/sink';
import { Deadline } from '../../time';
import type { ForwardObjectDeps } from './forward-object';
import { s3ClientFor } from './s3-client';

export interface InvocationInfo {
  /** Holds the objects' leases: the invocation's request id. */
  owner: string;
  /** The Lambda deadline (epoch ms). */
  endsAtMs: number;
}

/** forwardObject's dependencies and the sink to close after the invocation. */
export function forwardObjectDeps(doc: DynamoDBDocumentClient, settings: S3ForwarderConfig, connector: Connector, invocation: InvocationInfo, logger: Logger): { deps: ForwardObjectDeps; sink: Sink } {
  const sink = createSink(connector);
  return {
    sink,
    deps: {
      s3: s3ClientFor(connector),
      ledger: new ObjectLedger(doc, settings.checkpointTable, connector.name),
      sink,
      deadline: new Deadline(invocation.endsAtMs, settings.deadlineReserveMs),
      limits: { maxEvents: settings.batchMaxEvents, maxBytes: settings.batchMaxBytes },
      keep: compileFilters(connector.filters),
      connectorName: connector.name,
      flatten: connector.flatten,
      owner: invocation.owner,
      leaseUntilMs: invocation.endsAtMs,
      logger,
    },
  };
}
