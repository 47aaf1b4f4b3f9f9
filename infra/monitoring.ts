/**
 * Alarms (to one SNS topic) and a dashboard over the forwarder's EMF metrics and the
 * Lambda, queue and schedule metrics around it. docs/deploy.md has a runbook line per alarm.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONNECTOR_DIMENSION, FORWARDER_SERVICE, type ForwarderMetricName, METRICS_NAMESPACE, type TrailFileMetricName } from '../functions/core/contract';
import { acknowledge } from './acknowledge';

/** A connector the alarms watch on its own. */
export interface MonitoredConnector {
  readonly name: string;
  /** Set for a named connector: its metrics carry the `connector` dimension, its alarms its name. */
  readonly dimension?: string;
  readonly scheduleMinutes: number;
}

/** The Event history functions and their dead-letter queue (absent when every connector reads trail files). */
export interface EventHistoryResources {
  readonly forwarder: lambda.IFunction;
  readonly testConnection: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
}

export interface MonitoringProps {
  readonly eventHistory?: EventHistoryResources;
  /** The shortest interval of any connector: the forwarder function runs at least this often. */
  readonly scheduleMinutes: number;
  readonly connectors: MonitoredConnector[];
  readonly lagAlarmSeconds: number;
  /** Alarm when a run delivered an event more than this long after its EventTime. */
  readonly deliveryDelayAlarmSeconds?: number;
  readonly noEventsAlarmHours?: number;
  readonly alarmEmail?: string;
  readonly alarmTopicArn?: string;
  readonly existingAlarmTopic?: sns.ITopic;
  /** Prefix of alarm and dashboard names. */
  readonly namePrefix: string;
}

/** One of the forwarder's own metrics, as Powertools publishes it: all connectors, or one. */
export function forwarderMetric(name: ForwarderMetricName | TrailFileMetricName, statistic: string, period: Duration, connector?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: connector ? { service: FORWARDER_SERVICE, [CONNECTOR_DIMENSION]: connector } : { service: FORWARDER_SERVICE },
    statistic,
    period,
  });
}

/** The alarm period for a schedule: one run per period, never under 5 minutes. */
const periodFor = (scheduleMinutes: number) => Duration.minutes(Math.max(5, scheduleMinutes));

