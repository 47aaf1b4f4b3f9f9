/**
 * The trail audit (contract, "Second source"): an hourly schedule runs functions/trail-audit,
 * which proves from CloudTrail's signed digest files that every trail file was delivered, repairs
 * what was not, and alarms on tampering, missing files and a trail that stopped writing.
 * Runbook: docs/audit.md.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ConnectorSecret } from './connector-secret';
import type { Monitoring } from './monitoring';
import type { S3SourceSettings } from './s3-settings';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AuditMetric, CONNECTOR_DIMENSION, ENV, METRICS_NAMESPACE, TRAIL_AUDIT_SERVICE } from '../functions/core/contract';
import { acknowledge } from './acknowledge';
import { assumeRoleStatement, checkpointTableStatement } from './permissions';
import { ServiceFunction } from './service-function';
import { OptionError } from './settings';

/** Stack options for the audit, which runs with the trail-file source (`-c source=s3`). */
export interface TrailAuditOptions {
  /** Hours of digests each hourly run checks (AUDIT_LOOKBACK_HOURS, 1-336). @default 24 */
  readonly auditLookbackHours?: number;
}

export interface TrailAuditSettings {
  readonly bucket: string;
  readonly prefix: string;
  readonly kmsKeyArn?: string;
  readonly lookbackHours: number;
}

/** The audit reads the trail the S3 source reads; without that source there is none (nothing to reconcile). */
export function resolveTrailAudit(o: TrailAuditOptions, source: S3SourceSettings | undefined, where: (field: string) => string = (f) => f): TrailAuditSettings | undefined {
  if (!source) {
    if (o.auditLookbackHours !== undefined) throw new OptionError(where('auditLookbackHours'), 'applies to the trail-file source only (-c source=s3)');
    return undefined;
  }
  const hours = o.auditLookbackHours ?? 24;
  if (!Number.isInteger(hours) || hours < 1 || hours > 336) throw new OptionError(where('auditLookbackHours'), `must be a whole number from 1 to 336, got ${hours}`);
  return { bucket: source.bucketName, prefix: source.prefix, kmsKeyArn: source.kmsKeyArn, lookbackHours: hours };
}

export interface TrailAuditProps {
  readonly settings: TrailAuditSettings;
  readonly connector: ConnectorSecret;
  readonly table: dynamodb.ITable;
  readonly monitoring: Monitoring;
  /** The source's test-connection function: its trailDigests check verifies a digest too. */
  readonly testConnection?: ServiceFunction;
  readonly roleArn?: string;
  /**
   * Set for a connector of `connectors`: its metrics carry the `connector` dimension (METRICS_CONNECTOR),
   * its alarms and dashboard row its name. Unset for the one-connector form (plain alarm names).
   */
  readonly connectorName?: string;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  readonly logRetentionDays: number;
  readonly batchMaxEvents: number;
  readonly batchMaxBytes: number;
}

const HOUR = Duration.hours(1);

const LIST_PUBLIC_KEYS_STAR =
  'cloudtrail:ListPublicKeys supports no resource-level permissions, so "*" is its only valid resource; it returns only ' +
  "CloudTrail's public signing keys.";
const publicKeysStatement = () => new iam.PolicyStatement({ sid: 'DigestPublicKeys', actions: ['cloudtrail:ListPublicKeys'], resources: ['*'] });

function auditMetric(name: string, statistic: string, connector?: string): cloudwatch.Metric {
  const dimensionsMap: Record<string, string> = connector ? { service: TRAIL_AUDIT_SERVICE, [CONNECTOR_DIMENSION]: connector } : { service: TRAIL_AUDIT_SERVICE };
  return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: name, dimensionsMap, statistic, period: HOUR });
}

export class TrailAudit extends Construct {
  readonly fn: ServiceFunction;

