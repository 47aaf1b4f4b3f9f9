/** Parsing the function URL request and scrubbing what leaves: unit level. */
import { parseConnector } from '../../functions/core/connector';
import { MAX_BODY_BYTES, parseRequest } from '../../functions/test-connection/request';
import { REDACTED, Scrubber } from '../../functions/core/scrub';
import { urlEvent } from '../../standins/lambda';

describe('parseRequest', () => {
  it('GET → the stored connector; POST with JSON → the candidate', () => {
    expect(parseRequest(urlEvent('GET'))).toEqual({ kind: 'stored' });
    expect(parseRequest(urlEvent('POST', { a: 1 }))).toEqual({ kind: 'candidate', connector: { a: 1 } });
  });

  it('accepts exactly the limit, refuses one byte more (counted after base64 decoding)', () => {
    const fill = (n: number) => JSON.stringify({ p: 'x'.repeat(n - 8) });
    expect(Buffer.byteLength(fill(MAX_BODY_BYTES))).toBe(MAX_BODY_BYTES);
    expect(parseRequest(urlEvent('POST', fill(MAX_BODY_BYTES))).kind).toBe('candidate');
    expect(parseRequest(urlEvent('POST', fill(MAX_BODY_BYTES), { base64: true })).kind).toBe('candidate');
    for (const base64 of [false, true]) {
      const r = parseRequest(urlEvent('POST', fill(MAX_BODY_BYTES + 1), { base64 }));
      expect(r).toMatchObject({ kind: 'invalid', httpStatus: 400, failure: { code: 'RequestTooLarge', field: '(body)' } });
    }
  });

  it('multi-byte characters count as bytes', () => {
    const body = JSON.stringify({ p: 'é'.repeat(MAX_BODY_BYTES / 2) });
    expect(parseRequest(urlEvent('POST', body))).toMatchObject({ kind: 'invalid', failure: { code: 'RequestTooLarge' } });
  });

  it('refuses bodies that are not base64 when marked so, not UTF-8, or not JSON, without quoting them', () => {
    const notBase64 = { ...urlEvent('POST'), body: '{"not": "base64"}', isBase64Encoded: true };
    expect(parseRequest(notBase64)).toMatchObject({ failure: { code: 'BadRequest', message: 'The request body is marked base64 but is not valid base64' } });
    const latin1 = { ...urlEvent('POST'), body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64'), isBase64Encoded: true };
    expect(parseRequest(latin1)).toMatchObject({ failure: { code: 'BadRequest', message: 'The request body is not UTF-8 text' } });
    const r = parseRequest(urlEvent('POST', '{"awsSecretAccessKey": "abc'));
    expect(r).toMatchObject({ failure: { code: 'BadRequest', message: 'The request body is not valid JSON' } });
    expect(JSON.stringify(r)).not.toContain('abc');
  });

  it('a UTF-8 byte order mark is tolerated', () => {
    expect(parseRequest(urlEvent('POST', '\uFEFF{"a":1}'))).toEqual({ kind: 'candidate', connector: { a: 1 } });
  });

  it('empty or blank POST bodies are refused', () => {
    for (const body of [undefined, '', '   \n']) {
      expect(parseRequest(urlEvent('POST', body))).toMatchObject({ failure: { code: 'BadRequest', message: 'The request body is empty' } });
    }
  });

  it('other methods → 405 with Allow', () => {
    expect(parseRequest(urlEvent('OPTIONS'))).toMatchObject({ kind: 'invalid', httpStatus: 405, allow: 'GET, POST', failure: { code: 'MethodNotAllowed' } });
  });
});

describe('Scrubber', () => {
  const connector = parseConnector({
    connectorName: 'scrub',
    awsAccessKeyId: 'AKIASCRUBTESTKEY0001',
    awsSecretAccessKey: 'scrub/secret+key"with\\odd chars',
    awsSessionToken: 'session-token-123',
    awsRegion: 'us-east-1',
    dnif: { url: 'https://dnif.example.net/events', auth: { type: 'basic', username: 'dnif-user', password: 'pass-word-1' }, headers: { 'X-Api-Key': 'api-key-999' } },
  });

  it('hides every secret of the connector, extra header values included, in text and deep in objects (keys untouched)', () => {
    const s = new Scrubber().addConnector(connector);
    expect(s.text('key AKIASCRUBTESTKEY0001 / pass-word-1 / api-key-999 / session-token-123 / dnif-user')).toBe(
      `key ${REDACTED} / ${REDACTED} / ${REDACTED} / ${REDACTED} / dnif-user`,
    );
    const deep = s.deep({ 'pass-word-1': ['x pass-word-1 y', { n: 1, t: true, v: 'scrub/secret+key"with\\odd chars' }] });
    expect(deep).toEqual({ 'pass-word-1': [`x ${REDACTED} y`, { n: 1, t: true, v: REDACTED }] });
  });

  it('also hides a secret as it appears inside JSON text', () => {
    const s = new Scrubber().addConnector(connector);
    const quoted = JSON.stringify({ k: 'scrub/secret+key"with\\odd chars' });
    expect(s.text(quoted)).toBe(`{"k":"${REDACTED}"}`);
  });

  it('hides a longer secret whole when it contains a shorter one', () => {
    const s = new Scrubber().add(['abcd', 'abcdefgh']);
    expect(s.text('abcdefgh abcd')).toBe(`${REDACTED} ${REDACTED}`);
  });

  it('ignores values too short to be secrets', () => {
    expect(new Scrubber().add(['a', 'ab', 'abc']).text('a cab')).toBe('a cab');
  });

  it('for an invalid candidate, hides every string it holds', () => {
    const s = new Scrubber().addAllStringsOf({ a: 'first-value', b: [{ c: 'second-value' }], d: 42 });
    expect(s.text('first-value second-value 42')).toBe(`${REDACTED} ${REDACTED} 42`);
  });
});
