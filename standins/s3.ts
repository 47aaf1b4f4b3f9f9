/**
 * Amazon S3 over its REST/XML protocol as @aws-sdk/client-s3 speaks it to an IP endpoint:
 * path-style URLs (`http://127.0.0.1:PORT/<bucket>/<key>`), SigV4 checked with S3's rules
 * (path signed as sent, `x-amz-content-sha256` incl. UNSIGNED-PAYLOAD and aws-chunked
 * uploads), IAM actions per access key, bucket regions, SSE-KMS reads that need
 * kms:Decrypt, and injectable faults (5xx, a reset mid-body, slow bodies).
 *
 * Operations: PutObject, GetObject (Range, If-Match/If-None-Match), HeadObject, DeleteObject,
 * ListObjectsV2, HeadBucket, GetBucketLocation. Objects live in memory (see s3-store.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { FaultQueue } from './fault-queue';
import { closeServer, header, listenLoopback, readBody, sleep } from './http';
import { decodePutPayload } from './s3-payload';
import { InvalidContinuationToken, S3Store, type BucketInfo, type PutOptions, type StoredObject } from './s3-store';
import { S3Error, listObjectsV2Xml, requestIds, sendS3Error, sendXml } from './s3-xml';
import { authorize, parseListQuery, parseRange, userMetadata } from './s3-requests';
import type { CredentialRegistry, Principal } from './sigv4';

export { S3Error } from './s3-xml';
export type { BucketInfo, PutOptions, StoredObject } from './s3-store';

export type S3Operation = 'PutObject' | 'GetObject' | 'HeadObject' | 'DeleteObject' | 'ListObjectsV2' | 'HeadBucket' | 'GetBucketLocation';

export type S3Fault =
  /** 500 InternalError, or 503 SlowDown. */
  | { kind: 'internal'; status?: 500 | 503 }
  /** GetObject: headers and `afterBytes` of the body (default half), then the socket is destroyed. Others: destroyed at once. */
  | { kind: 'reset'; afterBytes?: number }
  /** GetObject: the body in `chunkBytes` pieces (default 64 KiB), `delayMs` apart. */
  | { kind: 'slow'; delayMs: number; chunkBytes?: number }
  /** Answer normally, `ms` later. */
  | { kind: 'delay'; ms: number };

export interface S3FaultTarget {
  /** How many matching requests get the fault (default 1). */
  times?: number;
  operation?: S3Operation;
  bucket?: string;
  /** Exact key, or a key prefix. */
  key?: string;
  keyPrefix?: string;
}

export interface S3RequestRecord {
  operation: S3Operation | 'Unknown';
  bucket?: string;
  key?: string;
  range?: string;
  accessKeyId?: string;
  status: number;
}

export interface S3Stats {
  /** Every HTTP request received. */
  requests: number;
  /** Authenticated requests per operation (denied and faulted ones included). */
  operations: Partial<Record<S3Operation, number>>;
  /** Error answers per S3 error code. */
  errors: Record<string, number>;
  faultsApplied: number;
  /** Object body bytes sent by GetObject. */
  bytesServed: number;
}

export interface ObjectCreated {
  bucket: BucketInfo;
  object: StoredObject;
  eventName: 'ObjectCreated:Put';
  /** Who wrote it (`AWS:<userId>`), as S3 notifications report. */
  principalId: string;
  eventTime: Date;
}

export interface S3Options {
  registry: CredentialRegistry;
  /** Region of buckets created without one. Default us-east-1. */
  defaultRegion?: string;
  /** Owner account of buckets created without one. Default 111122223333. */
  defaultAccountId?: string;
}

export interface S3StandIn {
  url: string;
  createBucket(name: string, opts?: Partial<Omit<BucketInfo, 'name'>>): BucketInfo;
  bucket(name: string): BucketInfo | undefined;
  /** Store an object directly (no SigV4), as a trail would; fires onObjectCreated. */
  putObject(bucket: string, key: string, body: Buffer | string, opts?: PutOptions): StoredObject;
  /** Same, from a stream (e.g. a gzip pipeline), holding only the stored bytes. */
  putObjectStream(bucket: string, key: string, source: AsyncIterable<Uint8Array | string>, opts?: PutOptions): Promise<StoredObject>;
  getObject(bucket: string, key: string): StoredObject | undefined;
  deleteObject(bucket: string, key: string): boolean;
  /** Keys in S3 order. */
  keys(bucket: string, prefix?: string): string[];
  /** Change stored bytes behind S3's back (ETag kept unless recomputeEtag). */
  tamperObject(bucket: string, key: string, mutate: (body: Buffer) => Buffer, opts?: { recomputeEtag?: boolean }): StoredObject;
  /** Called for every stored object (SDK PutObject or putObject); returns an unsubscribe. */
  onObjectCreated(listener: (e: ObjectCreated) => void): () => void;
  injectFault(fault: S3Fault & S3FaultTarget): void;
  pendingFaults(): number;
  clearFaults(): void;
  stats(): S3Stats;
  /** The last 10,000 requests, oldest first. */
  requestLog(): readonly S3RequestRecord[];
  resetStats(): void;
  /** Drop every object (buckets stay), faults and stats. */
  reset(): void;
  close(): Promise<void>;
}