  constructor(scope: Construct, id: string, props: TrailAuditProps) {
    super(scope, id);
    const s = props.settings;
    this.fn = new ServiceFunction(this, 'Audit', {
      code: 'trail-audit',
      description: 'Proves from CloudTrail digest files that every trail file reached DNIF; repairs gaps',
      memorySize: 1024,
      timeout: Duration.minutes(15),
      // Two overlapping runs would repair the same file twice over (the ledger lease stops the second).
      reservedConcurrentExecutions: 1,
      logRetentionDays: props.logRetentionDays,
      environment: {
        SECRET_ID: props.connector.secretId,
        CHECKPOINT_TABLE: props.table.tableName,
        AUDIT_BUCKET: s.bucket,
        AUDIT_PREFIX: s.prefix,
        AUDIT_LOOKBACK_HOURS: String(s.lookbackHours),
        BATCH_MAX_EVENTS: String(props.batchMaxEvents),
        BATCH_MAX_BYTES: String(props.batchMaxBytes),
        ...(props.connectorName ? { [ENV.metricsConnector]: props.connectorName } : {}),
        POWERTOOLS_SERVICE_NAME: TRAIL_AUDIT_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
    });
    this.grant(props);
    if (props.testConnection) {
      const keys = props.testConnection.addPolicy('DigestPublicKeys', [publicKeysStatement()]);
      acknowledge(keys, 'AwsSolutions-IAM5[Resource::*]', LIST_PUBLIC_KEYS_STAR);
    }
    this.fn.fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: HOUR });
    const nothingToRedeliver =
      'A failed audit run leaves nothing to redeliver: the next hourly run audits the same lookback window again, ' +
      'and the AuditRunErrors alarm reports the failure.';
    acknowledge(this.fn.fn, 'Serverless-LambdaDLQ', nothingToRedeliver);
    acknowledge(this.fn.fn.node.findChild('EventInvokeConfig'), 'Serverless-LambdaAsyncFailureDestination', nothingToRedeliver);
    // Its own queue: the trail-file source's dead-letter queue is redriven to the trail-file queue.
    const undelivered = new sqs.Queue(this, 'ScheduleDeadLetters', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    const terminal = 'Dead-letter queue of the audit schedule; a missed run is caught up by the next (same lookback window) and the AuditNotRunning alarm fires.';
    acknowledge(undelivered, 'AwsSolutions-SQS3', terminal);
    acknowledge(undelivered, 'Serverless-SQSRedrivePolicy', terminal);
    new events.Rule(this, 'Schedule', {
      description: 'Runs the CloudTrail digest audit every hour',
      schedule: events.Schedule.rate(HOUR),
      targets: [new targets.LambdaFunction(this.fn.fn, { deadLetterQueue: undelivered, retryAttempts: 2, maxEventAge: HOUR })],
    });
    this.monitor(props.monitoring, props.connectorName);
  }