export class Monitoring extends Construct {
  readonly topic: sns.ITopic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  readonly dashboardUrl: string;
  private readonly alarmPrefix: string;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.alarmPrefix = props.namePrefix;
    this.topic =
      props.existingAlarmTopic ?? (props.alarmTopicArn ? sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) : this.createTopic());
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
    const period = periodFor(props.scheduleMinutes);
    if (props.eventHistory) this.addEventHistoryAlarms(props.eventHistory, period);
    for (const c of props.connectors) this.addConnectorAlarms(c, props);

    const dashboardName = `${props.namePrefix}-${Aws.REGION}`;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName, defaultInterval: Duration.days(1) });
    this.dashboardUrl = `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${dashboardName}`;
    this.addWidgets(props, period);
  }

  private addEventHistoryAlarms({ forwarder, testConnection, deadLetterQueue: dlq }: EventHistoryResources, period: Duration): void {
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
    this.alarm('DeadLetters', 'A forwarder run or its schedule delivery was dropped into the dead-letter queue.',
      dlq.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }), { threshold: 1 });
    this.alarm('TestConnectionErrors', 'The test-connection function crashed (a failed check is a 4xx/5xx answer, not an error).',
      testConnection.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }), { threshold: 1 });
  }

  /**
   * Lag, delivery and (optionally) silence, per connector: one connector failing shows as its
   * own alarm while the others stay green. The one-connector form keeps the plain alarm names.
   */
  private addConnectorAlarms(c: MonitoredConnector, props: MonitoringProps): void {
    const period = periodFor(c.scheduleMinutes);
    const id = (alarm: string) => (c.dimension ? `${c.dimension}-${alarm}` : alarm);
    const of = c.dimension ? ` (connector ${c.dimension})` : '';
    const metric = (name: ForwarderMetricName, statistic: string, p = period) => forwarderMetric(name, statistic, p, c.dimension);
    this.alarm(id('LagHigh'), `The oldest undelivered CloudTrail event${of} is more than ${props.lagAlarmSeconds} s old.`,
      metric('LagSeconds', 'Maximum'), {
        threshold: props.lagAlarmSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
      }, 'LagHigh');
    this.alarm(id('SinkErrors'), `Delivery to DNIF${of} failed in 3 consecutive periods.`, metric('SinkErrors', 'Sum'), {
      threshold: 1,
      evaluationPeriods: 3,
    }, 'SinkErrors');
    if (c.dimension) {
      // Lambda's Errors counts every connector's runs; this one is the connector's own.
      this.alarm(id('RunsFailed'), `A forwarder run${of} failed.`, metric('RunsFailed', 'Sum'), { threshold: 1 }, 'ForwarderErrors');
    }
    if (props.deliveryDelayAlarmSeconds) {
      this.alarm(id('DeliveryDelayHigh'), `Runs${of} delivered events more than ${props.deliveryDelayAlarmSeconds} s after their EventTime in 2 periods.`,
        metric('DeliveryDelaySeconds', 'Maximum'), {
          threshold: props.deliveryDelayAlarmSeconds,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 2,
          // A run that delivered nothing reports no delay: quiet is not late.
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }, 'DeliveryDelayHigh');
    }
    if (props.noEventsAlarmHours) {
      this.alarm(id('NoEventsForwarded'), `No CloudTrail event${of} was forwarded for ${props.noEventsAlarmHours} h.`,
        metric('EventsForwarded', 'Sum', Duration.hours(1)), {
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: props.noEventsAlarmHours,
          // No data means no runs or nothing forwarded: both are what this alarm is for.
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        }, 'NoEventsForwarded');
    }
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

  /**
   * An alarm on the topic with its runbook pointer (the trail-file connectors and their audits add
   * theirs through it). `scope` holds the alarm construct (default this one); its name is
   * `<prefix>-<id>` either way.
   */
  alarm(
    id: string,
    what: string,
    metric: cloudwatch.Metric | cloudwatch.MathExpression,
    options: Partial<cloudwatch.CreateAlarmOptions> & { threshold: number },
    runbook = id,
    runbookFile = 'docs/deploy.md',
    scope: Construct = this,
  ): void {
    const evaluationPeriods = options.evaluationPeriods ?? 1;
    const alarm = metric.createAlarm(scope, id, {
      alarmName: `${this.alarmPrefix}-${id}`,
      alarmDescription: `${what} Runbook: ${runbookFile}, "${runbook}".`,
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
      graph('Failed runs, sink errors, CloudTrail throttling, unconfigured connectors', [
        appSum('RunsFailed'), appSum('SinkErrors'), appSum('Throttles'), appSum('ConnectorNotConfigured'),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Delivery delay, EventTime → DNIF 2xx (s)', [
        forwarderMetric('DeliveryDelaySeconds', 'Maximum', period), forwarderMetric('DeliveryDelayP95Seconds', 'Maximum', period),
      ], {
        leftAnnotations: props.deliveryDelayAlarmSeconds
          ? [{ value: props.deliveryDelayAlarmSeconds, label: 'DeliveryDelayHigh alarm', color: cloudwatch.Color.RED }]
          : undefined,
      }),
      graph('Re-read window (s); LookupEvents budget and calls per 1,000 events', [forwarderMetric('RereadWindowSeconds', 'Minimum', period)], {
        right: [forwarderMetric('LookupBudgetCalls', 'Minimum', period), forwarderMetric('LookupCallsPer1000Events', 'Average', period)],
      }),
    );
    const named = props.connectors.filter((c) => c.dimension);
    if (named.length) {
      const each = (name: ForwarderMetricName, statistic: string) => named.map((c) => forwarderMetric(name, statistic, period, c.dimension).with({ label: `${c.dimension} ${name}` }));
      this.dashboard.addWidgets(
        graph('Events forwarded, by connector', each('EventsForwarded', 'Sum')),
        graph('Lag (s), by connector', each('LagSeconds', 'Maximum')),
        graph('Failed runs and sink errors, by connector', [...each('RunsFailed', 'Sum'), ...each('SinkErrors', 'Sum')]),
      );
    }
    if (!props.eventHistory) return;
    const { forwarder, testConnection, deadLetterQueue: dlq } = props.eventHistory;
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
