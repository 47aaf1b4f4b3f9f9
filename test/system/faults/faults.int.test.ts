/**
 * Issue 5: the delivery promise of SPEC.md under seeded random fault schedules, over thousands of
 * events made from the shared real records, against the loopback stand-ins.
 *
 *   npm test              short form (three schedules, about 1.5 min)
 *   npm run test:faults   full form (FAULTS_FULL=1): more, longer and harsher schedules, ≥ 1000 faults
 *   FAULTS_SEED=<n>       replay the event and fault choices of a printed seed
 *
 * After each schedule: every source event delivered (0 lost, by EventId at the receiver); copies
 * beyond the first only from the one batch named by each injected kill (or failed seen# write)
 * right after DNIF's 2xx; every stored cursor checked, as it was written, not to be past an
 * undelivered event; no run past its Lambda deadline; lease spans disjoint; LookupEvents ≤ 2 in
 * any second per region. A figures line per schedule, and a total.
 */
import { emit } from './support/log-scan';
import { runHandlerSchedule, type HandlerScheduleSpec } from './support/handler-schedule';
import { observeSource } from '../../helpers/observe-source';
import { faultTotal, figuresLine, FaultSchedule, type FaultRates, type Figures, type ScheduleSpec } from './support/schedule';
import { FULL, SEED, useSuite } from './support/suite';

jest.setTimeout(FULL ? 20 * 60_000 : 5 * 60_000);

const suite = useSuite('faults.int.test.ts');
const observer = observeSource();
const all: Figures[] = [];

function expectPromiseKept(f: Figures): void {
  emit(figuresLine(f));
  all.push(f);
  expect({ schedule: f.name, violations: f.violations }).toEqual({ schedule: f.name, violations: [] });
  expect({ lost: f.lost, lostIds: f.lostIds }).toEqual({ lost: 0, lostIds: [] });
  expect({ unexplainedDuplicates: f.unexplainedDuplicates }).toEqual({ unexplainedDuplicates: [] });
  expect(f.problems).toEqual([]);
  expect(f.maxRequestsPerSecond).toBeLessThanOrEqual(2);
  expect(faultTotal(f.faults)).toBeGreaterThan(0);
}

/** Everything at once, at rates a run meets several times. */
const MIXED: FaultRates = {
  cloudtrail: 0.35,
  dnif: 0.3,
  dynamoTransient: 0.03,
  seenWriteFail: 0.02,
  kill: 0,
  lease: 0.08,
  leaseSteal: 0.04,
  cursorAhead: 0.05,
  concurrent: 0.1,
  cutoff: 0.35,
};

const HARSH: FaultRates = { ...MIXED, cloudtrail: 0.6, dnif: 0.55, dynamoTransient: 0.06, cutoff: 0.5 };

/** Crashes right after DNIF's 2xx, among the rest. One region: a kill re-sends ≤ 1 batch. */
const KILLS: FaultRates = { ...MIXED, kill: 0.35, concurrent: 0.05 };

const forwardSpec = (over: Partial<ScheduleSpec> & Pick<ScheduleSpec, 'name'>): ScheduleSpec => ({
  regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
  backlogPerRegion: 300,
  livePerRegion: 120,
  clustersPerRegion: 3,
  liveSpanSec: 8,
  auth: 'bearer',
  batchMaxEvents: 40,
  cutoffMs: [2500, 7000],
  reserveMs: 1000,
  rates: MIXED,
  maxKills: 0,
  maxSeenWriteFails: 3,
  maxRuns: 250,
  budgetMs: 5 * 60_000,
  ...over,
});

const handlerSpec = (over: Partial<HandlerScheduleSpec> & Pick<HandlerScheduleSpec, 'name'>): HandlerScheduleSpec => ({
  regions: ['us-west-2', 'eu-central-1'],
  backlogPerRegion: 220,
  livePerRegion: 70,
  clustersPerRegion: 2,
  liveSpanSec: 8,
  batchMaxEvents: 50,
  cutoffMs: [1800, 5000],
  reserveMs: 1000,
  rates: { cloudtrail: 0.5, dnif: 0.5, lease: 0.1, concurrent: 0.15, cutoff: 0.4 },
  maxRuns: 150,
  budgetMs: 5 * 60_000,
  ...over,
});

/** A DNIF Adapter over mutual TLS: confirmations withheld, drops mid-batch, refusals (issue 11 #2). */
const SYSLOG: FaultRates = { ...MIXED, dnif: 0.35 };

const SHORT: (ScheduleSpec | HandlerScheduleSpec)[] = [
  forwardSpec({ name: 'mixed-3-regions' }),
  forwardSpec({ name: 'syslog-2-regions', transport: 'syslog', regions: ['us-east-1', 'eu-west-1'], backlogPerRegion: 200, livePerRegion: 60, rates: SYSLOG }),
  forwardSpec({ name: 'kills-1-region', regions: ['sa-east-1'], backlogPerRegion: 260, livePerRegion: 80, clustersPerRegion: 2, batchMaxEvents: 25, rates: KILLS, maxKills: 3 }),
  handlerSpec({ name: 'handler-2-regions' }),
];

