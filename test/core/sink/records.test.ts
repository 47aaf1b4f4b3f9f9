import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { bodyBytes, toBatches } from '../../../functions/core/sink/batcher';
import { HttpSink } from '../../../functions/core/sink/http-sink';
import { buildRecord, flattenRecord, type OutgoingRecord, type RecordContext } from '../../../functions/core/sink/records';
import type { SourceEvent } from '../../../functions/core/event';

const fixtureLines = readFileSync(resolve(__dirname, '../../../fixtures/cloudtrail/records.ndjson'), 'utf8').trim().split('\n');
const fixtures = fixtureLines.map((l) => JSON.parse(l) as Record<string, any>);

const ctx: RecordContext = { connectorName: 'c1', region: 'us-east-1', forwardedAt: '2026-11-25T00:00:00.000Z', flatten: false, maxRecordBytes: 1_000_000 };

const asSource = (r: Record<string, any>): SourceEvent => ({
  eventId: r.eventID,
  eventTime: Date.parse(r.eventTime) / 1000,
  eventName: r.eventName,
  eventSource: r.eventSource,
  cloudTrailEvent: JSON.stringify(r),
});

describe('buildRecord', () => {
  it('sends every real fixture record unchanged, plus dnifForwarder', () => {
    for (const fixture of fixtures) {
      const out = JSON.parse(buildRecord(asSource(fixture), ctx).json);
      const { dnifForwarder, ...rest } = out;
      expect(rest).toEqual(fixture);
      expect(dnifForwarder).toEqual({
        connectorName: 'c1',
        eventId: fixture.eventID,
        region: 'us-east-1',
        accountId: fixture.recipientAccountId ?? fixture.userIdentity?.accountId,
        forwardedAt: '2026-11-25T00:00:00.000Z',
      });
    }
  });

  it('still delivers an event whose CloudTrailEvent is not JSON, marked and with the raw text', () => {
    const out = buildRecord({ eventId: 'e-1', eventTime: 1700000000, eventName: 'PutObject', eventSource: 's3.amazonaws.com', cloudTrailEvent: '{"broken' }, ctx);
    expect(out.unparsed).toBe(true);
    const record = JSON.parse(out.json);
    expect(record).toMatchObject({ eventID: 'e-1', eventName: 'PutObject', eventTime: '2023-11-14T22:13:20Z', rawCloudTrailEvent: '{"broken' });
    expect(record.dnifForwarder.parseError).toMatch(/not a JSON object/);
  });

  it('shrinks an event larger than a batch, keeping its identity and saying what was removed', () => {
    const biggest = fixtures.reduce((a, b) => (JSON.stringify(a).length > JSON.stringify(b).length ? a : b));
    const limit = 2000;
    const out = buildRecord(asSource(biggest), { ...ctx, maxRecordBytes: limit });
    expect(out.truncated).toBe(true);
    expect(out.bytes).toBeLessThanOrEqual(limit);
    const record = JSON.parse(out.json);
    expect(record.eventID).toBe(biggest.eventID);
    expect(record.dnifForwarder.truncated.length).toBeGreaterThan(0);
  });

  it('flattens nested objects to dotted keys and arrays to JSON strings', () => {
    expect(flattenRecord({ a: { b: { c: 1 } }, list: [1, { x: 2 }], n: null })).toEqual({ 'a.b.c': 1, list: '[1,{"x":2}]', n: null });
    const out = JSON.parse(buildRecord(asSource(fixtures[0]), { ...ctx, flatten: true }).json);
    expect(out['userIdentity.type']).toBe(fixtures[0].userIdentity.type);
    expect(out['dnifForwarder.eventId']).toBe(fixtures[0].eventID);
  });
});