const LOG_LIMIT = 10_000;

export async function startS3(opts: S3Options): Promise<S3StandIn> {
  const defaultRegion = opts.defaultRegion ?? 'us-east-1';
  const defaultAccountId = opts.defaultAccountId ?? '111122223333';
  const store = new S3Store();
  const listeners = new Set<(e: ObjectCreated) => void>();
  const faults = new FaultQueue<S3Fault & S3FaultTarget>();
  let stats: S3Stats = { requests: 0, operations: {}, errors: {}, faultsApplied: 0, bytesServed: 0 };
  let log: S3RequestRecord[] = [];
  const resetStats = () => {
    stats = { requests: 0, operations: {}, errors: {}, faultsApplied: 0, bytesServed: 0 };
    log = [];
  };

  function store_(bucket: string, key: string, body: Buffer, putOpts: PutOptions, principalId: string): StoredObject {
    const object = store.put(bucket, key, body, putOpts);
    const info = store.bucket(bucket) as BucketInfo;
    for (const l of listeners) l({ bucket: info, object, eventName: 'ObjectCreated:Put', principalId, eventTime: new Date() });
    return object;
  }

  function takeFault(operation: S3Operation, bucket?: string, key?: string): S3Fault | undefined {
    const f = faults.take(
      (f) =>
        (!f.operation || f.operation === operation) &&
        (!f.bucket || f.bucket === bucket) &&
        (f.key === undefined || f.key === key) &&
        (f.keyPrefix === undefined || (key ?? '').startsWith(f.keyPrefix)),
    );
    if (f) stats.faultsApplied++;
    return f;
  }

  function objectHeaders(o: StoredObject, withChecksum: boolean): Record<string, string> {
    const h: Record<string, string> = {
      'Last-Modified': o.lastModified.toUTCString(),
      ETag: o.etag,
      'Content-Type': o.contentType,
      'Accept-Ranges': 'bytes',
      'x-amz-server-side-encryption': o.kmsKeyArn ? 'aws:kms' : 'AES256',
    };
    if (o.contentEncoding) h['Content-Encoding'] = o.contentEncoding;
    if (o.kmsKeyArn) h['x-amz-server-side-encryption-aws-kms-key-id'] = o.kmsKeyArn;
    for (const [k, v] of Object.entries(o.metadata)) h[`x-amz-meta-${k}`] = v;
    if (withChecksum && o.checksum) {
      h[`x-amz-checksum-${o.checksum.algorithm}`] = o.checksum.value;
      h['x-amz-checksum-type'] = 'FULL_OBJECT';
    }
    return h;
  }

  async function sendBody(res: ServerResponse, body: Buffer, fault: S3Fault | undefined): Promise<void> {
    if (fault?.kind === 'reset') {
      const n = Math.min(body.length, fault.afterBytes ?? Math.floor(body.length / 2));
      stats.bytesServed += n;
      res.write(body.subarray(0, n), () => res.destroy());
      return;
    }
    if (fault?.kind === 'slow') {
      const step = fault.chunkBytes ?? 64 * 1024;
      for (let i = 0; i < body.length && !res.destroyed; i += step) {
        res.write(body.subarray(i, i + step));
        stats.bytesServed += Math.min(step, body.length - i);
        await sleep(fault.delayMs);
      }
      res.end();
      return;
    }
    stats.bytesServed += body.length;
    res.end(body);
  }

  async function getObject(req: IncomingMessage, res: ServerResponse, o: StoredObject, fault: S3Fault | undefined): Promise<number> {
    const ifMatch = header(req, 'if-match');
    if (ifMatch !== undefined && ifMatch !== '*' && !ifMatch.split(',').map((s) => s.trim()).includes(o.etag)) {
      throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412, { Condition: 'If-Match' });
    }
    const ifNoneMatch = header(req, 'if-none-match');
    if (ifNoneMatch !== undefined && (ifNoneMatch === '*' || ifNoneMatch.split(',').map((s) => s.trim()).includes(o.etag))) {
      res.writeHead(304, { ETag: o.etag, 'Last-Modified': o.lastModified.toUTCString() });
      res.end();
      return 304;
    }
    const range = parseRange(header(req, 'range'), o.body.length);
    const headOnly = req.method === 'HEAD';
    const wantChecksum = header(req, 'x-amz-checksum-mode') === 'ENABLED' && !range;
    const slice = range ? o.body.subarray(range.start, range.end + 1) : o.body;
    const headers: Record<string, string> = { ...objectHeaders(o, wantChecksum), 'Content-Length': String(slice.length), ...ids() };
    if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${o.body.length}`;
    const status = range ? 206 : 200;
    res.writeHead(status, headers);
    if (headOnly) res.end();
    else await sendBody(res, slice, fault);
    return status;
  }

  const ids = () => {
    const { requestId, hostId } = requestIds();
    return { 'x-amz-request-id': requestId, 'x-amz-id-2': hostId };
  };

  async function handle(req: IncomingMessage, res: ServerResponse, record: S3RequestRecord): Promise<number> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://placeholder');
    const [, bucketSegment = '', ...keySegments] = url.pathname.split('/');
    const bucketName = decodeURIComponent(bucketSegment);
    const key = keySegments.length > 0 ? decodeURIComponent(keySegments.join('/')) : undefined;
    const method = req.method ?? 'GET';
    const operation = operationOf(method, key, url.searchParams);
    Object.assign(record, { operation, bucket: bucketName || undefined, key, range: header(req, 'range') });
    if (operation === 'Unknown') throw new S3Error('NotImplemented', `The stand-in does not implement ${method} ${url.pathname}${url.search}`, 501);

    // GetBucketLocation answers whatever region the request was signed for, as S3 does.
    const expectedRegion = operation === 'GetBucketLocation' ? undefined : store.bucket(bucketName)?.region;
    const principal: Principal = await authorize(opts.registry, req, raw, expectedRegion);
    record.accessKeyId = principal.accessKeyId;
    stats.operations[operation] = (stats.operations[operation] ?? 0) + 1;

    const bucket = store.bucket(bucketName);
    if (!bucket) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: bucketName });
    const objectArn = `arn:aws:s3:::${bucketName}/${key ?? ''}`;
    const must = (action: string, resource: string) => {
      if (!opts.registry.isAllowed(principal.accessKeyId, action)) {
        throw new S3Error(
          'AccessDenied',
          `User: ${principal.userArn} is not authorized to perform: ${action} on resource: "${resource}" because no identity-based policy allows the ${action} action`,
          403,
        );
      }
    };
    const kmsDenied = (keyArn: string, action: string) =>
      new S3Error(
        'AccessDenied',
        `User: ${principal.userArn} is not authorized to perform: ${action} on the resource associated with this ciphertext because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access`,
        403,
        { KMSKeyArn: keyArn },
      );

    const fault = takeFault(operation, bucketName, key);
    if (fault?.kind === 'delay') await sleep(fault.ms);
    if (fault?.kind === 'internal') {
      throw fault.status === 503
        ? new S3Error('SlowDown', 'Please reduce your request rate.', 503)
        : new S3Error('InternalError', 'We encountered an internal error. Please try again.', 500);
    }
    if (fault?.kind === 'reset' && operation !== 'GetObject') {
      res.destroy();
      return 0;
    }

    switch (operation) {
      case 'HeadBucket':
        must('s3:ListBucket', `arn:aws:s3:::${bucketName}`);
        res.writeHead(200, { 'x-amz-bucket-region': bucket.region, ...ids() });
        res.end();
        return 200;
      case 'GetBucketLocation':
        must('s3:GetBucketLocation', `arn:aws:s3:::${bucketName}`);
        // us-east-1 is the empty constraint.
        sendXml(res, 200, `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${bucket.region === 'us-east-1' ? '' : bucket.region}</LocationConstraint>`);
        return 200;
      case 'ListObjectsV2': {
        must('s3:ListBucket', `arn:aws:s3:::${bucketName}`);
        const { query, encodingType } = parseListQuery(url.searchParams);
        let page;
        try {
          page = store.list(bucketName, query);
        } catch (e) {
          if (e instanceof InvalidContinuationToken) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', 400, { ArgumentName: 'continuation-token' });
          throw e;
        }
        sendXml(res, 200, listObjectsV2Xml(bucketName, query, page, encodingType));
        return 200;
      }
      case 'PutObject': {
        must('s3:PutObject', objectArn);
        const { body, checksum } = decodePutPayload(req.headers, raw);
        const sse = header(req, 'x-amz-server-side-encryption');
        const kmsKeyArn =
          sse === 'aws:kms' ? (header(req, 'x-amz-server-side-encryption-aws-kms-key-id') ?? `arn:aws:kms:${bucket.region}:${bucket.accountId}:alias/aws/s3`) : bucket.kmsKeyArn;
        if (kmsKeyArn && !opts.registry.isAllowed(principal.accessKeyId, 'kms:GenerateDataKey')) throw kmsDenied(kmsKeyArn, 'kms:GenerateDataKey');
        const encoding = (header(req, 'content-encoding') ?? '').split(',').map((s) => s.trim()).filter((s) => s && s !== 'aws-chunked');
        const o = store_(bucketName, key as string, body, {
          metadata: userMetadata(req.headers),
          contentType: header(req, 'content-type'),
          contentEncoding: encoding.length > 0 ? encoding.join(',') : undefined,
          kmsKeyArn,
          checksum,
        }, `AWS:${principal.userId}`);
        const h: Record<string, string> = { ETag: o.etag, 'x-amz-server-side-encryption': kmsKeyArn ? 'aws:kms' : 'AES256', ...ids() };
        if (kmsKeyArn) h['x-amz-server-side-encryption-aws-kms-key-id'] = kmsKeyArn;
        if (checksum) h[`x-amz-checksum-${checksum.algorithm}`] = checksum.value;
        res.writeHead(200, h);
        res.end();
        return 200;
      }
      case 'DeleteObject':
        must('s3:DeleteObject', objectArn);
        store.delete(bucketName, key as string);
        res.writeHead(204, ids());
        res.end();
        return 204;
      case 'GetObject':
      case 'HeadObject': {
        must('s3:GetObject', objectArn);
        const o = store.get(bucketName, key as string);
        if (!o) {
          // Without s3:ListBucket, S3 will not say whether a key exists.
          if (!opts.registry.isAllowed(principal.accessKeyId, 's3:ListBucket')) throw new S3Error('AccessDenied', 'Access Denied', 403);
          throw new S3Error('NoSuchKey', 'The specified key does not exist.', 404, { Key: key as string });
        }
        if (operation === 'GetObject' && o.kmsKeyArn && !opts.registry.isAllowed(principal.accessKeyId, 'kms:Decrypt')) throw kmsDenied(o.kmsKeyArn, 'kms:Decrypt');
        return getObject(req, res, o, fault);
      }
    }
  }

  const server = createServer((req, res) => {
    stats.requests++;
    const record: S3RequestRecord = { operation: 'Unknown', status: 0 };
    const finish = (status: number) => {
      record.status = status;
      log.push(record);
      if (log.length > LOG_LIMIT) log = log.slice(-LOG_LIMIT);
    };
    handle(req, res, record).then(finish, (err: unknown) => {
      const e = err instanceof S3Error ? err : new S3Error('InternalError', String(err), 500);
      stats.errors[e.code] = (stats.errors[e.code] ?? 0) + 1;
      finish(e.status);
      if (res.headersSent) res.destroy();
      else sendS3Error(res, e, req.method ?? 'GET');
    });
  });
  const port = await listenLoopback(server);

  return {
    url: `http://127.0.0.1:${port}`,
    createBucket: (name, b = {}) => store.createBucket({ name, region: b.region ?? defaultRegion, accountId: b.accountId ?? defaultAccountId, kmsKeyArn: b.kmsKeyArn }),
    bucket: (name) => store.bucket(name),
    putObject: (bucket, key, body, putOpts = {}) => store_(bucket, key, Buffer.from(body), putOpts, 'AWS:stand-in'),
    async putObjectStream(bucket, key, source, putOpts = {}) {
      const chunks: Buffer[] = [];
      for await (const c of source) chunks.push(Buffer.from(c));
      return store_(bucket, key, Buffer.concat(chunks), putOpts, 'AWS:stand-in');
    },
    getObject: (bucket, key) => store.get(bucket, key),
    deleteObject: (bucket, key) => store.delete(bucket, key),
    keys: (bucket, prefix) => store.keys(bucket, prefix),
    tamperObject: (bucket, key, mutate, t = {}) => store.tamper(bucket, key, mutate, t.recomputeEtag),
    onObjectCreated(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    injectFault: (fault) => faults.inject(fault),
    pendingFaults: () => faults.pending(),
    clearFaults: () => faults.clear(),
    stats: () => structuredClone(stats),
    requestLog: () => [...log],
    resetStats,
    reset() {
      store.clear();
      faults.clear();
      resetStats();
    },
    close: () => closeServer(server),
  };
}

function operationOf(method: string, key: string | undefined, q: URLSearchParams): S3Operation | 'Unknown' {
  if (key === undefined || key === '') {
    if (method === 'GET' && q.get('list-type') === '2') return 'ListObjectsV2';
    if (method === 'GET' && q.has('location')) return 'GetBucketLocation';
    if (method === 'HEAD') return 'HeadBucket';
    return 'Unknown';
  }
  // Sub-resources (?acl, ?tagging, ?uploads, …) are other operations the stand-in lacks.
  const sub = [...q.keys()].filter((k) => k !== 'x-id' && !k.startsWith('response-'));
  if (sub.length > 0) return 'Unknown';
  return ({ PUT: 'PutObject', GET: 'GetObject', HEAD: 'HeadObject', DELETE: 'DeleteObject' } as const)[method as 'PUT'] ?? 'Unknown';
}
