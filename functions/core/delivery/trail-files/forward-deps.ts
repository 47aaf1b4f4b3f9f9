/**
 * What forwardObject needs for one invocation, built the same way by every caller of the normal
 * path: the S3 forwarder and the trail audit's repairs.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { ObjectLedger } from '../../checkpoint/object-ledger';
import type { S3ForwarderConfig } from '../../config';
import type { Connector } from '../../connector';
import { compileFilters } from '../../filters';
import { createSink } from '../../sink/create-sink';
import type { Sink } from '../../sink/sink';
import { Deadline } from '../../deadline';
import type { ForwardObjectDeps } from './forward-object';
import { s3ClientFor } from '../../source/trail-files/s3-client';

export interface InvocationInfo {
  /** Holds the objects' leases: the invocation's request id. */
  owner: string;
  deadline: Deadline;
  /** Until when (epoch ms) the leases are held: the end of the invocation. */
  leaseUntilMs: number;
}

/**
 * The invocation's deadline, on the context's own clock (what Lambda will enforce), not a copy of
 * it; a short function timeout keeps three quarters of it for work, whatever the reserve says.
 */
export function invocationDeadline(context: Pick<Context, 'getRemainingTimeInMillis'>, deadlineReserveMs: number): { deadline: Deadline; leaseUntilMs: number } {
  const atStart = context.getRemainingTimeInMillis();
  const reserveMs = Math.min(deadlineReserveMs, Math.floor(atStart / 4));
  return { deadline: new Deadline(atStart, reserveMs, () => atStart - context.getRemainingTimeInMillis()), leaseUntilMs: Date.now() + atStart };
}

/** forwardObject's dependencies and the sink to close after the invocation. */
export function forwardObjectDeps(doc: DynamoDBDocumentClient, config: S3ForwarderConfig, connector: Connector, invocation: InvocationInfo, logger: Logger): { deps: ForwardObjectDeps; sink: Sink } {
  const sink = createSink(connector);
  return {
    sink,
    deps: {
      s3: s3ClientFor(connector),
      ledger: new ObjectLedger(doc, config.checkpointTable, connector.name),
      sink,
      deadline: invocation.deadline,
      limits: { maxEvents: config.batchMaxEvents, maxBytes: config.batchMaxBytes },
      passesFilters: compileFilters(connector.filters),
      connectorName: connector.name,
      flatten: connector.flatten,
      owner: invocation.owner,
      leaseUntilMs: invocation.leaseUntilMs,
      logger,
    },
  };
}
