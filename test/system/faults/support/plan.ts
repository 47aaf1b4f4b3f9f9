/**
 * The events of a schedule: a backlog, clusters of events with one EventTime, and live events
 * that show up to LATENESS_SECONDS late, put into the CloudTrail stand-in and the truth.
 */
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StandIns } from '../../../../standins';
import type { CursorOracle } from './cursor-oracle';
import { addPlannedEvents, type SourceTruth } from './events';
import { LATENESS_SECONDS, SETTLE_SECONDS, type ScheduleBase } from './schedule-spec';
import type { Rng } from './suite';

export interface PlanInputs {
  s: StandIns;
  spec: ScheduleBase;
  seed: number;
  rnd: Rng;
  truth: SourceTruth;
  startSec: number;
  nowSec: number;
}

/** Each region starts from a stored cursor with a known slice width, so the first slice ends on a cluster. */
export async function planFromStoredCursor(p: PlanInputs & { admin: DynamoDBDocumentClient; oracle: CursorOracle; connectorName: string }): Promise<void> {
  const { s, admin, spec, seed, rnd, truth, oracle, connectorName, startSec, nowSec } = p;
  for (const [i, region] of spec.regions.entries()) {
    // Start from a stored cursor with a known slice width, so the first slice ends on a cluster.
    const width = rnd.int(5, 40);
    await admin.send(
      new PutCommand({
        TableName: s.dynamodb.tableName,
        Item: { pk: `cursor#${connectorName}#${region}`, head: startSec, sweep: startSec, sliceSeconds: width },
      }),
    );
    oracle.setStored(region, { head: startSec, sweep: startSec });
    const clusters = [
      { sec: startSec + width - 1, size: rnd.int(20, 60) },
      { sec: startSec + width, size: rnd.int(51, 130) },
    ];
    for (let c = 2; c < spec.clustersPerRegion; c++) clusters.push({ sec: rnd.int(startSec + width + 1, nowSec - 30), size: rnd.int(30, 130) });
    addPlannedEvents(
      s,
      truth,
      region,
      {
        backlog: { count: spec.backlogPerRegion, fromSec: startSec, toSec: nowSec - 25 },
        clusters: clusters.slice(0, Math.max(0, spec.clustersPerRegion)),
        live: { count: spec.livePerRegion, fromSec: nowSec + 1, toSec: nowSec + spec.liveSpanSec, latenessSeconds: LATENESS_SECONDS, settleSeconds: SETTLE_SECONDS },
      },
      rnd,
      (seed + i * 7919) >>> 0,
    );
  }
}

/** No stored cursor: the first run backfills; clusters fall anywhere in the backlog. */
export function planBackfill(p: PlanInputs): void {
  const { s, spec, seed, rnd, truth, startSec, nowSec } = p;
  spec.regions.forEach((region, i) => {
    const clusters = Array.from({ length: spec.clustersPerRegion }, () => ({ sec: rnd.int(startSec + 60, nowSec - 30), size: rnd.int(51, 130) }));
    addPlannedEvents(
      s,
      truth,
      region,
      {
        backlog: { count: spec.backlogPerRegion, fromSec: startSec + 1, toSec: nowSec - 25 },
        clusters,
        live: { count: spec.livePerRegion, fromSec: nowSec + 1, toSec: nowSec + spec.liveSpanSec, latenessSeconds: LATENESS_SECONDS, settleSeconds: SETTLE_SECONDS },
      },
      rnd,
      (seed + i * 104_729) >>> 0,
    );
  });
}
