/**
 * A whole run for one connector: take the lease, run every region in parallel (each with its
 * own checkpoint and its own LookupEvents limiter, so a busy region cannot starve the others),
 * release the lease, and sum up.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LeaseHeldError, RegionLedger, type LedgerUsage } from '../core/checkpoint/region-ledger';
import type { ForwarderConfig } from '../core/config';
import type { Connector } from '../core/connector';
import { compileFilters } from '../core/filters';
import { classify, type Classification } from '../core/errors/classify';
import { CloudTrailSource, createCloudTrailClient } from '../core/source/cloudtrail-source';
import { limiterKeyOf, credentialsFor } from '../core/source/credentials';
import { limiterFor } from '../core/source/rate-limiter';
import { secretScrubber } from '../core/scrub';
import type { Sink } from '../core/sink/sink';
import type { Deadline } from '../core/deadline';
import { emptySummary, RegionSummary, runRegion } from './region-run';

export interface ForwarderSummary {
  connectorName: string;
  forwarded: number;
  duplicatesSkipped: number;
  filtered: number;
  pages: number;
  /** The contract's name for the oldest region cursor `head` (ISO-8601): everything before it has been read. */
  checkpoint: string | null;
  lagSeconds: number;
  durationMs: number;
  /** Set when this run did nothing because another run of the connector holds the lease. */
  skipped?: string;
  regions: Record<string, RegionSummary>;
  /** What the run asked of the checkpoint table (the region ledger's reads and writes). */
  checkpointUsage?: LedgerUsage;
  /** LookupEvents calls per 1,000 events handled, over all regions. */
  callsPer1000Events?: number;
  /** EventTime → DNIF acknowledgement (s): the largest p95 and max of the regions. */
  deliveryDelaySeconds?: { p95: number; max: number };
  /** The narrowest re-read window any region chose (s); LATENESS_SECONDS when every region re-read all of it. */
  rereadSeconds?: number;
}

export class ForwarderRunError extends Error {
  constructor(
    readonly summary: ForwarderSummary,
    /** What each region's failure means (core/errors/classify.ts); kept off the summary. */
    readonly failures: readonly Classification[] = [],
  ) {
    const failed = Object.entries(summary.regions).filter(([, r]) => r.error);
    super(`Forwarding failed in ${failed.map(([region, r]) => `${region} (${r.error?.code}: ${r.error?.message})`).join('; ')}`);
    this.name = 'ForwarderRunError';
  }

  /** True when a failure looks like rotated credentials: refetching the secret may fix it. */
  get isCredentialError(): boolean {
    return this.failures.some((f) => f.kind === 'credential');
  }
}

/** The inputs of one forward run (not ForwarderOptions, the stack's props). */
export interface ForwardRunInputs {
  config: ForwarderConfig;
  connector: Connector;
  doc: DynamoDBDocumentClient;
  sink: Sink;
  deadline: Deadline;
  /** Absolute time (ms) the lease may be held until: the Lambda's own deadline. */
  leaseUntilMs: number;
  owner: string;
  logger: Logger;
  /** Tests and the benchmark may inject sources; by default one per region from the connector. */
  sourceFor?: (region: string) => CloudTrailSource;
  now?: () => number;
}

