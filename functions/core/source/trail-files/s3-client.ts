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
    clients.set(id, client);
  }
  return client;
}

/** For tests that change the environment between cases. */
export function resetS3Clients(): void {
  clients.clear();
}