describe('buildRecord on a record the trail-file reader checked (no parse)', () => {
  const s3ctx = (over: Partial<RecordContext> = {}): RecordContext => ({ ...ctx, source: 's3', s3: { bucket: 'b"x', key: 'AWSLogs/1/Cloud Trail/k.json.gz' }, keyAccountId: '999988887777', ...over });
  const checked = (line: string, r: Record<string, any>): SourceEvent => ({
    ...asSource(r),
    cloudTrailEvent: undefined,
    checked: { bytes: Buffer.from(line, 'utf8'), recipientAccountId: typeof r.recipientAccountId === 'string' ? r.recipientAccountId : undefined },
  });
  const view = (r: OutgoingRecord) => ({ eventId: r.eventId, eventTime: r.eventTime, json: r.json, bytes: r.bytes, unparsed: r.unparsed, truncated: r.truncated });
  const parsed = (line: string, r: Record<string, any>): SourceEvent => ({ ...asSource(r), cloudTrailEvent: line, record: r });

  it('gives byte for byte the JSON of the parsed path, for every fixture and context', () => {
    const contexts = [s3ctx(), s3ctx({ connectorName: 'other \u00e9', forwardedAt: '2026-12-02T01:02:03.004Z', region: 'eu-west-1' }), s3ctx({ source: undefined, s3: undefined })];
    for (const c of contexts) {
      fixtureLines.forEach((line, i) => {
        const fast = buildRecord(checked(line, fixtures[i]), c);
        const slow = buildRecord(parsed(line, fixtures[i]), c);
        expect(view(fast)).toEqual(view(slow));
        expect(fast.bytes).toBe(Buffer.byteLength(fast.json));
      });
    }
  });

  it('keeps a checked record as its bytes, and the HTTP body built from them equals the parsed path, byte for byte', () => {
    const c = s3ctx({ connectorName: 'conn \u00e9' });
    const fast = fixtureLines.map((line, i) => buildRecord(checked(line, fixtures[i]), c));
    const slow = fixtureLines.map((line, i) => buildRecord(parsed(line, fixtures[i]), c));
    expect(fast.every((r) => r.objectBytes !== undefined)).toBe(true);
    expect(slow.some((r) => r.objectBytes !== undefined)).toBe(false);
    for (const format of ['json', 'ndjson'] as const) {
      const sink = new HttpSink({ url: 'https://dnif.example/ingest', format, gzip: false, headers: {}, auth: { type: 'none' } } as never);
      expect(sink.encode(fast).equals(sink.encode(slow))).toBe(true);
    }
  });

  it('falls back to the parsed path when the record must be cut down, or its account comes from userIdentity', () => {
    const line = fixtureLines[0];
    const small = buildRecord(checked(line, fixtures[0]), s3ctx({ maxRecordBytes: 600 }));
    expect(small.truncated).toBe(true);
    expect(small.bytes).toBeLessThanOrEqual(600);
    const noAccount: Record<string, any> = { ...fixtures[0], userIdentity: { accountId: '123456789012' } };
    delete noAccount.recipientAccountId;
    const text = JSON.stringify(noAccount);
    const out = JSON.parse(buildRecord({ ...checked(text, noAccount), cloudTrailEvent: text }, s3ctx({ keyAccountId: undefined })).json);
    expect(out.dnifForwarder.accountId).toBe('123456789012');
  });
});

describe('toBatches', () => {
  const records = fixtures.map((f) => buildRecord(asSource(f), ctx));

  it('keeps order and bounds each batch by count and by bytes', () => {
    const maxBytes = 8000;
    const batches = toBatches(records, { maxEvents: 7, maxBytes });
    expect(batches.flat().map((r) => r.eventId)).toEqual(records.map((r) => r.eventId));
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(7);
      expect(bodyBytes(batch)).toBeLessThanOrEqual(maxBytes);
      // The JSON array body really is that long.
      expect(bodyBytes(batch)).toBe(Buffer.byteLength(`[${batch.map((r) => r.json).join(',')}]`));
    }
  });

  it('never makes an empty batch', () => {
    expect(toBatches([], { maxEvents: 5, maxBytes: 5000 })).toEqual([]);
  });
});
