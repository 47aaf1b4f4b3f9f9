import { CloudTrailClient, ListPublicKeysCommand } from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { brokenLink } from '../../../functions/core/digest/chain';
import { hashUncompressed, CorruptGzipError } from '../../../functions/core/digest/content-hash';
import { DigestFormatError, parseDigestFile, type DigestFile } from '../../../functions/core/digest/digest-file';
import { PublicKeyDirectory } from '../../../functions/core/digest/public-keys';
import { publicKeyFromDer, verifyDigestSignature } from '../../../functions/core/digest/signature';
import { dataSigningString } from '../../../functions/core/digest/signing-string';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const keyPair = () => generateKeyPairSync('rsa', { modulusLength: 2048 });

function digest(overrides: Partial<DigestFile> = {}): DigestFile {
  return {
    awsAccountId: '111122223333',
    digestStartTime: '2015-08-12T03:01:31Z',
    digestEndTime: '2015-08-12T04:01:31Z',
    digestS3Bucket: 'S3-bucket-name',
    digestS3Object: 'AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/12/111122223333_us-east-2_CloudTrail-Digest_us-east-2_20150812T040131Z.json.gz',
    digestPublicKeyFingerprint: '31e8b5433410dfb61a9dc45cc65b22ff',
    digestSignatureAlgorithm: 'SHA256withRSA',
    newestEventTime: null,
    oldestEventTime: null,
    previousDigestS3Bucket: 'S3-bucket-name',
    previousDigestS3Object: 'AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/12/prev.json.gz',
    previousDigestHashValue: 'aa'.repeat(32),
    previousDigestHashAlgorithm: 'SHA-256',
    previousDigestSignature: '6e8540b83c3a',
    logFiles: [],
    ...overrides,
  };
}

describe('data signing string', () => {
  it('is end time, bucket/key, content hash and previous signature on four lines, as AWS documents', () => {
    const d = digest();
    expect(dataSigningString(d, '4FF08D7C').split('\n')).toEqual([
      '2015-08-12T04:01:31Z',
      `S3-bucket-name/${d.digestS3Object}`,
      '4ff08d7c',
      '6e8540b83c3a',
    ]);
  });

  it('writes a missing previous signature (first digest of a chain) as null', () => {
    expect(dataSigningString(digest({ previousDigestSignature: null }), 'ab').endsWith('\nab\nnull')).toBe(true);
  });
});

describe('signature', () => {
  const { privateKey, publicKey } = keyPair();
  const pkcs1 = publicKey.export({ format: 'der', type: 'pkcs1' });
  const text = dataSigningString(digest(), sha256('{}'));
  const signatureHex = sign('sha256', Buffer.from(text), privateKey).toString('hex');

  it('verifies with the PKCS#1 DER key ListPublicKeys returns', () => {
    expect(verifyDigestSignature(text, signatureHex, publicKeyFromDer(pkcs1))).toBe(true);
  });

  it('also reads a SubjectPublicKeyInfo DER key', () => {
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    expect(verifyDigestSignature(text, signatureHex, publicKeyFromDer(spki))).toBe(true);
  });

  it('fails for another string, another key, a missing or non-hex signature', () => {
    const key = publicKeyFromDer(pkcs1);
    expect(verifyDigestSignature(text.replace('04:01:31', '04:01:32'), signatureHex, key)).toBe(false);
    expect(verifyDigestSignature(text, signatureHex, publicKeyFromDer(keyPair().publicKey.export({ format: 'der', type: 'pkcs1' })))).toBe(false);
    expect(verifyDigestSignature(text, undefined, key)).toBe(false);
    expect(verifyDigestSignature(text, 'zz' + signatureHex.slice(2), key)).toBe(false);
    expect(verifyDigestSignature(text, signatureHex.slice(1), key)).toBe(false);
  });
});

