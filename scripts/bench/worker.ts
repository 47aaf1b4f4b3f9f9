/**
 * The benchmark's "Lambda": a child process that holds the real forwarder handler and invokes
 * it like Lambda does (scheduled event + a context whose remaining time runs down). The bench
 * bundles this file with the stack's esbuild options and forks it, so the CPU time and the
 * peak RSS it reports are the function's own, not the stand-ins'.
 *
 * Messages (process IPC):
 *   parent → { type: 'invoke', timeoutMs, removeApiWait? }
 *   child  → { type: 'result', summary?, error?, wallMs, cpuUserMs, cpuSystemMs, maxRssMB, rssMB, heapUsedMB }
 *
 * `removeApiWait` turns the LookupEvents limiter's waits into no-ops for the rest of this
 * process (the stand-in is told to allow any rate too): what remains is the pipeline's own cost.
 *
 * `mode` splits that cost (the default, `handler`, is the real thing):
 *   memory-read       forward() as the handler calls it, but LookupEvents pages come from memory
 *                     (a stub CloudTrail client under the real CloudTrailSource): no SDK, no HTTP
 *   memory-read-ddb   the same, and DynamoDB answers from a stub: records, batches, gzip and the
 *                     POSTs to DNIF are all that is left
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CloudTrailClient, Event as LookupEvent } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { forward } from '../../functions/forwarder/forward';
import { handler } from '../../functions/forwarder/handler';
import { loadForwarderConfig } from '../../functions/core/config';
import { logger } from '../../functions/core/logger';
import { loadConnector } from '../../functions/core/secret';
import { createSink } from '../../functions/core/sink/create-sink';
import { CloudTrailSource } from '../../functions/core/source/cloudtrail-source';
import { limiterKeyOf } from '../../functions/core/source/credentials';
import { limiterFor, RateLimiter } from '../../functions/core/source/rate-limiter';
import { Deadline } from '../../functions/core/deadline';
import { lambdaContext, scheduledEvent } from '../../standins/lambda';

export type InvokeMode = 'handler' | 'memory-read' | 'memory-read-ddb';

export interface InvokeRequest {
  type: 'invoke';
  timeoutMs: number;
  removeApiWait?: boolean;
  mode?: InvokeMode;
  /** memory-* modes: NDJSON of LookupEvents wire events (EventTime in epoch seconds) per region. */
  eventFiles?: Record<string, string>;
}

export interface InvokeResult {
  type: 'result';
  summary?: unknown;
  error?: { name: string; message: string; summary?: unknown };
  wallMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Peak resident set of this process since it started (getrusage ru_maxrss). */
  maxRssMB: number;
  rssMB: number;
  heapUsedMB: number;
  /** How late the event loop ran timers during the invocation (ms): long synchronous stretches. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** Largest values of process.memoryUsage() sampled every 250 ms during the invocation. */
  sampledPeakMB: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
}

const MB = 1024 * 1024;

function removeApiWait(): void {
  // Only the wait goes: every LookupEvents request is still made, signed, parsed and counted.
  RateLimiter.prototype.acquire = async function acquire(): Promise<void> {};
  RateLimiter.prototype.waitMs = function waitMs(): number {
    return 0;
  };
}

/** LookupEvents over stored events: inclusive times, newest first, 50 a page, like the service. */
function memoryCloudTrail(file: string): CloudTrailClient {
  const events: LookupEvent[] = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const wire = JSON.parse(line) as LookupEvent & { EventTime: number };
      return { ...wire, EventTime: new Date(wire.EventTime * 1000) };
    })
    .sort((a, b) => (b.EventTime as Date).getTime() - (a.EventTime as Date).getTime());
  const times = events.map((e) => (e.EventTime as Date).getTime());
  /** First index whose time is below `ms` (times descend). */
  const firstBelow = (ms: number): number => {
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid] < ms) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const send = async (command: { input: { StartTime: Date; EndTime: Date; NextToken?: string } }) => {
    const { StartTime, EndTime, NextToken } = command.input;
    const first = firstBelow(EndTime.getTime() + 1); // newest event at or before EndTime
    const end = firstBelow(StartTime.getTime()); // past the oldest at or after StartTime
    const at = first + Number(NextToken ?? 0);
    const next = Math.min(end, at + 50);
    return { Events: events.slice(at, next), NextToken: next < end ? String(next - first) : undefined };
  };
  return { send } as unknown as CloudTrailClient;
}

const stubDynamoDb = { send: async () => ({}) } as unknown as DynamoDBDocumentClient;
let realDoc: DynamoDBDocumentClient | undefined;

/** What the handler does, with the source (and maybe DynamoDB) from memory. */
async function runInMemory(req: InvokeRequest): Promise<unknown> {
  const config = loadForwarderConfig();
  const connector = await loadConnector(config.secretId, { maxAgeSeconds: 0 });
  const clients = Object.fromEntries(Object.entries(req.eventFiles ?? {}).map(([region, file]) => [region, memoryCloudTrail(file)]));
  realDoc ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  const sink = createSink(connector);
  const endsAtMs = Date.now() + req.timeoutMs;
  try {
    return await forward({
      config,
      connector,
      doc: req.mode === 'memory-read-ddb' ? stubDynamoDb : realDoc,
      sink,
      deadline: new Deadline(endsAtMs, config.deadlineReserveMs),
      leaseUntilMs: endsAtMs,
      owner: `bench-${Date.now()}`,
      logger,
      sourceFor: (region) =>
        new CloudTrailSource({ region, client: clients[region], limiter: limiterFor(limiterKeyOf(connector.aws), region, config.lookupRatePerSecond) }),
    });
  } finally {
    await sink.close?.();
  }
}

async function invoke(req: InvokeRequest): Promise<InvokeResult> {
  if (req.removeApiWait) removeApiWait();
  const peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    for (const k of Object.keys(peak) as Array<keyof typeof peak>) peak[k] = Math.max(peak[k], m[k] / MB);
  };
  const sampler = setInterval(sample, 250);
  const loop = monitorEventLoopDelay({ resolution: 50 }); // 20 wakeups a second: ~1 ms CPU a second
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let summary: unknown;
  let error: InvokeResult['error'];
  try {
    summary = !req.mode || req.mode === 'handler' ? await handler(scheduledEvent(), lambdaContext(req.timeoutMs)) : await runInMemory(req);
  } catch (err) {
    const e = err as { name?: string; message?: string; summary?: unknown };
    error = { name: e.name ?? 'Error', message: e.message ?? String(err), summary: e.summary };
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  sample();
  loop.disable();
  const mem = process.memoryUsage();
  return {
    type: 'result',
    summary,
    error,
    wallMs,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    maxRssMB: (process.resourceUsage().maxRSS * 1024) / MB,
    rssMB: mem.rss / MB,
    heapUsedMB: mem.heapUsed / MB,
    sampledPeakMB: peak,
    eventLoopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
  };
}

process.on('message', (msg: InvokeRequest) => {
  if (msg?.type !== 'invoke') return;
  invoke(msg).then(
    (result) => process.send?.(result),
    (err: unknown) => {
      process.stderr.write(`worker failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
});
// The parent disconnects when done with this "execution environment".
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
