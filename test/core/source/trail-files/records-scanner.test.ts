import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RecordsScanner, TrailJsonError, type ScannedRecord } from '../../../../functions/core/source/trail-files/records-scanner';

const lines = readFileSync(resolve(__dirname, '../../../../fixtures/cloudtrail/records.ndjson'), 'utf8').trim().split('\n');

function scanRecords(text: string, chunkSize: number): ScannedRecord[] {
  const scanner = new RecordsScanner();
  const buf = Buffer.from(text, 'utf8');
  const out: ScannedRecord[] = [];
  for (let i = 0; i < buf.length; i += chunkSize) out.push(...scanner.push(buf.subarray(i, i + chunkSize)));
  scanner.end();
  return out;
}

const scan = (text: string, chunkSize: number): string[] => scanRecords(text, chunkSize).map((r) => r.text);

describe('RecordsScanner', () => {
  const file = `{"Records":[${lines.join(',')}]}`;

  it('gives back every record of a trail file, byte for byte, however the bytes are chunked', () => {
    for (const size of [1, 2, 3, 7, 64, 1000, 1 << 20]) expect(scan(file, size)).toEqual(lines);
  });

  it('copes with whitespace, other top-level keys, escapes and multi-byte text', () => {
    const tricky = '{"eventID":"a\\"}]{","n":"caf\u00e9 \u{1F600} \\\\","o":{"x":[1,{"y":"}"}]}}';
    const text = ` {\n "other": {"Records": [1]}, "n": 5, "s": "x\\"y",\n "Records" : [ ${tricky} ,\n${lines[0]} ] , "tail": null }\n`;
    for (const size of [1, 5, 4096]) expect(scan(text, size)).toEqual([tricky, lines[0]]);
    expect(JSON.parse(scan(text, 3)[0]).n).toBe('caf\u00e9 \u{1F600} \\');
  });

  it('accepts an empty Records array', () => {
    expect(scan('{"Records":[]}', 4)).toEqual([]);
  });

  it('refuses truncated, non-trail and malformed JSON with a clear error', () => {
    expect(() => scan(file.slice(0, file.length - 10), 100)).toThrow(/ends part way/);
    expect(() => scan('{"foo":[]}', 4)).toThrow(/no "Records" array/);
    expect(() => scan('[1,2]', 4)).toThrow(/does not start with a JSON object/);
    expect(() => scan('{"Records":{}}', 4)).toThrow(/"Records" is not an array/);
    expect(() => scan('{"Records":[1]}', 4)).toThrow(/not an object/);
    expect(() => scan('{"Records":[]} x', 4)).toThrow(TrailJsonError);
    // The file's other top-level values are checked on the way past too.
    for (const other of ['[1,]', '{"a" 1}', '"\\q"']) expect(() => scan(`{"x":${other},"Records":[]}`, 3)).toThrow(/a top-level value is not valid JSON/);
  });

  it('takes the top-level fields the forwarder reads from each plain record, as JSON.parse would give them', () => {
    for (const size of [1, 3, 17, 1 << 20]) {
      const records = scanRecords(file, size);
      records.forEach((r, i) => {
        const parsed = JSON.parse(lines[i]) as Record<string, unknown>;
        const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
        expect(r.fields).toEqual({
          eventID: str(parsed.eventID),
          eventTime: str(parsed.eventTime),
          eventName: str(parsed.eventName),
          eventSource: str(parsed.eventSource),
          awsRegion: str(parsed.awsRegion),
          recipientAccountId: str(parsed.recipientAccountId),
          readOnly: parsed.readOnly === undefined ? undefined : String(parsed.readOnly),
        });
      });
    }
  });

  it('decodes escaped values, lets a later duplicate key win, ignores nested keys and non-string values', () => {
    const [r] = scanRecords('{"Records":[{"eventName":"A","eventID":"\\u00e9\\"x","o":{"eventName":"nested"},"eventName":"B","awsRegion":5,"readOnly":false}]}'.replace(/\\\\/g, '\\'), 7);
    expect(r.fields).toEqual({ eventName: 'B', eventID: '\u00e9"x', awsRegion: undefined, readOnly: 'false' });
  });

  it('leaves to JSON.parse what is not plain: pretty-printed, an escaped key, dnifForwarder, no keys, a non-scalar readOnly', () => {
    for (const record of ['{\n"eventID":"a"}', '{"event\\u0049D":"a"}', '{"eventID":"a","dnifForwarder":{}}', '{}', '{"readOnly":null}', '{"readOnly":[true]}']) {
      const [r] = scanRecords(`{"Records":[${record}]}`, 5);
      expect({ text: r.text, fields: r.fields }).toEqual({ text: record, fields: undefined });
    }
  });

  it('refuses a record that is not valid JSON, naming the record, where JSON.parse would', () => {
    const bad = ['{"a":tru}', '{"a" "b"}', '{"a":01}', '{"a":1.}', '{"a":-}', '{"a":1e}', '{"a":"\\x"}', '{"a":"\\u12G4"}', '{"a":[1,]}', '{"a":{"b":1]}', '{,"a":1}', '{"a":1,}', '{"a":nul}', '{"a":truex}', "{'a':1}", '{"a":1 2}'];
    for (const record of bad) {
      expect(() => JSON.parse(record)).toThrow();
      for (const size of [1, 4, 1000]) expect(() => scan(`{"Records":[${lines[0]},${record}]}`, size)).toThrow(/record 1 is not valid JSON/);
    }
    // A raw control character inside a string: JSON.parse, on the text, has the last word.
    for (const record of ['{"a":"x\ty"}', '{"a":"\u00e9x\u0000"}']) {
      const [r] = scanRecords(`{"Records":[${record}]}`, 3);
      expect(r.fields).toBeUndefined();
      expect(() => JSON.parse(r.text)).toThrow();
    }
  });

  it('agrees with JSON.parse on random records and random corruptions of them (fields and acceptance)', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T,>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const value = (depth: number): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.3) return pick(['x', 'caf\u00e9', 'q"uote', 'back\\slash', 'nl\n', '\u{1F600}', '', 'eventID']);
      if (r < 0.45) return pick([0, -1, 3.25, 1e21, -0.5e-7, 42]);
      if (r < 0.55) return pick([true, false, null]);
      if (r < 0.75) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, () => [pick(['eventID', 'eventName', 'k', 'readOnly', 'é']), value(depth + 1)]));
    };
    const keys = ['eventID', 'eventTime', 'eventName', 'eventSource', 'awsRegion', 'recipientAccountId', 'readOnly', 'other', 'requestParameters'];
    const noise = ['"', '\\', '{', '}', '[', ']', ',', ':', 'x', '0', '-', '.', 'e', ' ', 't', 'n', '\u0001'];
    let accepted = 0;
    let refused = 0;
    for (let n = 0; n < 3000; n++) {
      const record = Object.fromEntries(Array.from({ length: 1 + Math.floor(rand() * 8) }, () => [pick(keys), value(1)]));
      let text = JSON.stringify(record);
      if (n % 2 === 1) {
        const at = Math.floor(rand() * text.length);
        text = rand() < 0.5 ? text.slice(0, at) + pick(noise) + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
        // As bytes in a file: a surrogate pair cut in half becomes U+FFFD, on both sides.
        text = Buffer.from(text, 'utf8').toString('utf8');
      }
      let parsed: Record<string, unknown> | undefined;
      try {
        const p: unknown = JSON.parse(text);
        parsed = typeof p === 'object' && p !== null && !Array.isArray(p) ? (p as Record<string, unknown>) : undefined;
      } catch {
        parsed = undefined;
      }
      let scanned: ScannedRecord[] | undefined;
      try {
        scanned = scanRecords(`{"Records":[${text}]}`, 1 + Math.floor(rand() * 40));
      } catch {
        scanned = undefined;
      }
      if (parsed === undefined) {
        // Refused by the scanner, or passed on without fields for JSON.parse to refuse.
        if (scanned !== undefined) expect(scanned.length === 1 && scanned[0].fields === undefined).toBe(true);
        refused++;
        continue;
      }
      expect(scanned).toHaveLength(1);
      const [r] = scanned as ScannedRecord[];
      expect(r.text).toBe(text);
      if (r.fields) {
        const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
        const f = r.fields;
        expect({ eventID: f.eventID, eventName: f.eventName, recipientAccountId: f.recipientAccountId, readOnly: f.readOnly }).toEqual({
          eventID: str(parsed.eventID),
          eventName: str(parsed.eventName),
          recipientAccountId: str(parsed.recipientAccountId),
          readOnly: parsed.readOnly === undefined ? undefined : String(parsed.readOnly),
        });
        accepted++;
      }
    }
    // Both sides of the property were exercised.
    expect(accepted).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(500);
  });
});
