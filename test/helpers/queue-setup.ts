/**
 * One trail bucket, queue and dead-letter queue (visibility 6x the function timeout,
 * maxReceiveCount 5, as the stack sets them), S3 notifications routed to the queue and the event
 * source mapping stand-in running the real S3 forwarder, for the queue-driven suites.
 */
import type { SQSEvent, Context } from 'aws-lambda';
import { handler, resetS3ForwarderState } from '../../functions/s3-forwarder/handler';
import { resetSecretCache } from '../../functions/core/secret';
import { routeNotifications, startEventSourceMapping, type EventSourceMapping, type StandIns } from '../../standins';

export const TIMEOUT_S = 30;
let seq = 0;

export function queueSetUp(s: StandIns, opts: { beforeStart?: (bucket: string) => void; handler?: (e: SQSEvent, c: Context) => Promise<unknown> } = {}) {
  const n = ++seq;
  const bucket = `org-trail-${n}`;
  s.s3.createBucket(bucket);
  s.sqs.createQueue(`dlq-${n}`);
  const queue = s.sqs.createQueue(`trail-files-${n}`, { visibilityTimeoutSeconds: 6 * TIMEOUT_S, deadLetter: { queue: `dlq-${n}`, maxReceiveCount: 5 } });
  s.dnif.normal();
  s.dnif.clear();
  s.putConnectorSecret(s.connector({ connectorName: `queue-${n}-${Date.now()}` }));
  // Clock seconds: 6 s of the 30 s are kept for handing work on.
  Object.assign(process.env, { DEADLINE_RESERVE_MS: '6000', DNIF_OUTAGE_BACKOFF_SECONDS: '5' });
  resetS3ForwarderState();
  resetSecretCache();
  const unroute = routeNotifications(s.s3, s.sqs, { bucket, queue: queue.name });
  opts.beforeStart?.(bucket);
  const esm = startEventSourceMapping({ sqs: s.sqs, registry: s.registry, queue: queue.name, handler: opts.handler ?? handler, functionTimeoutSeconds: TIMEOUT_S, maximumConcurrency: 2 });
  return { s, bucket, queue, dlq: `dlq-${n}`, esm, stop: async () => { unroute(); await esm.stop(); } };
}

export const settle = (esm: EventSourceMapping, timeoutMs = 45_000): Promise<void> => esm.drain({ timeoutMs });

export function clearQueueEnv(): void {
  delete process.env.DEADLINE_RESERVE_MS;
  delete process.env.DNIF_OUTAGE_BACKOFF_SECONDS;
}