describe('hashUncompressed', () => {
  const json = JSON.stringify({ Records: [{ eventID: 'e1' }] });

  it('hashes the uncompressed content of a gzip body, split into any chunks', async () => {
    const gz = gzipSync(json);
    const chunks = [gz.subarray(0, 1), gz.subarray(1, 7), gz.subarray(7)];
    const h = await hashUncompressed(Readable.from(chunks));
    expect(h).toEqual({ sha256Hex: sha256(json), bytes: json.length, content: undefined });
  });

  it('hashes a body that is not gzip as it is, and keeps content when asked', async () => {
    const h = await hashUncompressed(Readable.from([Buffer.from(json)]), { keep: true });
    expect(h.sha256Hex).toBe(sha256(json));
    expect(h.content?.toString()).toBe(json);
  });

  it('reports corrupt gzip as CorruptGzipError', async () => {
    const gz = gzipSync(json);
    const broken = Buffer.concat([gz.subarray(0, 12), Buffer.alloc(20, 7)]);
    await expect(hashUncompressed(Readable.from([broken]))).rejects.toBeInstanceOf(CorruptGzipError);
  });

  it('streams: 64 MB of uncompressed content without holding it', async () => {
    const block = gzipSync(Buffer.alloc(1 << 20, 'a'));
    const expected = createHash('sha256');
    for (let i = 0; i < 64; i++) expected.update(Buffer.alloc(1 << 20, 'a'));
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const source = (async function* () {
      // 64 concatenated gzip members: gunzip reads them as one stream, as CloudTrail's consumers do.
      for (let i = 0; i < 64; i++) {
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
        yield block;
      }
    })();
    const h = await hashUncompressed(source);
    expect(h.bytes).toBe(64 << 20);
    expect(h.sha256Hex).toBe(expected.digest('hex'));
    expect(peak).toBeLessThan(32 << 20);
  });
});

describe('parseDigestFile', () => {
  it('reads a digest and names the first bad field', () => {
    expect(parseDigestFile(JSON.stringify(digest())).awsAccountId).toBe('111122223333');
    const { digestEndTime: _drop, ...noEnd } = digest();
    expect(() => parseDigestFile(JSON.stringify(noEnd))).toThrow(/digestEndTime/);
    expect(() => parseDigestFile(JSON.stringify({ ...digest(), logFiles: [{ s3Bucket: 'b', s3Object: 'k', hashValue: 'xyz' }] }))).toThrow(
      /logFiles\.0\.hashValue/,
    );
    expect(() => parseDigestFile('{not json')).toThrow(DigestFormatError);
  });
});

describe('brokenLink', () => {
  const d = digest();
  const good = { found: true as const, signatureHex: d.previousDigestSignature ?? '', contentSha256Hex: 'aa'.repeat(32) };

  it('holds when the previous digest has the recorded signature and hash', () => {
    expect(brokenLink(d, good)).toBeUndefined();
  });

  it('breaks when the previous digest is missing, re-signed or changed', () => {
    expect(brokenLink(d, { found: false })).toMatch(/missing/);
    expect(brokenLink(d, { ...good, signatureHex: 'ff' })).toMatch(/signature/);
    expect(brokenLink(d, { ...good, contentSha256Hex: 'bb'.repeat(32) })).toMatch(/SHA-256/);
  });

  it('has nothing to check at the start of a chain', () => {
    expect(brokenLink(digest({ previousDigestS3Object: null, previousDigestSignature: null }), { found: false })).toBeUndefined();
  });
});

describe('PublicKeyDirectory', () => {
  it('asks each region once, follows pages, and finds keys by fingerprint', async () => {
    const a = keyPair().publicKey.export({ format: 'der', type: 'pkcs1' });
    const b = keyPair().publicKey.export({ format: 'der', type: 'pkcs1' });
    const mock = mockClient(CloudTrailClient);
    mock
      .on(ListPublicKeysCommand, { NextToken: undefined })
      .resolves({ PublicKeyList: [{ Fingerprint: 'AA11', Value: a }], NextToken: 't2' })
      .on(ListPublicKeysCommand, { NextToken: 't2' })
      .resolves({ PublicKeyList: [{ Fingerprint: 'bb22', Value: b }] });
    const client = new CloudTrailClient({ region: 'us-east-1' });
    const keys = new PublicKeyDirectory(() => client, { start: new Date(0), end: new Date() });
    expect(await keys.find('eu-west-1', 'aa11')).toBeDefined();
    expect(await keys.find('eu-west-1', 'BB22')).toBeDefined();
    expect(await keys.find('eu-west-1', 'cc33')).toBeUndefined();
    expect(mock.commandCalls(ListPublicKeysCommand)).toHaveLength(2);
    await keys.find('us-east-2', 'aa11');
    expect(mock.commandCalls(ListPublicKeysCommand)).toHaveLength(4);
    mock.restore();
  });
});