const FULL_SET: (ScheduleSpec | HandlerScheduleSpec)[] = [
  forwardSpec({ name: 'mixed-3-regions' }),
  forwardSpec({ name: 'mixed-basic-gzip', auth: 'basic', gzip: true, regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'ca-central-1'], backlogPerRegion: 350 }),
  forwardSpec({ name: 'mixed-hmac-ndjson', auth: 'hmac', format: 'ndjson', batchMaxEvents: 25, backlogPerRegion: 400, livePerRegion: 150 }),
  forwardSpec({ name: 'mixed-header-bytes', auth: 'header', batchMaxEvents: 100, batchMaxBytes: 60_000, regions: ['eu-north-1', 'ap-northeast-1'] }),
  forwardSpec({ name: 'harsh-3-regions', rates: HARSH, batchMaxEvents: 20, backlogPerRegion: 350, liveSpanSec: 12, maxSeenWriteFails: 5 }),
  forwardSpec({ name: 'harsh-hmac-gzip', auth: 'hmac', gzip: true, rates: HARSH, batchMaxEvents: 30, regions: ['me-south-1', 'af-south-1', 'eu-south-1'] }),
  forwardSpec({ name: 'kills-1-region', regions: ['sa-east-1'], backlogPerRegion: 260, livePerRegion: 80, clustersPerRegion: 2, batchMaxEvents: 25, rates: KILLS, maxKills: 3 }),
  forwardSpec({ name: 'kills-basic-ndjson', auth: 'basic', format: 'ndjson', regions: ['us-east-2'], backlogPerRegion: 300, livePerRegion: 100, batchMaxEvents: 20, rates: KILLS, maxKills: 5 }),
  forwardSpec({ name: 'kills-harsh', regions: ['ap-south-1'], backlogPerRegion: 300, livePerRegion: 100, batchMaxEvents: 30, rates: { ...HARSH, kill: 0.35 }, maxKills: 5 }),
  forwardSpec({ name: 'syslog-3-regions', transport: 'syslog', rates: { ...SYSLOG, dnif: 0.5 }, backlogPerRegion: 350 }),
  forwardSpec({ name: 'syslog-kills-1-region', transport: 'syslog', regions: ['eu-west-3'], backlogPerRegion: 260, livePerRegion: 80, clustersPerRegion: 2, batchMaxEvents: 25, rates: { ...SYSLOG, kill: 0.35, concurrent: 0.05 }, maxKills: 3 }),
  handlerSpec({ name: 'handler-2-regions', liveSpanSec: 20, livePerRegion: 150, rates: { cloudtrail: 0.8, dnif: 0.7, lease: 0.1, concurrent: 0.15, cutoff: 0.4 } }),
  handlerSpec({
    name: 'handler-3-regions',
    regions: ['us-west-1', 'eu-west-2', 'ap-northeast-2'],
    backlogPerRegion: 250,
    livePerRegion: 150,
    liveSpanSec: 20,
    batchMaxEvents: 30,
    rates: { cloudtrail: 0.8, dnif: 0.7, lease: 0.1, concurrent: 0.15, cutoff: 0.4 },
  }),
];

const isHandlerSpec = (spec: ScheduleSpec | HandlerScheduleSpec): spec is HandlerScheduleSpec => spec.name.startsWith('handler-');

describe(`delivery promise under seeded fault schedules (${FULL ? 'full' : 'short'})`, () => {
  it.each((FULL ? FULL_SET : SHORT).map((spec) => [spec.name, spec] as const))('%s', async (_name, spec) => {
    const s = suite.standIns();
    const figures = isHandlerSpec(spec)
      ? await runHandlerSchedule(s, spec, observer, (doc) => suite.putSecret(doc))
      : await new FaultSchedule(s, spec, observer).execute();
    expectPromiseKept(figures);
  });

  it('reports its figures: faults injected, nothing lost, duplicates only where allowed', () => {
    const sum = (k: (f: Figures) => number) => all.reduce((n, f) => n + k(f), 0);
    const total = {
      schedules: all.length,
      events: sum((f) => f.events),
      faults: sum((f) => faultTotal(f.faults)),
      lost: sum((f) => f.lost),
      duplicates: sum((f) => f.duplicates),
      allowedBatches: sum((f) => f.allowedBatches),
      lostAcks: sum((f) => f.lostAcks),
      runs: sum((f) => f.runs),
    };
    const kinds = ['cloudtrail', 'dnif', 'dynamo', 'kills', 'conflicts', 'cutoffs'] as const;
    emit(
      `[faults] TOTAL (${FULL ? 'full' : 'short'}, FAULTS_SEED=${SEED}) schedules=${total.schedules} events=${total.events} faults=${total.faults} ` +
        `[${kinds.map((k) => `${k} ${sum((f) => f.faults[k])}`).join(', ')}] lost=${total.lost} duplicates=${total.duplicates} ` +
        `(allowed: ${total.allowedBatches} batches from ${sum((f) => f.faults.kills)} kills + failed seen# writes, ${total.lostAcks} lost 2xx at a deadline) runs=${total.runs} ` +
        `boundary-events=${sum((f) => f.boundaryEvents)} late-events=${sum((f) => f.late)}`,
    );
    expect(total.schedules).toBe((FULL ? FULL_SET : SHORT).length);
    expect(total.lost).toBe(0);
    expect(total.faults).toBeGreaterThanOrEqual(FULL ? 1000 : 100);
    expect(total.events).toBeGreaterThanOrEqual(FULL ? 10_000 : 2_500);
    // The schedules did meet the cases they are for.
    expect(sum((f) => f.faults.kills)).toBeGreaterThan(0);
    expect(sum((f) => f.faults.cutoffs)).toBeGreaterThan(0);
    expect(sum((f) => f.boundaryEvents)).toBeGreaterThan(0);
    expect(sum((f) => f.late)).toBeGreaterThan(0);
  });
});
