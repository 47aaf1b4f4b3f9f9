/**
 * Alarms (to one SNS topic) and a dashboard over the forwarder's EMF metrics and the
 * Lambda, queue and schedule metrics around it. docs/deploy.md has a runbook line per alarm.
 */
import { Aws, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FORWARDER_SERVICE, ForwarderMetricName, METRICS_NAMESPACE, TrailFileMetricName } from './names';
import { acknowledge } from './nag';

export interface MonitoringProps {
  readonly forwarder: lambda.IFunction;
  readonly testConnection: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  readonly scheduleMinutes: number;
  readonly lagAlarmSeconds: number;
  readonly noEventsAlarmHours?: number;
  readonly alarmEmail?: string;
  readonly alarmTopicArn?: string;
}

/** One of the forwarder's own metrics, as Powertools publishes it. */
export function forwarderMetric(name: ForwarderMetricName | TrailFileMetricName, statistic: string, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: FORWARDER_SERVICE },
    statistic,
    period,
  });
}

export class Monitoring extends Construct {
  readonly topic: sns.ITopic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  readonly dashboardUrl: string;
  private readonly alarmPrefix: string;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.alarmPrefix = Stack.of(this).stackName;
    this.topic = props.alarmTopicArn ? sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) : this.createTopic();
    if (props.alarmEmail) {
      const subscription = new sns.Subscription(this, 'AlarmEmail', {
        topic: this.topic,
        protocol: sns.SubscriptionProtocol.EMAIL,
        endpoint: props.alarmEmail,
      });
      acknowledge(
        subscription,
        'Serverless-SNSRedrivePolicy',
        'E-mail alert subscription: a message SNS cannot deliver to a mailbox would sit in a queue nobody reads. ' +
          'The alarm itself stays in ALARM in CloudWatch and on the dashboard, which is where it is acted on.',
      );
    }

    // One period per run, never under 5 minutes: a longer interval would leave empty periods
    // between runs, and the Lambda metrics are smoother over 5.
    const period = Duration.minutes(Math.max(5, props.scheduleMinutes));
    const { forwarder, testConnection, deadLetterQueue: dlq } = props;

    const sum = { statistic: 'Sum', period };
    this.alarm('ForwarderErrors', 'The forwarder run failed (threw or timed out).', forwarder.metricErrors(sum), {
      threshold: 1,
    });
    this.alarm('ForwarderThrottled', 'A scheduled run was throttled: the previous run still held the one reserved slot.',
      forwarder.metricThrottles(sum), { threshold: 1 });
    this.alarm('ForwarderNotRunning', 'The schedule has not started the forwarder for 3 periods.', forwarder.metricInvocations(sum), {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.alarm('LagHigh', `The oldest undelivered CloudTrail event is more than ${props.lagAlarmSeconds} s old.`,
      forwarderMetric('LagSeconds', 'Maximum', period), {
        threshold: props.lagAlarmSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
      });
    this.alarm('SinkErrors', 'Delivery to DNIF failed in 3 consecutive periods.', forwarderMetric('SinkErrors', 'Sum', period), {
      threshold: 1,
      evaluationPeriods: 3,
    });
    this.alarm('DeadLetters', 'A forwarder run or its schedule delivery was dropped into the dead-letter queue.',
      dlq.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }), { threshold: 1 });
    this.alarm('TestConnectionErrors', 'The test-connection function crashed (a failed check is a 4xx/5xx answer, not an error).',
      testConnection.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }), { threshold: 1 });
    if (props.noEventsAlarmHours) {
      this.alarm('NoEventsForwarded', `No CloudTrail event was forwarded for ${props.noEventsAlarmHours} h.`,
        forwarderMetric('EventsForwarded', 'Sum', Duration.hours(1)), {
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: props.noEventsAlarmHours,
          // No data means no runs or nothing forwarded: both are what this alarm is for.
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        });
    }

    const dashboardName = `${Stack.of(this).stackName}-${Aws.REGION}`;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName, defaultInterval: Duration.days(1) });
    this.dashboardUrl = `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${dashboardName}`;
    this.addWidgets(props, period);
  }

  private createTopic(): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the CloudTrail-to-DNIF alarm topic',
      enableKeyRotation: true,
    });
    // CloudWatch alarms cannot publish to a topic under the AWS managed aws/sns key; a customer
    // managed key must let CloudWatch use it.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'CloudTrail to DNIF forwarder alarms',
      masterKey: key,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisAccountsAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
        },
      }),
    );
    return topic;
  }

  /** An alarm on the topic, with its runbook named in the description (the trail-file source and the audit add theirs here). */
  alarm(
    id: string,
    what: string,
    metric: cloudwatch.Metric | cloudwatch.MathExpression,
    options: Partial<cloudwatch.CreateAlarmOptions> & { threshold: number },
    runbook = 'docs/deploy.md',
  ): void {
    const evaluationPeriods = options.evaluationPeriods ?? 1;
    const alarm = metric.createAlarm(this, id, {
      alarmName: `${this.alarmPrefix}-${id}`,
      alarmDescription: `${what} Runbook: ${runbook}, "${id}".`,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...options,
      evaluationPeriods,
      datapointsToAlarm: evaluationPeriods,
    });
    const action = new actions.SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
  }

  private addWidgets(props: MonitoringProps, period: Duration): void {
    const { forwarder, testConnection, deadLetterQueue: dlq } = props;
    const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, period, ...extra });
    const appSum = (name: ForwarderMetricName) => forwarderMetric(name, 'Sum', period);

    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      graph('Events', [
        appSum('EventsForwarded'), appSum('DuplicatesSkipped'), appSum('EventsFiltered'),
        appSum('EventsTruncated'), appSum('EventsUnparsed'),
      ]),
      graph('Lag (s, max across regions)', [forwarderMetric('LagSeconds', 'Maximum', period)], {
        leftAnnotations: [{ value: props.lagAlarmSeconds, label: 'LagHigh alarm', color: cloudwatch.Color.RED }],
      }),
      graph('Sink errors and CloudTrail throttling', [appSum('SinkErrors'), appSum('Throttles')]),
    );
    this.dashboard.addWidgets(
      graph('Run duration (ms)', [forwarderMetric('RunDuration', 'Maximum', period), forwarderMetric('RunDuration', 'Average', period)]),
      graph('Forwarder Lambda', [
        forwarder.metricInvocations({ statistic: 'Sum' }),
        forwarder.metricErrors({ statistic: 'Sum' }),
        forwarder.metricThrottles({ statistic: 'Sum' }),
        forwarder.metric('ConcurrentExecutions', { statistic: 'Maximum' }),
      ]),
      graph('Forwarder Lambda duration (ms)', [
        forwarder.metricDuration({ statistic: 'Maximum' }),
        forwarder.metricDuration({ statistic: 'p50' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Dead-letter queue', [
        dlq.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' }),
        dlq.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum' }),
      ]),
      graph('Test connection Lambda', [
        testConnection.metricInvocations({ statistic: 'Sum' }),
        testConnection.metricErrors({ statistic: 'Sum' }),
        testConnection.metricThrottles({ statistic: 'Sum' }),
      ]),
    );
  }
}
