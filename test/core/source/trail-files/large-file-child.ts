/**
 * Runs in a child process so its peak RSS is its own: forwards one object with forwardObject
 * (through the real SDK to the parent's stand-ins), stopping after DEADLINE_MS and resuming
 * until done, then prints `{ outcomes, maxRssBytes }` as JSON. With MS_PER_BATCH the invocation's
 * clock is virtual and moves that much per batch DNIF takes: where the deadline falls does not
 * depend on how fast this machine is today.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { ObjectLedger } from '../../../../functions/core/checkpoint/object-ledger';
import { parseConnector } from '../../../../functions/core/connector';
import { createSink } from '../../../../functions/core/sink/create-sink';
import { forwardObject } from '../../../../functions/core/delivery/trail-files/forward-object';
import { credentialsFor } from '../../../../functions/core/source/credentials';
import { Deadline } from '../../../../functions/core/deadline';

async function main(): Promise<void> {
  const connector = parseConnector(process.env.CONNECTOR_JSON ?? '');
  const region = connector.regions[0];
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  const base = {
    s3: new S3Client({ region, credentials: credentialsFor(connector.aws, region) }),
    ledger: new ObjectLedger(doc, process.env.CHECKPOINT_TABLE ?? '', connector.name),
    sink: createSink(connector),
    limits: { maxEvents: 500, maxBytes: 1_000_000 },
    passesFilters: () => true,
    connectorName: connector.name,
    flatten: false,
    logger: new Logger({ serviceName: 'large-file', logLevel: 'WARN' }),
  };
  const deadlineMs = Number(process.env.DEADLINE_MS ?? 600_000);
  const msPerBatch = Number(process.env.MS_PER_BATCH ?? 0);
  let virtualNow = 0;
  const now = msPerBatch > 0 ? () => virtualNow : Date.now;
  if (msPerBatch > 0) {
    const send = base.sink.send.bind(base.sink);
    base.sink.send = async (...args) => {
      const stats = await send(...args);
      virtualNow += msPerBatch;
      return stats;
    };
  }
  const outcomes: { status: string; forwarded: number; duplicatesSkipped: number; code?: string }[] = [];
  for (let run = 1; run <= 20; run++) {
    const endsAt = now() + deadlineMs;
    const o = await forwardObject(
      { bucket: process.env.BUCKET ?? '', key: process.env.KEY ?? '' },
      { ...base, deadline: new Deadline(endsAt, 2000, now), owner: `run-${run}`, leaseUntilMs: Date.now() + 600_000 },
    );
    outcomes.push({ status: o.status, forwarded: o.forwarded, duplicatesSkipped: o.duplicatesSkipped, code: o.code });
    if (o.status !== 'continued') break;
  }
  process.stdout.write(`${JSON.stringify({ outcomes, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
