/**
 * npm run replay -- --bucket B [--prefix P] --from T --to T
 *
 * Forwards every trail file delivered between T and T (ISO-8601) through the S3 forwarder's own
 * replay path and object ledger: what was delivered before is not sent again. Runs the handler
 * in this process with the environment the function has (SECRET_ID, CHECKPOINT_TABLE, AWS
 * credentials, optional AWS_ENDPOINT_URL_*), one 15-minute "invocation" after another until done.
 */
import './quiet-env';
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { handler } from '../functions/s3-forwarder/handler';
import type { ReplayRequest, ReplaySummary } from '../functions/s3-forwarder/replay';

const USAGE = 'usage: npm run replay -- --bucket B [--prefix P] --from 2026-12-01T00:00:00Z --to 2026-12-02T00:00:00Z';

export function parseArgs(argv: string[]): ReplayRequest {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(bucket|prefix|from|to)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unknown argument "${argv[i]}"\n${USAGE}`);
    args[m[1]] = m[2] ?? argv[++i] ?? '';
  }
  for (const required of ['bucket', 'from', 'to']) if (!args[required]) throw new Error(`--${required} is required\n${USAGE}`);
  return { bucket: args.bucket, prefix: args.prefix, from: args.from, to: args.to };
}

const context = (ms: number): Context =>
  ({
    awsRequestId: randomUUID(),
    functionName: 'replay',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:replay',
    memoryLimitInMB: '1024',
    logGroupName: 'replay',
    logStreamName: 'replay',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: ((end) => () => end - Date.now())(Date.now() + ms),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as Context;

export async function runReplay(request: ReplayRequest, invocationMs = 15 * 60_000): Promise<ReplaySummary[]> {
  const runs: ReplaySummary[] = [];
  let startAfter: string | undefined;
  do {
    const summary = await handler({ replay: { ...request, startAfter } }, context(invocationMs));
    runs.push(summary);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    if (summary.nextStartAfter !== undefined && summary.nextStartAfter === startAfter && summary.delivered === 0) break; // no progress
    startAfter = summary.nextStartAfter;
  } while (startAfter !== undefined);
  return runs;
}

if (require.main === module) {
  runReplay(parseArgs(process.argv.slice(2)))
    .then((runs) => process.exit(runs.some((r) => r.failed.length > 0) ? 1 : 0))
    .catch((err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(2);
    });
}
