/**
 * One connector: a schedule runs the forwarder, which reads CloudTrail Event history and posts
 * to DNIF, keeping its place in a DynamoDB table; a second function behind a URL tests the
 * connector. Deploy one stack per connector (`-c stackName=...`).
 */
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ConnectorSecret } from './connector-secret';
import { Monitoring } from './monitoring';
import { FORWARDER_SERVICE, METRICS_NAMESPACE, TEST_CONNECTION_SERVICE } from './names';
import { acknowledge } from './nag';
import { assumeRoleStatement, checkpointStatement, lookupEventsStatement } from './permissions';
import { S3Source } from './s3-source';
import { resolveS3Settings, S3SourceOptions } from './s3-settings';
import { ServiceFunction } from './service-function';
import { ForwarderOptions, Settings, resolveSettings } from './settings';
import { TrailAudit, resolveTrailAudit } from './trail-audit';

export interface ForwarderStackProps extends StackProps, ForwarderOptions, S3SourceOptions {}

/** Lambda's hard limit, and the room a run leaves before the next schedule starts. */
const MAX_TIMEOUT_SECONDS = 900;
const SCHEDULE_SLACK_SECONDS = 30;

export class ForwarderStack extends Stack {
  readonly settings: Settings;

  constructor(scope: Construct, id: string, props: ForwarderStackProps = {}) {
    super(scope, id, props);
    const s = (this.settings = resolveSettings(props));
    const interval = Duration.minutes(s.scheduleMinutes);

    const connector = new ConnectorSecret(this, 'Connector', {
      secretArn: s.secretArn,
      secretKmsKeyArn: s.secretKmsKeyArn,
      secretName: s.secretName ?? `${this.stackName}/connector`,
    });

    const table = new dynamodb.Table(this, 'Checkpoints', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Losing the checkpoints means a re-backfill and duplicates in DNIF.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // -c source=s3: trail files through SQS instead of the Event history schedule (infra/s3-source.ts).
    const trail = resolveS3Settings(props);
    resolveTrailAudit(props, trail); // checks its options on either path
    if (trail) {
      const source = new S3Source(this, 'TrailFiles', { settings: s, s3: trail, connector, table });
      new TrailAudit(this, 'TrailAudit', { ...s, settings: resolveTrailAudit(props, trail)!, connector, table, monitoring: source.monitoring, testConnection: source.testConnection });
      return;
    }

    const dlq = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const terminal =
      'This queue is itself the dead-letter destination (failed forwarder runs and undeliverable schedule events); ' +
      'a further redrive would only move the same records, and the DeadLetters alarm watches it.';
    acknowledge(dlq, 'AwsSolutions-SQS3', terminal);
    acknowledge(dlq, 'Serverless-SQSRedrivePolicy', terminal);

    const powertools = {
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
    };

    const forwarder = new ServiceFunction(this, 'Forwarder', {
      entry: 'functions/forwarder/handler.ts',
      description: 'Forwards CloudTrail Event history to DNIF',
      memorySize: s.memorySize,
      // Ends before the next scheduled run starts.
      timeout: Duration.seconds(Math.min(interval.toSeconds() - SCHEDULE_SLACK_SECONDS, MAX_TIMEOUT_SECONDS)),
      // One run at a time per connector; the lease in the table is the second line of defence.
      reservedConcurrentExecutions: 1,
      logRetentionDays: s.logRetentionDays,
      environment: {
        SECRET_ID: connector.secretId,
        CHECKPOINT_TABLE: table.tableName,
        LATENESS_SECONDS: String(s.latenessSeconds),
        BACKFILL_SECONDS: String(s.backfillSeconds),
        BATCH_MAX_EVENTS: String(s.batchMaxEvents),
        BATCH_MAX_BYTES: String(s.batchMaxBytes),
        POWERTOOLS_SERVICE_NAME: FORWARDER_SERVICE,
        ...powertools,
      },
    });
    this.grantConnectorUse(forwarder, connector, s);
    forwarder.fn.addToRolePolicy(checkpointStatement(table));

    // A failed run is not retried: the next scheduled run resumes from the checkpoint. A run
    // that waited longer than one interval is superseded by the next one.
    forwarder.fn.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: interval,
      onFailure: sendMessageOnlyTo(dlq),
    });
    acknowledge(
      forwarder.fn,
      'Serverless-LambdaDLQ',
      'Failed asynchronous runs go to the on-failure destination (the dead-letter SQS queue) of the EventInvokeConfig, ' +
        'whose record carries the error as well as the event; a DeadLetterConfig as well would deliver every failure twice.',
    );

    new events.Rule(this, 'Schedule', {
      description: `Runs the CloudTrail-to-DNIF forwarder every ${s.scheduleMinutes} minute(s)`,
      schedule: events.Schedule.rate(interval),
      targets: [
        new targets.LambdaFunction(forwarder.fn, {
          deadLetterQueue: dlq,
          retryAttempts: 2,
          maxEventAge: interval,
        }),
      ],
    });