export async function forward(options: ForwardRunInputs): Promise<ForwarderSummary> {
  const { connector, config } = options;
  const startedAt = Date.now();
  const ledger = new RegionLedger(options.doc, config.checkpointTable, connector.name);
  const summary: ForwarderSummary = {
    connectorName: connector.name,
    forwarded: 0,
    duplicatesSkipped: 0,
    filtered: 0,
    pages: 0,
    checkpoint: null,
    lagSeconds: 0,
    durationMs: 0,
    regions: {},
  };
  try {
    await ledger.acquireLease(options.owner, options.leaseUntilMs);
  } catch (err) {
    if (!(err instanceof LeaseHeldError)) throw err;
    options.logger.info(err.message);
    return { ...summary, skipped: 'another run of this connector holds the lease', durationMs: Date.now() - startedAt };
  }

  const passesFilters = compileFilters(connector.filters);
  const sourceFor =
    options.sourceFor ??
    ((region: string) =>
      new CloudTrailSource({
        region,
        client: createCloudTrailClient(region, credentialsFor(connector.aws, region)),
        limiter: limiterFor(limiterKeyOf(connector.aws), region, config.lookupRatePerSecond),
      }));

  const failures: Classification[] = [];
  try {
    await Promise.all(
      connector.regions.map(async (region) => {
        const regionSummary = emptySummary();
        summary.regions[region] = regionSummary;
        try {
          await runRegion(
            {
              connectorName: connector.name,
              region,
              source: sourceFor(region),
              ledger,
              sink: options.sink,
              deadline: options.deadline,
              config,
              passesFilters,
              flatten: connector.flatten,
              logger: options.logger,
              now: options.now,
            },
            regionSummary,
          );
        } catch (err) {
          const failure = classify(err);
          failures.push(failure);
          regionSummary.error = describeFailure(err, failure);
          options.logger.error('Region run failed; its checkpoint stays where it was', { region, code: regionSummary.error.code, error: regionSummary.error.message });
        }
      }),
    );
  } finally {
    await ledger.releaseLease(options.owner).catch((err: unknown) => options.logger.warn('Could not release the lease; it expires by itself', { error: String(err) }));
  }

  const regions = Object.values(summary.regions);
  summary.forwarded = sum(regions, (r) => r.forwarded);
  summary.duplicatesSkipped = sum(regions, (r) => r.duplicatesSkipped);
  summary.filtered = sum(regions, (r) => r.filtered);
  summary.pages = sum(regions, (r) => r.pages);
  summary.lagSeconds = Math.max(0, ...regions.map((r) => r.lagSeconds));
  const heads = regions.map((r) => r.checkpoint?.head).filter((h): h is string => !!h).sort();
  summary.checkpoint = heads[0] ?? null;
  summary.durationMs = Date.now() - startedAt;
  summary.checkpointUsage = { ...ledger.usage };
  Object.assign(summary, freshnessFigures(regions));
  if (regions.some((r) => r.error)) throw new ForwarderRunError(summary, failures);
  return summary;
}

/** A region's error for the summary: our own texts (built from codes), scrubbed all the same. */
function describeFailure(err: unknown, failure: Classification): { code: string; message: string } {
  const message = (err as { message?: string } | undefined)?.message ?? String(err);
  return { code: failure.code, message: secretScrubber.text(message) };
}

function freshnessFigures(regions: RegionSummary[]): Pick<ForwarderSummary, 'callsPer1000Events' | 'deliveryDelaySeconds' | 'rereadSeconds'> {
  const out: Pick<ForwarderSummary, 'callsPer1000Events' | 'deliveryDelaySeconds' | 'rereadSeconds'> = {};
  const handled = sum(regions, (r) => r.forwarded + r.filtered);
  if (handled > 0) out.callsPer1000Events = Math.round((sum(regions, (r) => r.pages + r.throttles + r.sourceRetries) / handled) * 100_000) / 100;
  const delays = regions.map((r) => r.deliveryDelaySeconds).filter((d): d is { p95: number; max: number } => !!d);
  if (delays.length > 0) out.deliveryDelaySeconds = { p95: Math.max(...delays.map((d) => d.p95)), max: Math.max(...delays.map((d) => d.max)) };
  const widths = regions.map((r) => r.budget?.rereadSeconds).filter((w): w is number => w !== undefined);
  if (widths.length > 0) out.rereadSeconds = Math.min(...widths);
  return out;
}

const sum = <T>(items: T[], f: (t: T) => number): number => items.reduce((n, t) => n + f(t), 0);

