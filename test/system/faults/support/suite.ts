/**
 * Shared wiring for the reliability suite: the seed, the mode (short in `npm test`, full with
 * FAULTS_FULL=1), the stand-ins with their keys registered for the log scan, and the figures.
 */
import { seededRandom, startStandIns, type ConnectorDocument, type StandIns } from '../../../../standins';
import { emit, registerConnectorSecrets, registerSecret, useLogScan, type LogScan } from './log-scan';

export const FULL = /^(1|true|yes)$/i.test(process.env.FAULTS_FULL ?? '');

function suiteSeed(): number {
  const given = process.env.FAULTS_SEED;
  if (given !== undefined && given.trim() !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`FAULTS_SEED must be a whole number 0..4294967295, got "${given}"`);
    return n;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** One seed for the whole run; every schedule derives its own from it and its name. */
export const SEED = suiteSeed();

/** A stable 32-bit seed for `name` under the suite seed. */
export function seedFor(name: string): number {
  let h = SEED ^ 0x9e3779b9;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

export interface Rng {
  (): number;
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Weighted choice: [[weight, value], ...]. */
  weighted<T>(items: readonly (readonly [number, T])[]): T;
}

export function rng(seed: number): Rng {
  const next = seededRandom(seed);
  const r = (() => next()) as Rng;
  r.int = (min, max) => min + Math.floor(next() * (max - min + 1));
  r.chance = (p) => next() < p;
  r.pick = (items) => items[Math.floor(next() * items.length)];
  r.weighted = (items) => {
    const total = items.reduce((n, [w]) => n + w, 0);
    let x = next() * total;
    for (const [w, v] of items) {
      if ((x -= w) < 0) return v;
    }
    return items[items.length - 1][1];
  };
  return r;
}

export interface Suite {
  standIns(): StandIns;
  logs: LogScan;
  /** Put the connector secret, registering every credential in it for the log scan. */
  putSecret(doc: ConnectorDocument | string): void;
}

/** Stand-ins for this file, the process environment pointed at them, and the log scan. */
export function useSuite(file: string): Suite {
  const logs = useLogScan();
  let s: StandIns | undefined;
  let undoEnv: (() => void) | undefined;

  beforeAll(async () => {
    emit(`[reliability] ${file}: ${FULL ? 'full' : 'short'} suite, FAULTS_SEED=${SEED} (replay with FAULTS_SEED=${SEED}${FULL ? ' FAULTS_FULL=1' : ''})`);
    s = await startStandIns();
    undoEnv = s.applyEnv();
    for (const p of [s.functionRole, s.connectorUser]) {
      registerSecret(p.accessKeyId, 'stand-in access key id');
      registerSecret(p.secretAccessKey, 'stand-in secret access key');
      registerSecret(p.sessionToken, 'stand-in session token');
    }
    registerConnectorSecrets(s.connector(), 'default connector');
  });
  afterAll(async () => {
    undoEnv?.();
    await s?.stop();
  });

  const standIns = () => {
    if (!s) throw new Error('stand-ins are not running yet');
    return s;
  };
  return {
    standIns,
    logs,
    putSecret(doc) {
      registerConnectorSecrets(doc, 'connector secret');
      standIns().putConnectorSecret(doc);
    },
  };
}

/** Resolves when `check` is true, polling every `everyMs`; rejects after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 10): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Wait until the wall clock reaches `epochMs` (a lease expiry, the end of a lateness window). */
export async function untilTime(epochMs: number): Promise<void> {
  const ms = epochMs - Date.now();
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}
