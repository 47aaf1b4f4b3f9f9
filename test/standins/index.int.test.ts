import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { parseConnector } from '../../functions/core/connector';
import { generateEvents, startStandIns, type StandIns } from '../../standins';

describe('startStandIns', () => {
  let s: StandIns;
  let restoreEnv: () => void;

  beforeAll(async () => {
    s = await startStandIns({ region: 'eu-west-1' });
    restoreEnv = s.applyEnv();
  });
  afterAll(async () => {
    restoreEnv();
    await s.stop();
  });

  it('routes plain SDK clients (no endpoint option) to the stand-ins through the env', async () => {
    const ct = new CloudTrailClient({ maxAttempts: 1 });
    const sm = new SecretsManagerClient({ maxAttempts: 1 });
    const sts = new STSClient({ maxAttempts: 1 });
    const ddb = new DynamoDBClient({ maxAttempts: 1 });
    try {
      s.cloudtrail.addEvents('eu-west-1', generateEvents({ count: 3, region: 'eu-west-1', accountId: s.accountId, from: Date.now() - 60_000, to: Date.now() }));
      expect((await ct.send(new LookupEventsCommand({}))).Events).toHaveLength(3);
      expect(s.cloudtrail.stats().regions['eu-west-1'].requestTimes).toHaveLength(1);

      s.putConnectorSecret();
      const secret = await sm.send(new GetSecretValueCommand({ SecretId: process.env.SECRET_ID }));
      expect(JSON.parse(secret.SecretString as string)).toEqual(s.connector());

      expect(await sts.send(new GetCallerIdentityCommand({}))).toMatchObject({ Account: s.accountId, Arn: s.functionRole.userArn });
      const { Table } = await ddb.send(new DescribeTableCommand({ TableName: process.env.CHECKPOINT_TABLE }));
      expect(Table?.TableStatus).toBe('ACTIVE');
    } finally {
      [ct, sm, sts, ddb].forEach((c) => c.destroy());
    }
  });

  it('routes a plain S3Client through AWS_ENDPOINT_URL_S3 alone: path-style without forcePathStyle', async () => {
    const client = new S3Client({ maxAttempts: 1 });
    try {
      s.s3.createBucket('trail-bucket');
      s.s3.putObject('trail-bucket', 'AWSLogs/a b.json.gz', 'x');
      const out = await client.send(new GetObjectCommand({ Bucket: 'trail-bucket', Key: 'AWSLogs/a b.json.gz' }));
      expect(await out.Body?.transformToString()).toBe('x');
      expect((await client.send(new ListObjectsV2Command({ Bucket: 'trail-bucket' }))).KeyCount).toBe(1);
      expect(s.s3.requestLog().map((r) => [r.operation, r.bucket, r.accessKeyId])).toEqual([
        ['GetObject', 'trail-bucket', s.functionRole.accessKeyId],
        ['ListObjectsV2', 'trail-bucket', s.functionRole.accessKeyId],
      ]);
    } finally {
      client.destroy();
    }
  });

  it('routes a plain SQSClient through AWS_ENDPOINT_URL_SQS; queue URLs point at the stand-in', async () => {
    const client = new SQSClient({ maxAttempts: 1 });
    try {
      const q = s.sqs.createQueue('trail-files');
      expect(q.arn).toBe(`arn:aws:sqs:eu-west-1:${s.accountId}:trail-files`);
      expect((await client.send(new GetQueueUrlCommand({ QueueName: 'trail-files' }))).QueueUrl).toBe(q.url);
    } finally {
      client.destroy();
    }
  });

  it('refuses requests signed for a region that does not exist, as AWS words it', async () => {
    const ct = new CloudTrailClient({ region: 'us-east-9', maxAttempts: 1 });
    const sts = new STSClient({ region: 'us-east-9', maxAttempts: 1 });
    try {
      await expect(ct.send(new LookupEventsCommand({}))).rejects.toMatchObject({
        name: 'InvalidSignatureException',
        message: 'Credential should be scoped to a valid region.',
      });
      await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    } finally {
      [ct, sts].forEach((c) => c.destroy());
    }
  });

  it('builds a connector the forwarder accepts, pointing at the receiver', () => {
    const c = parseConnector(s.connector());
    expect(c).toMatchObject({ regions: ['eu-west-1'], aws: { accessKeyId: s.connectorUser.accessKeyId }, http: { url: s.dnif.url } });
    expect(c.http?.auth).toEqual({ type: 'bearer', token: 'dnif-test-token' });
    const two = s.connector({ awsRegion: undefined, awsRegions: ['eu-west-1', 'us-east-1'], dnif: { gzip: true } });
    expect(parseConnector(JSON.parse(JSON.stringify(two)))).toMatchObject({ regions: ['eu-west-1', 'us-east-1'], http: { gzip: true } });
  });

  it('restores the environment it changed', () => {
    const target: NodeJS.ProcessEnv = { AWS_PROFILE: 'dev', AWS_REGION: 'ap-south-1' };
    const undo = s.applyEnv(target);
    expect(target).toMatchObject({ AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_CLOUDTRAIL: s.cloudtrail.url });
    expect(target.AWS_PROFILE).toBeUndefined();
    undo();
    expect(target).toEqual({ AWS_PROFILE: 'dev', AWS_REGION: 'ap-south-1' });
  });
});
