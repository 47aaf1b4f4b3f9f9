import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RecordsScanner, TrailJsonError } from '../../../../functions/core/source/trail-files/records-scanner';

const lines = readFileSync(resolve(__dirname, '../../../../fixtures/cloudtrail/records.ndjson'), 'utf8').trim().split('\n');

function scan(text: string, chunkSize: number): string[] {
  const scanner = new RecordsScanner();
  const buf = Buffer.from(text, 'utf8');
  const out: string[] = [];
  for (let i = 0; i < buf.length; i += chunkSize) out.push(...scanner.push(buf.subarray(i, i + chunkSize)));
  scanner.end();
  return out;
}

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
  });
});
