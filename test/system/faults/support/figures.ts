/** The figures of a finished schedule, the same for both invoke strategies. */
import type { StandIns } from '../../../../standins';
import type { DeliveryReport, SourceTruth } from './events';
import type { SourceObserver } from '../../../helpers/observe-source';
import type { Figures, RunTally, ScheduleBase } from './schedule-spec';

export interface FigureInputs {
  s: StandIns;
  spec: ScheduleBase;
  seed: number;
  truth: SourceTruth;
  observer: SourceObserver;
  started: number;
  /** The stand-in's fault count when the schedule started: CloudTrail faults are those applied since. */
  faultsBefore: number;
  runs: number;
  tally: RunTally;
  report: DeliveryReport;
  allowedBatches: number;
  lostAcks: number;
  unexplained: string[];
  violations: string[];
}

export function scheduleFigures(i: FigureInputs): Figures {
  const { s, spec, truth, report } = i;
  const stats = s.cloudtrail.stats();
  i.tally.counts.cloudtrail = stats.faultsApplied - i.faultsBefore;
  const ends = new Map(spec.regions.map((r) => [r, i.observer.sliceEnds(r, i.started)]));
  return {
    name: spec.name,
    seed: i.seed,
    events: truth.size,
    late: truth.lateCount(),
    regions: spec.regions.length,
    runs: i.runs,
    skipped: i.tally.skipped,
    faults: { ...i.tally.counts },
    lost: report.lost.length,
    duplicates: report.duplicates,
    allowedBatches: i.allowedBatches,
    lostAcks: i.lostAcks,
    boundaryEvents: [...truth.byId.values()].filter((e) => ends.get(e.region)?.has(e.time)).length,
    maxRequestsPerSecond: i.observer.maxPerSecond(spec.regions, i.started),
    standInMaxRequestsPerSecond: Math.max(0, ...spec.regions.map((r) => stats.accountRegions[`${s.accountId}/${r}`]?.maxInAnyWindow ?? 0)),
    regionErrors: { ...i.tally.regionErrors },
    ms: Date.now() - i.started,
    violations: [...i.violations],
    problems: report.problems,
    lostIds: report.lost.slice(0, 10),
    unexplainedDuplicates: i.unexplained.slice(0, 10),
  };
}
