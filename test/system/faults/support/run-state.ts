/** One run (one Lambda invocation) of a forward()-driven schedule, as its fault injectors see it. */

export interface RunState {
  id: number;
  owner: string;
  startedAt: number;
  timeoutMs: number;
  endsAt: number;
  alive: boolean;
  /** Kill right after this many batches of this run were accepted. */
  killAfterBatch?: number;
  acked: number;
  stealLease: boolean;
  /** When this run held the connector's lease (from the acquire to the release, or its deadline). */
  leaseFrom?: number;
  leaseTo?: number;
  killedAt?: number;
}

/** The process was killed (injected): nothing after this reaches the outside world. */
export class KillError extends Error {
  constructor() {
    super('process killed (injected fault)');
    this.name = 'KillError';
  }
}

/** At most one run per connector at a time: the spans in which runs held the lease never overlap. */
export function leaseOverlaps(runs: readonly RunState[]): string[] {
  const held = runs
    .filter((r) => r.leaseFrom !== undefined)
    .map((r) => ({ id: r.id, from: r.leaseFrom as number, to: r.leaseTo ?? r.killedAt ?? r.endsAt }))
    .sort((a, b) => a.from - b.from);
  const violations: string[] = [];
  for (let i = 1; i < held.length; i++) {
    if (held[i].from < held[i - 1].to) violations.push(`runs ${held[i - 1].id} and ${held[i].id} held the lease at the same time`);
  }
  return violations;
}
