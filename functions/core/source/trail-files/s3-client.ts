import { S3Client } from '@aws-sdk/client-s3';
import type { Connector } from '../../connector';
import { credentialsFor } from '../credentials';

const clients = new Map<string, S3Client>();

/**
 * One S3 client per connector identity: the connector's keys or role read the bucket, else the
 * function's own role (contract, "Second source"). Redirects follow a bucket in another region.
 */
export function s3ClientFor(connector: Connector): S3Client {
  const id = `${connector.name}|${connector.aws.accessKeyId ?? ''}|${connector.aws.secretAccessKey ? 'k' : ''}|${connector.aws.roleArn ?? ''}`;
  let client = clients.get(id);
  if (!client) {
    const region = connector.regions[0];
    client = new S3Client({ region, credentials: credentialsFor(connector.aws, region), followRegionRedirects: true });
    followBucketRegion(client);
    clients.set(id, client);
  }
  return client;
}

/** Bucket → region learnt from S3's answers, for every client of this process. */
const bucketRegions = new Map<string, string>();
type RedirectContext = { __s3RegionRedirect?: string };

/**
 * The SDK follows a 301 with `x-amz-bucket-region`; S3 answers a request signed for the wrong
 * region with 400 AuthorizationHeaderMalformed naming the right one in `Region` (a bucket in
 * another region, e.g. the log-archive account's, reached through one endpoint). Sign again for
 * that region, through the same hook the SDK's own redirect uses, and remember it per bucket.
 */
export function followBucketRegion(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const ctx = context as RedirectContext;
      const bucket = (args.input as { Bucket?: string }).Bucket;
      const known = bucket ? bucketRegions.get(bucket) : undefined;
      if (known && !ctx.__s3RegionRedirect) ctx.__s3RegionRedirect = known;
      try {
        return await next(args);
      } catch (err) {
        const e = err as { name?: string; Region?: unknown };
        if (e.name !== 'AuthorizationHeaderMalformed' || typeof e.Region !== 'string' || !e.Region || ctx.__s3RegionRedirect === e.Region) throw err;
        if (bucket) bucketRegions.set(bucket, e.Region);
        ctx.__s3RegionRedirect = e.Region;
        return next(args);
      }
    },
    { step: 'initialize', name: 'followBucketRegionOnMalformedAuthorization' },
  );
}

/** For tests that change the environment between cases. */
export function resetS3Clients(): void {
  clients.clear();
}
