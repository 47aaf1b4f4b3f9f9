/**
 * One trail-file connector (`source: 's3'`) of CloudTrailToDnif: trail files land in S3, a
 * notification reaches the connector's queue, its S3 forwarder reads each file and posts the
 * records to DNIF, keeping its place in the object ledger (the shared checkpoint table). Also the
 * connector's test-connection function, and (monitor) its alarms and dashboard row on the
 * construct's topic and dashboard. docs/s3-source.md explains the design, docs/deploy.md the setup.
 */
import { Annotations, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ConnectorSecret } from './connector-secret';
import { forwarderMetric, type Monitoring } from './monitoring';
import { ENV, FORWARDER_SERVICE, METRICS_NAMESPACE, TEST_CONNECTION_SERVICE, type TrailFileMetricName } from '../functions/core/contract';
import { acknowledge } from './acknowledge';
import { assumeRoleStatement, checkpointTableStatement, tableKeyStatement } from './permissions';
import type { S3SourceSettings } from './s3-settings';
import { ServiceFunction } from './service-function';
import type { Settings } from './settings';

export interface S3SourceProps {
  readonly settings: Settings;
  readonly s3: S3SourceSettings;
  readonly connector: ConnectorSecret;
  readonly table: dynamodb.ITable;
  /** The connector's roleArn, when it assumes one to read the bucket. */
  readonly roleArn?: string;
  /**
   * Set for a connector of `connectors`: its metrics carry the `connector` dimension, its alarms
   * and dashboard row its name. Unset for the one-connector form (plain alarm names).
   */
  readonly connectorName?: string;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
}

/** SPEC.md: the queue's visibility timeout is six times the function's (AWS's advice for SQS triggers). */
export const VISIBILITY_FACTOR = 6;
export const MAX_RECEIVE_COUNT = 5;

