/**
 * The shared real CloudTrail records, and a deterministic generator of many distinct
 * events built from them (for volume tests, the demo and the benchmark).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CloudTrailRecord } from './cloudtrail';

/** `<repo>/fixtures/cloudtrail/records.ndjson`: the repository carries its own copy (see SOURCE.md beside it). */
export const FIXTURES_PATH = path.resolve(__dirname, '..', 'fixtures', 'cloudtrail', 'records.ndjson');

const cache = new Map<string, CloudTrailRecord[]>();

/** The records, parsed; each call returns fresh copies so callers may mutate them. */
export function loadRecords(file: string = FIXTURES_PATH): CloudTrailRecord[] {
  let records = cache.get(file);
  if (!records) {
    records = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line, i) => {
        try {
          return JSON.parse(line) as CloudTrailRecord;
        } catch {
          throw new Error(`${file}:${i + 1}: not valid JSON`);
        }
      });
    cache.set(file, records);
  }
  return structuredClone(records);
}

/** Small, fast, seedable PRNG (mulberry32): same seed, same sequence, on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uuidFrom(rand: () => number): string {
  const word = () => Math.floor(rand() * 0x100000000).toString(16).padStart(8, '0');
  const h = word() + word() + word() + word();
  // Version 4 layout (…-4xxx-[89ab]xxx-…), as CloudTrail's event IDs look.
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20)}`;
}

/** CloudTrail writes whole seconds: `2024-10-16T11:52:46Z`. */
export function cloudTrailTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface GenerateOptions {
  count: number;
  region: string;
  accountId: string;
  /** Start of the time span (epoch ms or Date). */
  from: number | Date;
  /** End of the span (inclusive): times are spread at random over [from, to]. */
  to?: number | Date;
  /** Or: events arrive at this steady rate from `from` on. Give exactly one of `to` and `perSecond`. */
  perSecond?: number;
  /** Default 1. Same seed and options, same events. */
  seed?: number;
  /** Records to copy; default the shared fixtures. */
  templates?: readonly CloudTrailRecord[];
}

/**
 * `count` distinct events, oldest first: copies of the templates with a fresh eventID and
 * requestID each, eventTime in the requested span, awsRegion and recipientAccountId set.
 */
export function generateEvents(opts: GenerateOptions): CloudTrailRecord[] {
  const from = +opts.from;
  const to = opts.to === undefined ? undefined : +opts.to;
  if ((to === undefined) === (opts.perSecond === undefined)) throw new Error('give exactly one of `to` and `perSecond`');
  if (to !== undefined && to < from) throw new Error('`to` is before `from`');
  if (opts.perSecond !== undefined && !(opts.perSecond > 0)) throw new Error('`perSecond` must be positive');
  const templates = opts.templates ?? loadRecords();
  if (templates.length === 0) throw new Error('no template records');

  // Copying via JSON text is much faster than structuredClone for 10^5 events.
  const texts = templates.map((t) => JSON.stringify(t));
  const rand = seededRandom(opts.seed ?? 1);
  const fromSec = Math.ceil(from / 1000);
  const toSec = to === undefined ? 0 : Math.floor(to / 1000);
  if (to !== undefined && toSec < fromSec) throw new Error('the span from `from` to `to` holds no whole second');
  const out: Array<{ ms: number; record: CloudTrailRecord }> = [];
  for (let i = 0; i < opts.count; i++) {
    const template = texts[Math.floor(rand() * texts.length)];
    const ms =
      to !== undefined
        ? (fromSec + Math.floor(rand() * (toSec - fromSec + 1))) * 1000
        : (fromSec + Math.floor(i / (opts.perSecond as number))) * 1000;
    const record: CloudTrailRecord = {
      ...(JSON.parse(template) as CloudTrailRecord),
      eventID: uuidFrom(rand),
      requestID: uuidFrom(rand),
      eventTime: cloudTrailTime(ms),
      awsRegion: opts.region,
      recipientAccountId: opts.accountId,
    };
    out.push({ ms, record });
  }
  return out.sort((a, b) => a.ms - b.ms).map((x) => x.record);
}
