/**
 * The few top-level fields of a trail record the forwarder reads, taken from the positions
 * RecordReader noted on its pass, with JSON.parse's meaning (a later duplicate key wins, a value
 * that is not a string is no value) and without building the record.
 */

/** What a checked record hands on: its text and, when plain, the top-level fields read from it. */
export interface ScannedRecord {
  /** The record's JSON text, byte for byte as in the file. */
  text: string;
  /**
   * Its top-level string fields (and `readOnly` as text), when the record is plain: a compact
   * JSON object with keys, none escaped, no `dnifForwarder`. Undefined: parse `text` instead.
   */
  fields?: TopFields;
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

const CONTROL = /[\x00-\x1f]/;
/** Top-level keys whose values are read, by length: most other keys are told apart by that alone. */
const WANTED = ['eventID', 'eventTime', 'eventName', 'eventSource', 'awsRegion', 'recipientAccountId', 'readOnly', 'dnifForwarder'] as const;
type WantedKey = (typeof WANTED)[number];
const WANTED_BY_LENGTH: WantedKey[][] = [];
for (const key of WANTED) (WANTED_BY_LENGTH[key.length] ??= []).push(key);

/** Which wanted key the key at byte `start` (`length` bytes, unescaped) is, if any; no string is made. */
function wantedKeyAt(text: string, bytes: Buffer, ascii: boolean, start: number, length: number): WantedKey | undefined {
  const candidates = WANTED_BY_LENGTH[length];
  if (candidates === undefined) return undefined;
  for (const key of candidates) {
    if (ascii ? text.startsWith(key, start) : bytes.toString('latin1', start, start + length) === key) return key;
  }
  return undefined;
}

function stringValue(text: string, bytes: Buffer, ascii: boolean, kind: number, start: number, end: number): string {
  if (kind === PairKind.EscapedString) return JSON.parse(ascii ? text.slice(start - 1, end + 1) : bytes.toString('utf8', start - 1, end + 1)) as string;
  return ascii ? text.slice(start, end) : bytes.toString('utf8', start, end);
}

/** A finished record's bytes and pairs (RecordReader): its text and, if plain, its top-level fields. */
export function scannedRecord(bytes: Buffer, pairs: Int32Array, pairCount: number, unusual: boolean): ScannedRecord {
  const text = bytes.toString('utf8');
  // Raw control characters are not allowed in JSON strings; between tokens only SP was seen.
  if (unusual || pairCount === 0 || CONTROL.test(text)) return { text };
  // All ASCII (CloudTrail's records nearly always are): byte offsets are string offsets, and
  // keys and values are cut from the text instead of decoded one by one.
  const ascii = text.length === bytes.length;
  const fields: TopFields = {};
  for (let k = 0; k < pairCount * 5; k += 5) {
    const start = pairs[k];
    const name = wantedKeyAt(text, bytes, ascii, start, pairs[k + 1] - start);
    if (name === undefined) continue;
    const kind = pairs[k + 2];
    if (name === 'dnifForwarder') return { text };
    if (name === 'readOnly') {
      if (kind === PairKind.Other) return { text };
      fields.readOnly = kind === PairKind.True ? 'true' : kind === PairKind.False ? 'false' : stringValue(text, bytes, ascii, kind, pairs[k + 3], pairs[k + 4]);
      continue;
    }
    // As `typeof record[name] === 'string'` would have it: a later duplicate key wins.
    fields[name] = kind === PairKind.String || kind === PairKind.EscapedString ? stringValue(text, bytes, ascii, kind, pairs[k + 3], pairs[k + 4]) : undefined;
  }
  return { text, fields };
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
