/** DynamoDB capacity per 1,000 events, as reported and as DynamoDB's pricing rules give it (ddb-meter). */
import type { MeterReport } from './ddb-meter';
import { round } from './context';
import type { ThroughputRun } from './throughput';

export interface DynamoDbFigures {
  basis: string;
  events: number;
  reads: number;
  writes: number;
  readUnits: number;
  writeUnits: number;
  readUnitsPer1000Events: number;
  writeUnitsPer1000Events: number;
  /** The same, recomputed from the calls and item sizes by DynamoDB's rules (ddb-meter). */
  rules: { readUnits: number; writeUnits: number; largestItemBytes: number; largestItemKind: string; unmodelled: number };
  byOperation: MeterReport['byOperation'];
  consistent: boolean;
}

export function dynamoDbFigures(run: ThroughputRun): DynamoDbFigures | undefined {
  const u = run.checkpointUsage;
  if (!u || run.forwarded === 0) return undefined;
  const per1000 = (n: number) => round((n / run.forwarded) * 1000, 2);
  const close = (a: number, b: number) => Math.abs(a - b) <= Math.max(0.5, 0.01 * b);
  return {
    basis: `the ${run.regions.length}-region run at the API limit`,
    events: run.forwarded,
    reads: u.reads,
    writes: u.writes,
    readUnits: u.readUnits,
    writeUnits: u.writeUnits,
    readUnitsPer1000Events: per1000(u.readUnits),
    writeUnitsPer1000Events: per1000(u.writeUnits),
    rules: {
      readUnits: run.ddb.readUnits.expected,
      writeUnits: run.ddb.writeUnits.expected,
      largestItemBytes: run.ddb.largestItem.bytes,
      largestItemKind: run.ddb.largestItem.kind,
      unmodelled: run.ddb.unmodelled,
    },
    byOperation: run.ddb.byOperation,
    consistent: close(u.readUnits, run.ddb.readUnits.expected) && close(u.writeUnits, run.ddb.writeUnits.expected) && run.ddb.unmodelled === 0,
  };
}
