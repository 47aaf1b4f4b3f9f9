/**
 * The trail-file source (`-c source=s3`): trail files land in S3, a notification reaches the
 * queue, the S3 forwarder reads each file and posts its records to DNIF, keeping its place in
 * the object ledger (the checkpoint table). Also the test-connection function for this source
 * and the alarms and dashboard. docs/s3-source.md explains the design, docs/deploy.md the setup.
 */
import { Annotations, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
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
import { ConnectorSecret } from './connector-secret';
import { forwarderMetric, Monitoring } from './monitoring';
import { FORWARDER_SERVICE, METRICS_NAMESPACE, TEST_CONNECTION_SERVICE, type TrailFileMetricName } from '../functions/core/contract';
import { acknowledge } from './acknowledge';
import { assumeRoleStatement, checkpointStatement } from './permissions';
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
}

/** SPEC.md: the queue's visibility timeout is six times the function's (AWS's advice for SQS triggers). */
export const VISIBILITY_FACTOR = 6;
export const MAX_RECEIVE_COUNT = 5;

export class S3Source extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly forwarder: ServiceFunction;
  readonly testConnection: ServiceFunction;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: S3SourceProps) {
    super(scope, id);
    const { settings: s, s3: t, connector, table } = props;
    const logsPrefix = `${t.prefix ? `${t.prefix}/` : ''}AWSLogs/`;

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
        SECRET_ID: connector.secretId,
        CHECKPOINT_TABLE: table.tableName,
        BATCH_MAX_EVENTS: String(s.batchMaxEvents),
        BATCH_MAX_BYTES: String(s.batchMaxBytes),
        DNIF_OUTAGE_TOLERANCE_HOURS: String(t.outageToleranceHours),
        POWERTOOLS_SERVICE_NAME: FORWARDER_SERVICE,
        ...powertools,
      },
    });
    this.grantTrailRead(this.forwarder, props);
    this.forwarder.fn.addToRolePolicy(checkpointStatement(table));
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
        SECRET_ID: connector.secretId,
        SOURCE: 's3',
        TRAIL_BUCKET: t.bucketName,
        TRAIL_PREFIX: t.prefix,
        TRAIL_QUEUE_URL: this.queue.queueUrl,
        POWERTOOLS_SERVICE_NAME: TEST_CONNECTION_SERVICE,
        ...powertools,
      },
    });
    this.grantTrailRead(this.testConnection, props);
    this.testConnection.fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'SeeTheQueue', actions: ['sqs:GetQueueAttributes'], resources: [this.queue.queueArn] }));
    acknowledge(this.testConnection.fn, 'Serverless-LambdaDLQ', 'Invoked only synchronously, through its function URL: the caller gets the error in the response.');
    const url = this.testConnection.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType[s.functionUrlAuth] });
    if (s.functionUrlAuth === 'NONE') {
      Annotations.of(url).addWarningV2('cloudtrail-dnif:PublicTestConnectionUrl', 'functionUrlAuth=NONE: anyone who learns the test-connection URL can call it. Prefer AWS_IAM (docs/deploy.md).');
    }

    this.monitoring = new Monitoring(this, 'Monitoring', {
      forwarder: this.forwarder.fn,
      testConnection: this.testConnection.fn,
      deadLetterQueue: this.deadLetterQueue,
      scheduleMinutes: 5,
      connectors: [],
      namePrefix: Stack.of(this).stackName,
      lagAlarmSeconds: s.lagAlarmSeconds,
      noEventsAlarmHours: s.noEventsAlarmHours,
      alarmEmail: s.alarmEmail,
      alarmTopicArn: s.alarmTopicArn,
    });
    this.monitoring.alarm('QueueAgeHigh', `A trail-file notification has waited more than ${t.queueAgeAlarmSeconds} s (DNIF outage, or the forwarder cannot keep up).`,
      this.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(5) }), { threshold: t.queueAgeAlarmSeconds, evaluationPeriods: 2 });
    this.monitoring.alarm('ObjectReadErrors', 'A trail file could not be read (access or KMS denied, missing, corrupt); its message goes to the dead-letter queue.',
      forwarderMetric('ObjectReadErrors', 'Sum', Duration.minutes(5)), { threshold: 1 });

    const files = (name: TrailFileMetricName) => forwarderMetric(name, 'Sum', Duration.minutes(5));
    this.monitoring.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Trail files', left: [files('ObjectsForwarded'), files('ObjectsSkipped'), files('ObjectReadErrors'), files('Continuations'), files('DeliveryDeferred')], width: 12, height: 6 }),
      new cloudwatch.GraphWidget({
        title: 'Trail-file queue',
        left: [this.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' }), this.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum' })],
        width: 12,
        height: 6,
      }),
    );

    const output = (oid: string, value: string, description: string) => new CfnOutput(this, oid, { value, description });
    output('TrailQueueUrl', this.queue.queueUrl, 'The queue trail-file notifications go to');
    output('TrailQueueArn', this.queue.queueArn, 'Point the bucket notification, EventBridge rule or SNS subscription here');
    output('TrailDeadLetterQueueUrl', this.deadLetterQueue.queueUrl, 'Messages whose files could not be read');
    output('TestConnectionUrl', url.url, `Test-connection function URL (auth ${s.functionUrlAuth})`);
    output('ForwarderFunctionName', this.forwarder.fn.functionName, 'The S3 forwarder (direct invoke for replay: docs/s3-source.md)');
    output('ForwarderRoleArn', this.forwarder.role.roleArn, 'Execution role of the S3 forwarder (grant it the bucket and key in the log-archive account)');
    output('DashboardUrl', this.monitoring.dashboardUrl, 'CloudWatch dashboard');
  }

  /** GetObject and ListBucket on the trail's prefix only; kms:Decrypt on its key, through S3 only. */
  private grantTrailRead(fn: ServiceFunction, props: S3SourceProps): void {
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
