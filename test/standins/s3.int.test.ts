import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
  type ListObjectsV2CommandInput,
} from '@aws-sdk/client-s3';
import { startS3, type ObjectCreated, type S3StandIn } from '../../standins/s3';
import { CredentialRegistry, type Principal } from '../../standins/sigv4';

const ACCOUNT = '111122223333';
const BUCKET = 'org-trail-logs';
const KMS_KEY = 'arn:aws:kms:eu-west-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('S3 stand-in', () => {
  const registry = new CredentialRegistry();
  const user = registry.createUser(ACCOUNT, 'reader');
  let s3: S3StandIn;
  const clients: S3Client[] = [];

  function client(p: Pick<Principal, 'accessKeyId' | 'secretAccessKey'> = user, region = 'eu-west-1', maxAttempts = 1) {
    // Only the endpoint, as production code gets it from AWS_ENDPOINT_URL_S3: no forcePathStyle.
    const c = new S3Client({ region, endpoint: s3.url, credentials: p, maxAttempts });
    clients.push(c);
    return c;
  }
  const text = async (c: S3Client, Key: string, extra: Partial<ConstructorParameters<typeof GetObjectCommand>[0]> = {}) => {
    const out = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key, ...extra }));
    return { out, body: await out.Body?.transformToString() };
  };

  beforeAll(async () => {
    s3 = await startS3({ registry, defaultRegion: 'eu-west-1' });
    s3.createBucket(BUCKET);
    s3.createBucket('kms-logs', { kmsKeyArn: KMS_KEY });
  });
  afterAll(async () => {
    clients.forEach((c) => c.destroy());
    await s3.close();
  });
  beforeEach(() => s3.reset());

  it('stores a PutObject and serves it back with S3 ETag, metadata and encryption headers, path-style', async () => {
    const c = client();
    const put = await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a b/c+d é.json', Body: 'hello', Metadata: { origin: 'test' }, ContentType: 'application/json' }));
    expect(put.ETag).toBe(`"${createHash('md5').update('hello').digest('hex')}"`);
    const { out, body } = await text(c, 'a b/c+d é.json');
    expect(body).toBe('hello');
    expect(out).toMatchObject({ ETag: put.ETag, ContentLength: 5, ContentType: 'application/json', Metadata: { origin: 'test' }, ServerSideEncryption: 'AES256' });
    expect(s3.keys(BUCKET)).toEqual(['a b/c+d é.json']);
    const log = s3.requestLog();
    expect(log.map((r) => [r.operation, r.key, r.status])).toEqual([
      ['PutObject', 'a b/c+d é.json', 200],
      ['GetObject', 'a b/c+d é.json', 200],
    ]);
    expect(s3.stats().operations).toEqual({ PutObject: 1, GetObject: 1 });
  });

  it('accepts the aws-chunked upload the SDK sends for a stream body and checks its CRC32 trailer', async () => {
    const c = client();
    const parts = [Buffer.alloc(70_000, 'x'), Buffer.from('tail')];
    await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'stream', Body: Readable.from(parts), ContentLength: 70_004 }));
    const stored = s3.getObject(BUCKET, 'stream');
    expect(stored?.body.equals(Buffer.concat(parts))).toBe(true);
    expect(stored?.checksum?.algorithm).toBe('crc32');
    expect(stored?.contentEncoding).toBeUndefined();
    // The SDK validates the returned checksum of a whole-object GET.
    const { out, body } = await text(c, 'stream', { ChecksumMode: 'ENABLED' });
    expect(body).toHaveLength(70_004);
    expect(out.ChecksumCRC32).toBe(stored?.checksum?.value);
  });

  it('serves byte ranges and refuses unsatisfiable ones with 416 InvalidRange', async () => {
    s3.putObject(BUCKET, 'r', '0123456789');
    const c = client();
    const part = await text(c, 'r', { Range: 'bytes=2-5' });
    expect(part.body).toBe('2345');
    expect(part.out.ContentRange).toBe('bytes 2-5/10');
    expect((await text(c, 'r', { Range: 'bytes=7-' })).body).toBe('789');
    expect((await text(c, 'r', { Range: 'bytes=-3' })).body).toBe('789');
    await expect(text(c, 'r', { Range: 'bytes=10-' })).rejects.toMatchObject({ name: 'InvalidRange', $metadata: { httpStatusCode: 416 } });
  });

  it('honours If-Match, so a reader can pin the version it was notified of', async () => {
    const o = s3.putObject(BUCKET, 'v', 'one');
    const c = client();
    expect((await text(c, 'v', { IfMatch: o.etag })).body).toBe('one');
    s3.putObject(BUCKET, 'v', 'two');
    await expect(text(c, 'v', { IfMatch: o.etag })).rejects.toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
  });

  it('answers HeadObject and DeleteObject; HEAD of a missing key is a bodiless 404', async () => {
    s3.putObject(BUCKET, 'h', 'abc', { metadata: { Signature: 'ff' } });
    const c = client();
    const head = await c.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'h' }));
    expect(head).toMatchObject({ ContentLength: 3, Metadata: { signature: 'ff' } });
    await c.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'h' }));
    await expect(c.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'h' }))).rejects.toMatchObject({ name: 'NotFound', $metadata: { httpStatusCode: 404 } });
  });

  it('lists with prefix, delimiter, max-keys, start-after and continuation tokens as S3 does', async () => {
    const keys = ['AWSLogs/1/CloudTrail/a', 'AWSLogs/1/CloudTrail/b', 'AWSLogs/1/CloudTrail-Digest/x', 'AWSLogs/2/CloudTrail/c', 'AWSLogs/3/x', 'other'];
    for (const k of keys) s3.putObject(BUCKET, k, k);
    const c = client();
    const list = (input: Partial<ListObjectsV2CommandInput>) => c.send(new ListObjectsV2Command({ Bucket: BUCKET, ...input }));

    const accounts = await list({ Prefix: 'AWSLogs/', Delimiter: '/' });
    expect(accounts.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['AWSLogs/1/', 'AWSLogs/2/', 'AWSLogs/3/']);
    expect(accounts).toMatchObject({ KeyCount: 3, IsTruncated: false, Delimiter: '/', Prefix: 'AWSLogs/' });
    expect(accounts.Contents).toBeUndefined();

    // Roll-ups count toward max-keys and the next page starts after the whole prefix.
    const first = await list({ Prefix: 'AWSLogs/', Delimiter: '/', MaxKeys: 2 });
    expect(first).toMatchObject({ KeyCount: 2, IsTruncated: true, MaxKeys: 2 });
    const second = await list({ Prefix: 'AWSLogs/', Delimiter: '/', MaxKeys: 2, ContinuationToken: first.NextContinuationToken });
    expect(second.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['AWSLogs/3/']);
    expect(second).toMatchObject({ IsTruncated: false, ContinuationToken: first.NextContinuationToken });

    // Byte order: `-` (0x2d) sorts before `/` (0x2f).
    const after = await list({ StartAfter: 'AWSLogs/1/CloudTrail-Digest/x' });
    expect(after.Contents?.map((o) => o.Key)).toEqual(['AWSLogs/1/CloudTrail/a', 'AWSLogs/1/CloudTrail/b', 'AWSLogs/2/CloudTrail/c', 'AWSLogs/3/x', 'other']);
    expect(after.Contents?.[0]).toMatchObject({ Size: 22, StorageClass: 'STANDARD', ETag: s3.getObject(BUCKET, 'AWSLogs/1/CloudTrail/a')?.etag });

    const all: string[] = [];
    for await (const page of paginateListObjectsV2({ client: c, pageSize: 2 }, { Bucket: BUCKET })) all.push(...(page.Contents ?? []).map((o) => o.Key as string));
    expect(all).toEqual(['AWSLogs/1/CloudTrail-Digest/x', 'AWSLogs/1/CloudTrail/a', 'AWSLogs/1/CloudTrail/b', 'AWSLogs/2/CloudTrail/c', 'AWSLogs/3/x', 'other']);

    // A key equal to the prefix is listed; start-after before the prefix does not widen it.
    s3.putObject(BUCKET, 'AWSLogs/2/', 'dir marker');
    expect((await list({ Prefix: 'AWSLogs/2/', StartAfter: 'AWSLogs/1/zzz' })).Contents?.map((o) => o.Key)).toEqual(['AWSLogs/2/', 'AWSLogs/2/CloudTrail/c']);
    expect((await list({ Prefix: 'AWSLogs/2/', StartAfter: 'AWSLogs/2/' })).Contents?.map((o) => o.Key)).toEqual(['AWSLogs/2/CloudTrail/c']);
    expect((await list({ Prefix: 'AWSLogs/9/' })).KeyCount).toBe(0);

    await expect(list({ ContinuationToken: 'forged' })).rejects.toMatchObject({ name: 'InvalidArgument', $metadata: { httpStatusCode: 400 } });
  });

  it('form-encodes listed keys when asked (encoding-type=url); the SDK v3 hands them back encoded', async () => {
    s3.putObject(BUCKET, 'p/with space+plus', 'x');
    const out = await client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'p/', EncodingType: 'url' }));
    expect(out.Contents?.map((o) => o.Key)).toEqual(['p/with+space%2Bplus']);
    const plain = await client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'p/' }));
    expect(plain.Contents?.map((o) => o.Key)).toEqual(['p/with space+plus']);
  });

  it('answers NoSuchKey, NoSuchBucket, AccessDenied and SignatureDoesNotMatch with S3 codes and statuses', async () => {
    const c = client();
    const err = await text(c, 'missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoSuchKey);
    expect(err).toMatchObject({ $metadata: { httpStatusCode: 404 }, Key: 'missing' });
    await expect(c.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' }))).rejects.toBeInstanceOf(NoSuchBucket);

    const denied = registry.createUser(ACCOUNT, 'no-read', { deniedActions: ['s3:GetObject', 's3:ListBucket'] });
    s3.putObject(BUCKET, 'k', 'v');
    await expect(text(client(denied), 'k')).rejects.toMatchObject({
      name: 'AccessDenied',
      message: `User: ${denied.userArn} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::${BUCKET}/k" because no identity-based policy allows the s3:GetObject action`,
      $metadata: { httpStatusCode: 403 },
    });
    await expect(client(denied).send(new ListObjectsV2Command({ Bucket: BUCKET }))).rejects.toMatchObject({ name: 'AccessDenied' });

    await expect(text(client({ ...user, secretAccessKey: 'wrong' }), 'k')).rejects.toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
    await expect(text(client({ accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' }), 'k')).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    await expect(text(client(user, 'us-east-1'), 'k')).rejects.toMatchObject({ name: 'AuthorizationHeaderMalformed', Region: 'eu-west-1' });
    // What a reader asks first to learn the bucket's region: answered from any region.
    expect((await client(user, 'us-east-1').send(new GetBucketLocationCommand({ Bucket: BUCKET }))).LocationConstraint).toBe('eu-west-1');
    expect(s3.stats().errors).toMatchObject({ NoSuchKey: 1, NoSuchBucket: 1, AccessDenied: 2, SignatureDoesNotMatch: 1, InvalidAccessKeyId: 1 });
  });

  it('needs kms:Decrypt to read an SSE-KMS object, and says so as S3 does; HeadObject does not', async () => {
    const noKms = registry.createUser(ACCOUNT, 'no-kms', { deniedActions: ['kms:Decrypt'] });
    s3.putObject('kms-logs', 'enc', 'secret');
    const c = client(noKms);
    await expect(c.send(new GetObjectCommand({ Bucket: 'kms-logs', Key: 'enc' }))).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining(`User: ${noKms.userArn} is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext`),
      $metadata: { httpStatusCode: 403 },
    });
    const head = await c.send(new HeadObjectCommand({ Bucket: 'kms-logs', Key: 'enc' }));
    expect(head).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY });
    const ok = await client().send(new GetObjectCommand({ Bucket: 'kms-logs', Key: 'enc' }));
    expect(await ok.Body?.transformToString()).toBe('secret');
  });

  it('injects 5xx answers the SDK retries, and resets part way through a body', async () => {
    s3.putObject(BUCKET, 'big', Buffer.alloc(200_000, 'y'));
    s3.injectFault({ kind: 'internal', status: 503, operation: 'GetObject' });
    const { body } = await text(client(user, 'eu-west-1', 2), 'big');
    expect(body).toHaveLength(200_000);
    expect(s3.stats()).toMatchObject({ faultsApplied: 1, errors: { SlowDown: 1 }, operations: { GetObject: 2 } });
    s3.injectFault({ kind: 'internal', operation: 'GetObject' });
    await expect(text(client(), 'big')).rejects.toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });

    s3.injectFault({ kind: 'reset', afterBytes: 50_000, key: 'big' });
    const out = await client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big' }));
    await expect(out.Body?.transformToByteArray()).rejects.toThrow();
    expect(s3.pendingFaults()).toBe(0);
  });

  it('serves a slow body in pieces', async () => {
    s3.putObject(BUCKET, 'slow', Buffer.alloc(10_000, 'z'));
    s3.injectFault({ kind: 'slow', delayMs: 20, chunkBytes: 2_000 });
    const started = Date.now();
    const out = await client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'slow' }));
    const seen: number[] = [];
    for await (const chunk of out.Body as AsyncIterable<Uint8Array>) seen.push(chunk.length);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
  });

  it('tampers with stored bytes behind S3 (ETag kept) and tells listeners about new objects', async () => {
    const seen: ObjectCreated[] = [];
    const off = s3.onObjectCreated((e) => seen.push(e));
    const o = s3.putObject(BUCKET, 't', 'original');
    await client().send(new PutObjectCommand({ Bucket: BUCKET, Key: 't2', Body: 'x' }));
    off();
    s3.putObject(BUCKET, 't3', 'unseen');
    expect(seen.map((e) => [e.object.key, e.bucket.name, e.eventName])).toEqual([
      ['t', BUCKET, 'ObjectCreated:Put'],
      ['t2', BUCKET, 'ObjectCreated:Put'],
    ]);
    expect(seen[1].principalId).toBe(`AWS:${user.userId}`);
    expect(seen[0].object.sequencer < seen[1].object.sequencer).toBe(true);

    s3.tamperObject(BUCKET, 't', (b) => Buffer.concat([b, Buffer.from('!')]));
    const { out, body } = await text(client(), 't');
    expect(body).toBe('original!');
    expect(out.ETag).toBe(o.etag);
  });
});