  private grant(props: TrailAuditProps): void {
    const { bucket, prefix, kmsKeyArn } = props.settings;
    const root = `${prefix ? `${prefix}/` : ''}AWSLogs/`;
    // `?` (one character) for a space in object resources: an acknowledgement id cannot hold a space.
    const objects = root.replace(/ /g, '?');
    const bucketArn = `arn:${Aws.PARTITION}:s3:::${bucket}`;
    const fn = this.fn.fn;
    for (const statement of props.connector.readStatements()) fn.addToRolePolicy(statement);
    if (props.roleArn) fn.addToRolePolicy(assumeRoleStatement([props.roleArn]));
    fn.addToRolePolicy(checkpointTableStatement(props.table));
    const statements = [
      new iam.PolicyStatement({
        sid: 'ListTrailFolders',
        actions: ['s3:ListBucket'],
        resources: [bucketArn],
        conditions: { StringLike: { 's3:prefix': [root, `${root}*`] } },
      }),
      new iam.PolicyStatement({
        sid: 'ReadDigestAndLogFiles',
        actions: ['s3:GetObject'],
        resources: [`${bucketArn}/${objects}*/CloudTrail-Digest/*`, `${bucketArn}/${objects}*/CloudTrail/*`],
      }),
      new iam.PolicyStatement({
        sid: 'TrailStatus',
        actions: ['cloudtrail:GetTrailStatus'],
        resources: [`arn:${Aws.PARTITION}:cloudtrail:*:*:trail/*`],
      }),
      publicKeysStatement(),
    ];
    if (kmsKeyArn) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'DecryptTrailFiles',
          actions: ['kms:Decrypt'],
          resources: [kmsKeyArn],
          conditions: { StringLike: { 'kms:ViaService': `s3.*.amazonaws.com` } },
        }),
      );
    }
    const policy = this.fn.addPolicy('TrailRead', statements);
    acknowledge(policy, 'AwsSolutions-IAM5[Resource::*]', LIST_PUBLIC_KEYS_STAR);
    acknowledge(
      policy,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucket}/${objects}*/CloudTrail-Digest/*]`,
      'The audit reads every digest file of every account and region of the trail; the wildcard spans accounts and regions only.',
    );
    acknowledge(
      policy,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucket}/${objects}*/CloudTrail/*]`,
      'The audit hashes every log file a digest lists, in every account and region of the trail, and forwards the ones never delivered.',
    );
    acknowledge(
      policy,
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudtrail:*:*:trail/*]',
      'The trails are only known at run time, from the digest file names (an organization trail lives in the management ' +
        'account and its home region); GetTrailStatus only reads status.',
    );
  }

  private monitor(monitoring: Monitoring, connector?: string): void {
    const runbook = 'docs/audit.md';
    const max = (name: string) => auditMetric(name, 'Maximum', connector);
    const sum = (name: string) => auditMetric(name, 'Sum', connector);
    // A connector of many: its alarms carry its name (the runbook line is the plain one).
    const named = (id: string, what: string) => [connector ? `${connector}-${id}` : id, connector ? `${what.slice(0, -1)} (connector ${connector}).` : what] as const;
    const alarm = (id: string, what: string, metric: cloudwatch.Metric | cloudwatch.MathExpression, options: Partial<cloudwatch.CreateAlarmOptions> & { threshold: number }) =>
      monitoring.alarm(...named(id, what), metric, options, id, runbook);
    alarm('AuditInvalid', 'A digest or log file failed validation (bad signature, broken chain or wrong hash).', sum(AuditMetric.Invalid), { threshold: 1 });
    alarm('AuditMissing', 'A log file a valid digest lists was never delivered and could not be forwarded.', sum(AuditMetric.LogFilesMissing), { threshold: 1 });
    alarm('TrailLoggingStopped', 'GetTrailStatus says a trail is not logging.', max(AuditMetric.TrailLoggingStopped), { threshold: 1 });
    alarm('TrailDeliveryErrors', 'GetTrailStatus reports a log or digest delivery error.', max(AuditMetric.TrailDeliveryErrors), { threshold: 1 });
    alarm('NoRecentDigest', 'An account-region that had digest files has had none for over 90 minutes.', max(AuditMetric.NoRecentDigest), { threshold: 1 });
    alarm('AuditNotRunning', 'The hourly audit has not run for 2 hours.', this.fn.fn.metricInvocations({ statistic: 'Sum', period: HOUR }), {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    alarm(
      'AuditRunErrors',
      'The audit run failed, or could not audit an account-region (access, ListPublicKeys).',
      new cloudwatch.MathExpression({
        expression: 'FILL(lambdaErrors, 0) + FILL(regionErrors, 0)',
        usingMetrics: { lambdaErrors: this.fn.fn.metricErrors({ statistic: 'Sum', period: HOUR }), regionErrors: sum(AuditMetric.Errors) },
        period: HOUR,
      }),
      { threshold: 1 },
    );

    const perAccountRegion = (name: string, statistic: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRICS_NAMESPACE},accountId,region,service} MetricName="${name}"', '${statistic}', 3600)`,
        period: HOUR,
        label: '',
      });
    const graph = (title: string, left: cloudwatch.IMetric[]) => new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, period: HOUR });
    monitoring.dashboard.addWidgets(
      graph(connector ? `Audit: log files (${connector})` : 'Audit: log files', [
        sum(AuditMetric.LogFilesListed), sum(AuditMetric.LogFilesDelivered), sum(AuditMetric.LogFilesRepaired),
        sum(AuditMetric.LogFilesMissing), sum(AuditMetric.Invalid), sum(AuditMetric.DigestsChecked),
      ]),
      graph('Audit: missing or invalid, per account and region', [
        perAccountRegion(AuditMetric.LogFilesMissing, 'Sum'), perAccountRegion(AuditMetric.Invalid, 'Sum'),
      ]),
      graph('Audit: age of newest validated digest (s), per account and region', [perAccountRegion(AuditMetric.NewestDigestAgeSeconds, 'Maximum')]),
    );
  }
}
