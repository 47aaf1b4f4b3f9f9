/**
 * Props of the CloudTrailToDnif construct. The plain values (CloudTrailToDnifOptions) may also
 * come from `cdk -c name=value`; infra/settings.ts holds each one's check.
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { TrailFileOptions } from './s3-settings';

export type FunctionUrlAuth = 'AWS_IAM' | 'NONE';

/**
 * Where a connector reads CloudTrail from. `lookup-events`: Event history through LookupEvents
 * (management and Insights events, about 100 events/s per account and region), on a schedule.
 * `s3`: the files a trail writes to S3 (data events too), through S3 notifications and a queue
 * (`trailBucket` and the other TrailFileOptions; docs/s3-source.md).
 */
export type ConnectorSource = 'lookup-events' | 's3';

/** What one connector may set; unset values fall back to the construct-level ones. */
export interface ConnectorDefaults {
  /** Where the connector reads CloudTrail from. @default 'lookup-events' */
  readonly source?: ConnectorSource;
  /** Minutes between forwarder runs of this connector (1-60; lookup-events only). @default 5 */
  readonly scheduleMinutes?: number;
  /** Regions the functions' own role may call LookupEvents in (aws:RequestedRegion; lookup-events only). @default any region */
  readonly regions?: string[];
  /** A role the connector assumes (`roleArn` in the secret); grants sts:AssumeRole on exactly it. @default none */
  readonly roleArn?: string;
}

/** The connector secret: an existing one (ARN), or one the construct creates (name). */
export interface ConnectorSecretOptions {
  /** Use this existing connector secret (complete or partial ARN) instead of creating one. @default create one */
  readonly secretArn?: string;
  /** KMS key ARN of the imported secret, if it is a customer managed key (grants kms:Decrypt). @default the AWS managed key */
  readonly secretKmsKeyArn?: string;
  /** Name of the secret the construct creates (not with secretArn). @default `<stackName>/connector`, or `<stackName>/<name>` in `connectors` */
  readonly secretName?: string;
}

/**
 * One connector of `connectors`: one DNIF destination and one set of CloudTrail credentials.
 * With `source: 's3'` it reads a trail's files: `trailBucket` is then required, and the
 * connector gets its own queue, dead-letter queue, S3 forwarder and alarms.
 */
export interface ConnectorOptions extends ConnectorDefaults, ConnectorSecretOptions, TrailFileOptions {
  /**
   * Names the connector in construct ids, alarms, metrics (dimension `connector`) and the
   * test-connection URL (`?connector=<name>`). Letters, digits, `-` and `_`. Must equal the
   * secret's `connectorName`: checkpoints and the lease are kept per connectorName.
   */
  readonly name: string;
}

/** The construct's options that are plain values (and so may come from cdk context). */
export interface CloudTrailToDnifOptions extends ConnectorDefaults, ConnectorSecretOptions, TrailFileOptions {
  /**
   * Many connectors in one deployment: one secret each; a schedule and a lease each for Event
   * history (sharing the forwarder), a queue and S3 forwarder each for trail files; shared
   * table, alarm topic and dashboard; alarms per connector. The top-level source,
   * scheduleMinutes, regions, roleArn and trail-file options are their defaults; the top-level
   * secret options are not allowed with it.
   * @default one connector, from the top-level secret options
   */
  readonly connectors?: ConnectorProps[];
  /** Forwarder memory (MB). @default 512 */
  readonly memorySize?: number;
  /** Days to keep both functions' logs (a CloudWatch Logs retention value). @default 365 */
  readonly logRetentionDays?: number;
  /** Test-connection URL auth; NONE makes it public and must be asked for. @default AWS_IAM */
  readonly functionUrlAuth?: FunctionUrlAuth;
  /** Subscribe this address to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  /** Send alarms to this existing topic (by ARN) instead of creating one. @default create a topic */
  readonly alarmTopicArn?: string;
  /** Alarm when no event was forwarded for this many hours (1-24). @default no alarm */
  readonly noEventsAlarmHours?: number;
  /** Alarm when LagSeconds stays above this. @default 1800 */
  readonly lagAlarmSeconds?: number;
  /** Alarm when DeliveryDelaySeconds (EventTime → DNIF 2xx, a run's largest) stays above this (60-86400). @default no alarm */
  readonly deliveryDelayAlarmSeconds?: number;
  /** Contract env LATENESS_SECONDS. @default 900 */
  readonly latenessSeconds?: number;
  /** Contract env BACKFILL_SECONDS. @default 3600 */
  readonly backfillSeconds?: number;
  /** Contract env BATCH_MAX_EVENTS. @default 500 */
  readonly batchMaxEvents?: number;
  /** Contract env BATCH_MAX_BYTES. @default 1000000 */
  readonly batchMaxBytes?: number;
}

/** A connector with, optionally, a secret construct of your own. */
export interface ConnectorProps extends ConnectorOptions {
  /** Use this secret construct (e.g. from another stack). @default secretArn, or create one */
  readonly existingSecret?: secretsmanager.ISecret;
}

export interface CloudTrailToDnifProps extends CloudTrailToDnifOptions {
  /** The one-connector form's secret as a construct. @default secretArn, or create one */
  readonly existingSecret?: secretsmanager.ISecret;
  /**
   * Keep checkpoints and leases in this table (partition key `pk` string, TTL `expiresAt`); its
   * customer managed key, if any, is granted to the forwarder. @default create one (retained on delete)
   */
  readonly existingTable?: dynamodb.ITable;
  /** Send alarms to this topic. @default alarmTopicArn, or create an encrypted topic */
  readonly existingAlarmTopic?: sns.ITopic;
  /**
   * Run both functions in this VPC. They then need a route to Secrets Manager, DynamoDB,
   * CloudTrail, STS (when a role is assumed), CloudWatch Logs and DNIF: VPC endpoints or a NAT
   * gateway (docs/deploy.md, "VPC").
   * @default no VPC (Lambda's own network, internet egress)
   */
  readonly vpc?: ec2.IVpc;
  /** Subnets in `vpc`. @default the VPC's private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Security groups for the functions in `vpc`. @default one group per function, all egress allowed */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** Prefix of alarm and dashboard names. @default the stack name */
  readonly namePrefix?: string;
}
