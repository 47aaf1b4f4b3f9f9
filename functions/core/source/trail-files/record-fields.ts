/**
 * The few top-level fields of a trail record the forwarder reads, taken from the positions
 * RecordReader noted on its pass, with JSON.parse's meaning (a later duplicate key wins, a value
 * that is not a string is no value) and without building the record.
 */

import { isAscii } from 'node:buffer';

/**
 * Whether any byte is below 0x20, four at a time through an Int32Array over the aligned middle
 * (a byte below 0x20 makes `(x - 0x20202020) & ~x` set that byte's top bit; bytes from 0x80 up
 * never do). A regex over the Latin-1 text cost ~0.65 ns a byte, this ~0.17.
 */
export function hasControlByte(bytes: Buffer): boolean {
  const n = bytes.length;
  const head = Math.min(n, (4 - (bytes.byteOffset & 3)) & 3);
  const words = (n - head) >> 2;
  let i = 0;
  for (; i < head; i++) if (bytes[i] < 0x20) return true;
  if (words > 0) {
    const view = new Int32Array(bytes.buffer, bytes.byteOffset + head, words);
    for (let w = 0; w < words; w++) {
      const x = view[w];
      if (((x - 0x20202020) & ~x & 0x80808080) !== 0) return true;
    }
    i += words * 4;
  }
  for (; i < n; i++) if (bytes[i] < 0x20) return true;
  return false;
}

/** What a checked record hands on: its bytes and, when plain, the top-level fields read from it. */
export class ScannedRecord {
  constructor(
    /** The record's JSON, byte for byte as in the file (a view of the chunk it ended in, or joined from several). */
    readonly bytes: Buffer,
    /**
     * Its top-level string fields (and `readOnly` as text), when the record is plain: a compact
     * JSON object with keys, none escaped, no `dnifForwarder`. Undefined: parse `text` instead.
     */
    readonly fields?: TopFields,
  ) {}

  /** The record's JSON text; decoded on demand (a plain record's bytes go to DNIF as they are). */
  get text(): string {
    return this.bytes.toString('utf8');
  }
}

export interface TopFields {
  eventID?: string;
  eventTime?: string;
  eventName?: string;
  eventSource?: string;
  awsRegion?: string;
  recipientAccountId?: string;
  /** `String(record.readOnly)` for a string or boolean value. */
  readOnly?: string;
}

/** What the value of a top-level pair is, as far as its fields go. */
export const PairKind = { String: 1, EscapedString: 2, True: 3, False: 4, Other: 5 } as const;

/** Top-level keys whose values are read, by length: most other keys are told apart by that alone. */
const WANTED = ['eventID', 'eventTime', 'eventName', 'eventSource', 'awsRegion', 'recipientAccountId', 'readOnly', 'dnifForwarder'] as const;
type WantedKey = (typeof WANTED)[number];
const WANTED_BY_LENGTH: WantedKey[][] = [];
for (const key of WANTED) (WANTED_BY_LENGTH[key.length] ??= []).push(key);

/** Which wanted key the key at byte `start` (`length` bytes, unescaped) is, if any; no string is made. */
function wantedKeyAt(bytes: Buffer, start: number, length: number): WantedKey | undefined {
  const candidates = WANTED_BY_LENGTH[length];
  if (candidates === undefined) return undefined;
  for (const key of candidates) {
    let k = 0;
    while (k < length && bytes[start + k] === key.charCodeAt(k)) k++;
    if (k === length) return key;
  }
  return undefined;
}

function stringValue(bytes: Buffer, ascii: boolean, kind: number, start: number, end: number): string {
  if (kind === PairKind.EscapedString) return JSON.parse(bytes.toString('utf8', start - 1, end + 1)) as string;
  return bytes.toString(ascii ? 'latin1' : 'utf8', start, end);
}

/**
 * A finished record's bytes and pairs (RecordReader) as a ScannedRecord, with its top-level fields
 * if it is plain. `ascii`: no byte of it is above 0x7f (CloudTrail's records nearly always), so
 * values decode as Latin-1, the cheapest.
 */
export function scannedRecord(bytes: Buffer, pairs: Int32Array, pairCount: number, unusual: boolean): ScannedRecord {
  if (unusual || pairCount === 0) return new ScannedRecord(bytes);
  const ascii = isAscii(bytes);
  // Raw control characters are not allowed in JSON strings (the reader passes over string content
  // with indexOf), and between tokens only SP was seen: JSON.parse will refuse such a record.
  // UTF-8 never puts a byte below 0x20 inside a character.
  if (hasControlByte(bytes)) return new ScannedRecord(bytes);
  const fields: TopFields = {};
  for (let k = 0; k < pairCount * 5; k += 5) {
    const start = pairs[k];
    const name = wantedKeyAt(bytes, start, pairs[k + 1] - start);
    if (name === undefined) continue;
    const kind = pairs[k + 2];
    if (name === 'dnifForwarder') return new ScannedRecord(bytes);
    if (name === 'readOnly') {
      if (kind === PairKind.Other) return new ScannedRecord(bytes);
      fields.readOnly = kind === PairKind.True ? 'true' : kind === PairKind.False ? 'false' : stringValue(bytes, ascii, kind, pairs[k + 3], pairs[k + 4]);
      continue;
    }
    // As `typeof record[name] === 'string'` would have it: a later duplicate key wins.
    fields[name] = kind === PairKind.String || kind === PairKind.EscapedString ? stringValue(bytes, ascii, kind, pairs[k + 3], pairs[k + 4]) : undefined;
  }
  return new ScannedRecord(bytes, fields);
}

/** The same fields, from a record that had to be parsed (not plain). */
export function topFieldsOf(record: Record<string, unknown>): TopFields {
  const s = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    eventID: s(record.eventID),
    eventTime: s(record.eventTime),
    eventName: s(record.eventName),
    eventSource: s(record.eventSource),
    awsRegion: s(record.awsRegion),
    recipientAccountId: s(record.recipientAccountId),
    readOnly: record.readOnly === undefined ? undefined : String(record.readOnly),
  };
}
