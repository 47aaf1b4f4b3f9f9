/** The benchmark's command-line options, scale and goals (see scripts/bench.ts). */

export const args = process.argv.slice(2);
export const QUICK = args.includes('--quick');
export const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
export const ONLY = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
export const runs = (section: string): boolean => !ONLY || ONLY.includes(section);
/** --profile: workers unminified and under --cpu-prof (profiles in .bench/profiles), figures then skewed. */
export const PROFILE = args.includes('--profile');
/** --warm-throughput: each run at the API limit is the process's second (after one as long in other regions). */
export const WARM_THROUGHPUT = args.includes('--warm-throughput');
/** --cpu-at-limit: the CPU split (read / checkpoint / deliver) paced at the API limit instead of without waits. */
export const CPU_AT_LIMIT = args.includes('--cpu-at-limit');

/** LookupEvents: 2 requests/s per account and region, at most 50 events a page. */
export const API_EVENTS_PER_SECOND = 2 * 50;
/** Events per region for the runs at the API limit (≥ 20,000: ~200 s each). */
export const PER_REGION = Number(flag('per-region') ?? (QUICK ? 2_000 : 20_000));
export const REGION_COUNTS = (flag('regions') ?? '1,2,4').split(',').map(Number);
export const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2'];
/** Events for the CPU runs (API wait removed), after a warm-up run of WARMUP_EVENTS. */
export const CPU_EVENTS = QUICK ? 10_000 : 30_000;
export const WARMUP_EVENTS = 10_000;
/** Each CPU figure is the fastest of this many runs: on a shared machine interference only adds time. */
export const CPU_REPEATS = QUICK ? 1 : 5;
export const RSS_EVENTS = QUICK ? 20_000 : 90_000;
/** Backlog density: 20,000 events an hour (~5.6/s), a busy account's management events. */
export const EVENTS_PER_HOUR = Number(flag('events-per-hour') ?? 20_000);
/** The stack's defaults: LATENESS_SECONDS 900; a 5-minute schedule gives a 270 s timeout. */
export const LATENESS_SECONDS = 900;
export const LAMBDA_TIMEOUT_MS = 270_000;
/** Backlog ends this long before now − LATENESS, so it is all read in one pass. */
export const BACKLOG_END_MARGIN_SECONDS = 60;
/** BACKFILL reaches this far before the backlog: covers the time from placing it to the run's start. */
export const BACKFILL_MARGIN_SECONDS = 30;
/** The CPU section runs one worker (one BACKFILL) for minutes: its backlog must stay in reach. */
export const CPU_BACKFILL_MARGIN_SECONDS = 1800;
export const INIT_RUNS = 21;

export const GOALS = {
  throughputRatio: 0.95,
  linearity: 0.95,
  cpuEventsPerSecond: 20_000,
  cpuShareAtLimit: 0.02,
  bundleKiB: 300,
  initMs: 150,
  rssMB: 128,
};