export class S3Source extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly forwarder: ServiceFunction;
  readonly testConnection: ServiceFunction;
  readonly testConnectionUrl: lambda.FunctionUrl;
  /** The construct's alarms and dashboard, once monitor() has added this connector's to them. */
  monitoring?: Monitoring;

  constructor(scope: Construct, id: string, private readonly props: S3SourceProps) {
    super(scope, id);
    const { settings: s, s3: t, connector, table } = props;
    const logsPrefix = `${t.prefix ? `${t.prefix}/` : ''}AWSLogs/`;
    const network = { vpc: props.vpc, vpcSubnets: props.vpcSubnets, securityGroups: props.securityGroups };

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    const terminal = 'This queue is itself the dead-letter destination of the trail-file queue; the DeadLetters alarm watches it and docs/deploy.md says how to redrive it.';
    acknowledge(this.deadLetterQueue, 'AwsSolutions-SQS3', terminal);
    acknowledge(this.deadLetterQueue, 'Serverless-SQSRedrivePolicy', terminal);
    this.queue = new sqs.Queue(this, 'TrailFileQueue', {
      // SSE-SQS: S3 and SNS may send to it without a key policy.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(t.timeoutSeconds * VISIBILITY_FACTOR),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });

    const powertools = { POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL: 'INFO' };
    this.forwarder = new ServiceFunction(this, 'Forwarder', {
      code: 's3-forwarder',
      description: 'Forwards CloudTrail trail files from S3 to DNIF',
      memorySize: s.memorySize,
      timeout: Duration.seconds(t.timeoutSeconds),
      // Above the event source mapping's cap, so its pollers are not throttled; room for a replay invoke.
      reservedConcurrentExecutions: t.maxConcurrency + 2,
      logRetentionDays: s.logRetentionDays,
      environment: {
        [ENV.secretId]: connector.secretId,
        [ENV.checkpointTable]: table.tableName,
        BATCH_MAX_EVENTS: String(s.batchMaxEvents),
        BATCH_MAX_BYTES: String(s.batchMaxBytes),
        DNIF_OUTAGE_TOLERANCE_HOURS: String(t.outageToleranceHours),
        ...(props.connectorName ? { [ENV.metricsConnector]: props.connectorName } : {}),
        POWERTOOLS_SERVICE_NAME: FORWARDER_SERVICE,
        ...powertools,
      },
      ...network,
    });
    this.grantTrailRead(this.forwarder, props);
    this.forwarder.fn.addToRolePolicy(checkpointTableStatement(table));
    if (table.encryptionKey) this.forwarder.fn.addToRolePolicy(tableKeyStatement(table.encryptionKey));
    // Continuation messages: work handed on before the deadline or during a DNIF outage.
    this.forwarder.fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'HandWorkOnToTheQueue', actions: ['sqs:SendMessage', 'sqs:GetQueueUrl'], resources: [this.queue.queueArn] }));
    this.forwarder.fn.addEventSource(
      new SqsEventSource(this.queue, { batchSize: t.batchSize, reportBatchItemFailures: true, maxConcurrency: t.maxConcurrency }),
    );
    const mapping = this.forwarder.fn.node.children.find((c) => c.node.id.startsWith('SqsEventSource:'));
    if (mapping) {
      acknowledge(mapping, 'Serverless-LambdaEventSourceMappingDestination', 'An SQS event source mapping takes no on-failure destination; the queue\'s redrive policy moves a message that keeps failing to its dead-letter queue.');
    }
    acknowledge(
      this.forwarder.fn,
      'Serverless-LambdaDLQ',
      'Invoked by an SQS event source mapping, which never invokes asynchronously: a message that keeps failing moves to the queue\'s own dead-letter queue (maxReceiveCount 5).',
    );

    this.routeNotifications(t, logsPrefix);

    this.testConnection = new ServiceFunction(this, 'TestConnection', {
      code: 'test-connection',
      description: 'Checks the trail-file connector: bucket, KMS key, queue, DNIF (function URL)',
      memorySize: 256,
      timeout: Duration.seconds(15),
      reservedConcurrentExecutions: 2,
      logRetentionDays: s.logRetentionDays,
      environment: {
        [ENV.secretId]: connector.secretId,
        SOURCE: 's3',
        TRAIL_BUCKET: t.bucketName,
        TRAIL_PREFIX: t.prefix,
        TRAIL_QUEUE_URL: this.queue.queueUrl,
        POWERTOOLS_SERVICE_NAME: TEST_CONNECTION_SERVICE,
        ...powertools,
      },
      ...network,
    });
    this.grantTrailRead(this.testConnection, props);
    this.testConnection.fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'SeeTheQueue', actions: ['sqs:GetQueueAttributes'], resources: [this.queue.queueArn] }));
    acknowledge(this.testConnection.fn, 'Serverless-LambdaDLQ', 'Invoked only synchronously, through its function URL: the caller gets the error in the response.');
    this.testConnectionUrl = this.testConnection.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType[s.functionUrlAuth] });
    if (s.functionUrlAuth === 'NONE') {
      Annotations.of(this.testConnectionUrl).addWarningV2('cloudtrail-dnif:PublicTestConnectionUrl', 'functionUrlAuth=NONE: anyone who learns the test-connection URL can call it. Prefer AWS_IAM (docs/deploy.md).');
    }
  }

  /**
   * This connector's alarms (its functions, queue, dead-letter queue and read errors) on the
   * construct's topic, and its row on the dashboard. `alarmScope` holds the alarm constructs
   * (the one-connector form keeps the logical ids the trail-file stack gave them).
   */
  monitor(monitoring: Monitoring, alarmScope?: Construct): void {
    this.monitoring = monitoring;
    const name = this.props.connectorName;
    const t = this.props.s3;
    const id = (alarm: string) => (name ? `${name}-${alarm}` : alarm);
    const of = name ? ` (connector ${name})` : '';
    const five = Duration.minutes(5);
    const sum = { statistic: 'Sum', period: five };
    const files = (metric: TrailFileMetricName) => forwarderMetric(metric, 'Sum', five, name);
    const alarm = (alarmId: string, what: string, metric: cloudwatch.Metric, options: Partial<cloudwatch.CreateAlarmOptions> & { threshold: number }) =>
      monitoring.alarm(id(alarmId), what, metric, options, alarmId, undefined, alarmScope);

    alarm('ForwarderErrors', `The S3 forwarder${of} failed an invocation (threw or timed out).`, this.forwarder.fn.metricErrors(sum), { threshold: 1 });
    alarm('ForwarderThrottled', `The S3 forwarder${of} was throttled: more work than its reserved concurrency.`, this.forwarder.fn.metricThrottles(sum), { threshold: 1 });
    // A trail writes a file every ~5 minutes per account and region: silence means the notification route or the trail broke.
    alarm('ForwarderNotRunning', `No trail-file notification${of} has started the S3 forwarder for 15 minutes (notification route broken, or the trail stopped writing).`,
      this.forwarder.fn.metricInvocations(sum), {
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    alarm('DeadLetters', `A trail-file message${of} was moved to its dead-letter queue after ${MAX_RECEIVE_COUNT} receives.`,
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: five }), { threshold: 1 });
    alarm('TestConnectionErrors', `The trail-file test-connection function${of} crashed (a failed check is a 4xx/5xx answer, not an error).`,
      this.testConnection.fn.metricErrors(sum), { threshold: 1 });
    alarm('QueueAgeHigh', `A trail-file notification${of} has waited more than ${t.queueAgeAlarmSeconds} s (DNIF outage, or the forwarder cannot keep up).`,
      this.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: five }), { threshold: t.queueAgeAlarmSeconds, evaluationPeriods: 2 });
    alarm('ObjectReadErrors', `A trail file${of} could not be read (access or KMS denied, missing, corrupt); its message goes to the dead-letter queue.`,
      files('ObjectReadErrors'), { threshold: 1 });

    const title = (what: string) => (name ? `${what}: ${name}` : what);
    monitoring.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: title('Trail files'), left: [files('ObjectsForwarded'), files('ObjectsSkipped'), files('ObjectReadErrors'), files('Continuations'), files('DeliveryDeferred')], width: 12, height: 6 }),
      new cloudwatch.GraphWidget({
        title: title('Trail-file queue'),
        left: [
          this.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' }),
          this.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum' }),
          this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: 'Dead letters' }),
        ],
        width: 12,
        height: 6,
      }),
    );
  }

  /** GetObject and ListBucket on the trail's prefix only; kms:Decrypt on its key, through S3 only. */
  private grantTrailRead(fn: ServiceFunction, props: S3SourceProps): void {
    // Only this connector's secret (and role): another connector's credentials are not its business.
    const { s3: t, connector } = props;
    const logsPrefix = `${t.prefix ? `${t.prefix}/` : ''}AWSLogs/`;
    // `?` (one character) for a space: the acknowledgement below names the resource, and an
    // acknowledgement id cannot hold a space.
    const readResource = `${t.bucketArn}/${logsPrefix.replace(/ /g, '?')}*`;
    for (const statement of connector.readStatements()) fn.fn.addToRolePolicy(statement);
    if (props.roleArn) fn.fn.addToRolePolicy(assumeRoleStatement([props.roleArn]));
    const statements = [
      new iam.PolicyStatement({ sid: 'ReadTrailFiles', actions: ['s3:GetObject'], resources: [readResource] }),
      new iam.PolicyStatement({ sid: 'ListTrailFiles', actions: ['s3:ListBucket'], resources: [t.bucketArn], conditions: { StringLike: { 's3:prefix': [`${logsPrefix}*`] } } }),
    ];
    if (t.kmsKeyArn) {
      statements.push(new iam.PolicyStatement({ sid: 'DecryptTrailFiles', actions: ['kms:Decrypt'], resources: [t.kmsKeyArn], conditions: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } } }));
    }
    const policy = fn.addPolicy('TrailRead', statements);
    acknowledge(policy, `AwsSolutions-IAM5[Resource::${readResource}]`, 'Its only wildcard is the trail prefix: trail files are named by CloudTrail (account, region, date, random part): reading them needs the prefix with a wildcard; it covers AWSLogs/ under the trail prefix only.');
  }

  private routeNotifications(t: S3SourceSettings, logsPrefix: string): void {
    if (t.notifications === 's3') {
      const bucket = s3.Bucket.fromBucketArn(this, 'TrailBucket', t.bucketArn);
      bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.queue), { prefix: logsPrefix, suffix: '.json.gz' });
      // CDK's own custom resource that writes the bucket's notification configuration.
      const handlerRole = Stack.of(this).node.findAll().find((c) => c.node.path.includes('BucketNotificationsHandler') && c.node.id === 'Role');
      if (handlerRole) {
        acknowledge(handlerRole, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'CDK\'s BucketNotificationsHandler (a custom resource run at deploy time only) uses AWSLambdaBasicExecutionRole for its logs; CDK builds it and offers no other role.');
      }
    } else if (t.notifications === 'eventbridge') {
      new events.Rule(this, 'TrailFileCreated', {
        description: 'Trail files created under the trail prefix → the trail-file queue',
        eventPattern: { source: ['aws.s3'], detailType: ['Object Created'], detail: { bucket: { name: [t.bucketName] }, object: { key: [{ prefix: logsPrefix }] } } },
        targets: [new targets.SqsQueue(this.queue, { deadLetterQueue: this.deadLetterQueue })],
      });
    } else if (t.notifications === 'sns') {
      sns.Topic.fromTopicArn(this, 'TrailTopic', t.topicArn as string).addSubscription(new subs.SqsSubscription(this.queue, { deadLetterQueue: this.deadLetterQueue }));
    } else {
      // The bucket owner configures the notification; the queue lets that bucket's S3 send.
      this.queue.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'TrailBucketNotifications',
        principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: { ArnLike: { 'aws:SourceArn': t.bucketArn } },
      }));
    }
  }
}
