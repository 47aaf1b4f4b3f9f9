/**
 * All stand-ins at once, sharing one credential registry, plus the environment the
 * production code needs to reach them (only through the AWS SDK's own endpoint variables
 * and the DNIF URL in the connector secret).
 */
import { startCloudTrail, type CloudTrailStandIn } from './cloudtrail';
import { startDnifReceiver, type DnifReceiver, type ReceiverAuth, type ReceiverOptions } from './dnif-receiver';
import { startDynamoDb, type DynamoDbStandIn } from './dynamodb';
import type { StandInClock } from './clock';
import { startS3, type S3StandIn } from './s3';
import { startSecretsManager, type SecretVersionInfo, type SecretsManagerStandIn } from './secrets-manager';
import { CredentialRegistry, randomId, randomSecret, type Principal } from './sigv4';
import { startSqs, type SqsStandIn } from './sqs';
import { startSts, type StsStandIn } from './sts';

export * from './clock';
export * from './cloudtrail';
export * from './cloudtrail-trails';
export * from './dnif-receiver';
export * from './dynamodb';
export * from './event-source-mapping';
export * from './fixtures';
export * from './lambda';
export * from './s3';
export * from './s3-notifications';
export * from './secrets-manager';
export * from './sigv4';
export * from './sqs';
export * from './sts';
export * from './syslog-receiver';
export * from './trail-files';
export * from './trail-digests';

export interface StandInsOptions {
  /** AWS_REGION of the function, and the connector's region. Default us-east-1. */
  region?: string;
  /** Account of the function and of the connector's IAM user. Default 111122223333. */
  accountId?: string;
  /** Regions CloudTrail and STS answer for (others fail as a bad scope, as AWS says). Default AWS_REGIONS. */
  regions?: readonly string[];
  /** CloudTrail LookupEvents limit per account and region per second. Default 2. */
  ratePerSecond?: number;
  /** CloudTrail server clock (rate window, late release). Default Date.now. */
  now?: () => number;
  /** Clock for credential expiry. Default Date.now. */
  credentialsNow?: () => number;
  dnif?: ReceiverOptions;
  /** SQS's clock (visibility timeouts, delays, long polls); default real time. */
  sqsClock?: StandInClock;
  /** Default `checkpoints`. */
  tableName?: string;
  /** Default `dnif/cloudtrail-connector`. */
  secretName?: string;
}

/** The connector secret's JSON (SPEC.md, "The connector secret"); loose on purpose so tests can break it. */
export type ConnectorDocument = Record<string, unknown>;

export interface StandIns {
  registry: CredentialRegistry;
  cloudtrail: CloudTrailStandIn;
  secrets: SecretsManagerStandIn;
  sts: StsStandIn;
  dnif: DnifReceiver;
  dynamodb: DynamoDbStandIn;
  /** Path-style S3 on an IP endpoint; buckets default to `region` and `accountId`. */
  s3: S3StandIn;
  /** Standard queues; `sqs.clock` drives their time. */
  sqs: SqsStandIn;
  region: string;
  accountId: string;
  secretName: string;
  /** The Lambda's own credentials (what AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY hold). */
  functionRole: Principal;
  /** The IAM user whose keys the default connector carries. */
  connectorUser: Principal;
  /** Variables to set for the handlers: endpoints, region, keys, SECRET_ID, CHECKPOINT_TABLE. */
  env: Record<string, string>;
  /** Set `env` on `target` (default process.env), drop AWS_SESSION_TOKEN/AWS_PROFILE; returns an undo. */
  applyEnv(target?: NodeJS.ProcessEnv): () => void;
  /** A valid connector for these stand-ins, with top-level fields (and `dnif` fields) overridden. */
  connector(overrides?: ConnectorDocument): ConnectorDocument;
  /** Put (or rotate) the connector secret; a string is stored as is, so tests can store broken JSON. */
  putConnectorSecret(connector?: ConnectorDocument | string, name?: string): SecretVersionInfo;
  /** Empty CloudTrail (events, faults, request stats) and the DNIF receiver, back to answering normally. */
  reset(): void;
  stop(): Promise<void>;
}

/** Public AWS regions (all partitions) as of 2025, so a made-up region code fails as it would. */
export const AWS_REGIONS: readonly string[] = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'ca-west-1', 'mx-central-1', 'sa-east-1',
  'eu-central-1', 'eu-central-2', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-south-1', 'eu-south-2', 'eu-north-1',
  'af-south-1', 'il-central-1', 'me-south-1', 'me-central-1',
  'ap-east-1', 'ap-east-2', 'ap-south-1', 'ap-south-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3',
  'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-7',
  'cn-north-1', 'cn-northwest-1', 'us-gov-east-1', 'us-gov-west-1',
];