    const testConnection = new ServiceFunction(this, 'TestConnection', {
      entry: 'functions/test-connection/handler.ts',
      description: 'Checks the CloudTrail-to-DNIF connector (function URL)',
      memorySize: 256,
      timeout: Duration.seconds(15),
      // Caps what a flood of URL calls can cost, and how much of the account's LookupEvents
      // quota (2/s, shared with the forwarder) it can take.
      reservedConcurrentExecutions: 2,
      logRetentionDays: s.logRetentionDays,
      environment: { SECRET_ID: connector.secretId, POWERTOOLS_SERVICE_NAME: TEST_CONNECTION_SERVICE, ...powertools },
    });
    this.grantConnectorUse(testConnection, connector, s);
    acknowledge(
      testConnection.fn,
      'Serverless-LambdaDLQ',
      'Invoked only synchronously, through its function URL: the caller gets the error in the response, so there is no ' +
        'asynchronous event to dead-letter.',
    );
    const url = testConnection.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType[s.functionUrlAuth] });
    if (s.functionUrlAuth === 'NONE') {
      Annotations.of(url).addWarningV2(
        'cloudtrail-dnif:PublicTestConnectionUrl',
        'functionUrlAuth=NONE: anyone who learns the test-connection URL can call it. Each call reads the connector ' +
          'secret, calls LookupEvents (sharing the 2/s quota with the forwarder) and contacts DNIF; the answer names ' +
          'failed checks but never secret values. Prefer AWS_IAM and a SigV4 client (docs/deploy.md).',
      );
    }

    const monitoring = new Monitoring(this, 'Monitoring', {
      forwarder: forwarder.fn,
      testConnection: testConnection.fn,
      deadLetterQueue: dlq,
      scheduleMinutes: s.scheduleMinutes,
      lagAlarmSeconds: s.lagAlarmSeconds,
      noEventsAlarmHours: s.noEventsAlarmHours,
      alarmEmail: s.alarmEmail,
      alarmTopicArn: s.alarmTopicArn,
    });

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('TestConnectionUrl', url.url, `Test-connection function URL (auth ${s.functionUrlAuth})`);
    output('ConnectorSecretArn', connector.secret.secretArn, 'Put the connector JSON here (put-secret-value)');
    output('CheckpointTableName', table.tableName, 'DynamoDB checkpoint and lease table');
    output('DashboardUrl', monitoring.dashboardUrl, 'CloudWatch dashboard');
    output('AlarmTopicArn', monitoring.topic.topicArn, 'SNS topic the alarms notify');
    output('ForwarderFunctionName', forwarder.fn.functionName, 'Forwarder Lambda function');
    output('DeadLetterQueueUrl', dlq.queueUrl, 'Failed runs and undeliverable schedule events');
    output('TestConnectionFunctionArn', testConnection.fn.functionArn, 'Grant callers lambda:InvokeFunctionUrl and lambda:InvokeFunction on this');
    // A connector roleArn must trust these two roles.
    output('ForwarderRoleArn', forwarder.role.roleArn, 'Execution role of the forwarder');
    output('TestConnectionRoleArn', testConnection.role.roleArn, 'Execution role of test-connection');
  }

  /** Read the secret; read CloudTrail with the function's own role; assume the connector role. */
  private grantConnectorUse(fn: ServiceFunction, connector: ConnectorSecret, s: Settings): void {
    for (const statement of connector.readStatements()) fn.fn.addToRolePolicy(statement);
    if (s.roleArn) fn.fn.addToRolePolicy(assumeRoleStatement(s.roleArn));
    const lookup = fn.addPolicy('CloudTrailLookup', [lookupEventsStatement(s.regions)]);
    acknowledge(
      lookup,
      'AwsSolutions-IAM5[Resource::*]',
      'cloudtrail:LookupEvents supports no resource-level permissions, so "*" is its only valid resource (it is ' +
        'narrowed by aws:RequestedRegion when -c regions is set). It is the only statement in this policy; it is ' +
        'used when the connector has no access key of its own and reads CloudTrail with the function role.',
    );
  }
}

/**
 * The on-failure destination with only sqs:SendMessage: lambda-destinations' SqsDestination
 * grants GetQueueAttributes and GetQueueUrl as well, which Lambda does not need.
 */
function sendMessageOnlyTo(queue: sqs.IQueue): lambda.IDestination {
  return {
    bind: (_scope, fn) => {
      fn.addToRolePolicy(
        new iam.PolicyStatement({ sid: 'SendFailedRunsToDlq', actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
      );
      return { destination: queue.queueArn };
    },
  };
}