/** Variables that would route the SDK elsewhere or add credentials we did not mean. */
const SCRUBBED = ['AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', 'AWS_ENDPOINT_URL'];

function dnifAuthFields(auth: ReceiverAuth): ConnectorDocument {
  switch (auth.type) {
    case 'bearer':
      return { token: auth.token };
    case 'none':
      return { token: 'unused-by-receiver' };
    default:
      return { auth };
  }
}

export async function startStandIns(opts: StandInsOptions = {}): Promise<StandIns> {
  const region = opts.region ?? 'us-east-1';
  const accountId = opts.accountId ?? '111122223333';
  const secretName = opts.secretName ?? 'dnif/cloudtrail-connector';
  const regions = opts.regions ?? AWS_REGIONS;
  const registry = new CredentialRegistry({ now: opts.credentialsNow });

  const started = await Promise.allSettled([
    startCloudTrail({ registry, ratePerSecond: opts.ratePerSecond, now: opts.now, regions }),
    startSecretsManager({ registry, defaultRegion: region, defaultAccountId: accountId }),
    startSts({ registry, regions }),
    startDnifReceiver(opts.dnif),
    startDynamoDb({ tableName: opts.tableName, region }),
    startS3({ registry, defaultRegion: region, defaultAccountId: accountId }),
    startSqs({ registry, clock: opts.sqsClock, defaultRegion: region, defaultAccountId: accountId }),
  ]);
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.allSettled(started.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
    throw failed.reason;
  }
  const [cloudtrail, secrets, sts, dnif, dynamodb, s3, sqs] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [
    CloudTrailStandIn,
    SecretsManagerStandIn,
    StsStandIn,
    DnifReceiver,
    DynamoDbStandIn,
    S3StandIn,
    SqsStandIn,
  ];

  // Like a Lambda execution role session, but a long-term key so plain key env vars suffice.
  const functionRole = registry.addKey({
    accessKeyId: `AKIA${randomId(16)}`,
    secretAccessKey: randomSecret(),
    accountId,
    userArn: `arn:aws:sts::${accountId}:assumed-role/cloudtrail-dnif-forwarder/forwarder`,
    userId: `AROA${randomId(17)}:forwarder`,
  });
  const connectorUser = registry.createUser(accountId, 'dnif-cloudtrail-reader');

  const env: Record<string, string> = {
    AWS_ENDPOINT_URL_CLOUDTRAIL: cloudtrail.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.url,
    // An IP endpoint: the SDK's endpoint rules then address buckets path-style by themselves.
    AWS_ENDPOINT_URL_S3: s3.url,
    AWS_ENDPOINT_URL_SQS: sqs.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: functionRole.accessKeyId,
    AWS_SECRET_ACCESS_KEY: functionRole.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    SECRET_ID: secretName,
    CHECKPOINT_TABLE: dynamodb.tableName,
    // The stand-ins listen on plain http / TCP on 127.0.0.1 (contract, "Transport rules").
    DNIF_ALLOW_LOOPBACK_PLAINTEXT: '1',
  };

  const connector = (overrides: ConnectorDocument = {}): ConnectorDocument => {
    const { dnif: dnifOverrides, ...rest } = overrides;
    return {
      connectorName: 'local-cloudtrail',
      awsAccessKeyId: connectorUser.accessKeyId,
      awsSecretAccessKey: connectorUser.secretAccessKey,
      awsRegion: region,
      ...rest,
      dnif: { url: dnif.url, ...dnifAuthFields(dnif.auth), ...(dnifOverrides as ConnectorDocument | undefined) },
    };
  };

  return {
    registry,
    cloudtrail,
    secrets,
    sts,
    dnif,
    dynamodb,
    s3,
    sqs,
    region,
    accountId,
    secretName,
    functionRole,
    connectorUser,
    env,
    applyEnv(target = process.env) {
      const saved = new Map([...Object.keys(env), ...SCRUBBED].map((k) => [k, target[k]]));
      for (const k of SCRUBBED) delete target[k];
      Object.assign(target, env);
      return () => {
        for (const [k, v] of saved) {
          if (v === undefined) delete target[k];
          else target[k] = v;
        }
      };
    },
    connector,
    putConnectorSecret(doc = connector(), name = secretName) {
      return secrets.putSecret(name, typeof doc === 'string' ? doc : JSON.stringify(doc));
    },
    reset() {
      cloudtrail.clearEvents();
      cloudtrail.clearFaults();
      cloudtrail.resetStats();
      dnif.clear();
      dnif.normal();
      s3.reset();
      sqs.reset();
    },
    async stop() {
      const results = await Promise.allSettled([cloudtrail, secrets, sts, dnif, dynamodb, s3, sqs].map((s) => s.close()));
      const err = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (err) throw err.reason;
    },
  };
}
