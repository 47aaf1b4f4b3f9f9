/** Alarms, their metrics and where they notify; the topic; the dashboard. */
import { Template } from 'aws-cdk-lib/assertions';
import { FORWARDER_METRICS } from '../../functions/core/contract';
import { build, logicalId, props } from './helpers';

const { template } = build();
const alarms = (t: Template) =>
  Object.fromEntries(
    Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => [String(a.Properties.AlarmName).replace(/^Test-/, ''), a.Properties]),
  );
const byName = alarms(template);
const forwarderRef = { Ref: logicalId(template, 'AWS::Lambda::Function', 'ForwarderFunction') };
const topicRef = { Ref: logicalId(template, 'AWS::SNS::Topic', 'MonitoringAlarmTopic') };
const APP_METRIC = { Namespace: 'CloudTrailToDnif', Dimensions: [{ Name: 'service', Value: 'cloudtrail-dnif-forwarder' }] };

describe('alarms (defaults)', () => {
  it('are exactly these, each notifying the topic on alarm and on recovery', () => {
    expect(Object.keys(byName).sort()).toEqual(
      ['DeadLetters', 'ForwarderErrors', 'ForwarderNotRunning', 'ForwarderThrottled', 'LagHigh', 'SinkErrors', 'TestConnectionErrors'].sort(),
    );
    for (const a of Object.values(byName)) {
      expect(a.AlarmActions).toEqual([topicRef]);
      expect(a.OKActions).toEqual([topicRef]);
      expect(a.AlarmDescription).toMatch(/Runbook: docs\/deploy\.md/);
    }
  });

  it('ForwarderErrors: any Lambda error of the forwarder in one period', () => {
    expect(byName.ForwarderErrors).toMatchObject({
      Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: forwarderRef }],
      Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1, Period: 300,
      TreatMissingData: 'notBreaching',
    });
  });

  it('ForwarderThrottled: the Lambda itself was throttled', () => {
    expect(byName.ForwarderThrottled).toMatchObject({
      Namespace: 'AWS/Lambda', MetricName: 'Throttles', Dimensions: [{ Name: 'FunctionName', Value: forwarderRef }],
      Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('ForwarderNotRunning: no invocation for 3 periods, missing data counts', () => {
    expect(byName.ForwarderNotRunning).toMatchObject({
      MetricName: 'Invocations', Threshold: 1, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 3,
      TreatMissingData: 'breaching',
    });
  });

  it('LagHigh: max LagSeconds above 1800 s for 2 periods', () => {
    expect(byName.LagHigh).toMatchObject({
      ...APP_METRIC, MetricName: 'LagSeconds', Statistic: 'Maximum', Threshold: 1800,
      ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 2, DatapointsToAlarm: 2,
    });
  });

  it('SinkErrors: at least one sink error in each of 3 periods', () => {
    expect(byName.SinkErrors).toMatchObject({
      ...APP_METRIC, MetricName: 'SinkErrors', Statistic: 'Sum', Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 3, DatapointsToAlarm: 3,
    });
  });

  it('DeadLetters: any visible message in the DLQ', () => {
    expect(byName.DeadLetters).toMatchObject({
      Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Statistic: 'Maximum', Threshold: 1,
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'DeadLetterQueue'), 'QueueName'] } }],
    });
  });

  it('TestConnectionErrors: the test-connection Lambda crashed', () => {
    expect(byName.TestConnectionErrors).toMatchObject({
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(template, 'AWS::Lambda::Function', 'TestConnectionFunction') } }],
    });
  });
});

describe('alarms (configured)', () => {
  const t = build({ noEventsAlarmHours: 6, lagAlarmSeconds: 600, scheduleMinutes: 15 }).template;
  const a = alarms(t);

  it('NoEventsForwarded: nothing forwarded for N hours, missing data breaching', () => {
    expect(a.NoEventsForwarded).toMatchObject({
      ...APP_METRIC, MetricName: 'EventsForwarded', Statistic: 'Sum', Period: 3600, EvaluationPeriods: 6, DatapointsToAlarm: 6,
      Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching',
    });
  });

  it('uses the configured lag threshold and one period per run for a longer schedule', () => {
    expect(a.LagHigh).toMatchObject({ Threshold: 600, Period: 900 });
    expect(a.SinkErrors.Period).toBe(900);
  });

  it('has no NoEventsForwarded alarm unless asked for', () => {
    expect(byName.NoEventsForwarded).toBeUndefined();
  });
});

describe('alarm topic', () => {
  it('is created encrypted with a rotating key CloudWatch may use, and refuses non-TLS publishing', () => {
    const keyId = logicalId(template, 'AWS::KMS::Key', 'MonitoringAlarmTopicKey');
    expect(props(template, 'AWS::SNS::Topic', 'MonitoringAlarmTopic').KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const key = props(template, 'AWS::KMS::Key', 'MonitoringAlarmTopicKey');
    expect(key.EnableKeyRotation).toBe(true);
    expect(key.KeyPolicy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
      ]),
    );
    const policy = props(template, 'AWS::SNS::TopicPolicy', 'MonitoringAlarmTopic').PolicyDocument.Statement;
    expect(policy).toEqual(
      expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
    );
  });

  it('has no subscription unless an e-mail is given', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    const t = build({ alarmEmail: 'ops@example.com' }).template;
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it('is not created when an existing topic is given; alarms notify that one', () => {
    const arn = 'arn:aws:sns:us-east-1:123456789012:ops-alerts';
    const t = build({ alarmTopicArn: arn, alarmEmail: 'ops@example.com' }).template;
    t.resourceCountIs('AWS::SNS::Topic', 0);
    expect(Object.keys(t.findResources('AWS::KMS::Key')).filter((id) => id.startsWith('Monitoring'))).toEqual([]);
    for (const alarm of Object.values(alarms(t))) expect(alarm.AlarmActions).toEqual([arn]);
    t.hasResourceProperties('AWS::SNS::Subscription', { TopicArn: arn, Protocol: 'email' });
    expect(t.findOutputs('AlarmTopicArn').AlarmTopicArn.Value).toBe(arn);
  });
});

describe('dashboard', () => {
  const body = JSON.stringify(props(template, 'AWS::CloudWatch::Dashboard', 'MonitoringDashboard').DashboardBody);

  it('graphs every forwarder metric in the app namespace with the service dimension', () => {
    for (const name of Object.keys(FORWARDER_METRICS)) {
      expect(body).toContain(`[\\"CloudTrailToDnif\\",\\"${name}\\",\\"service\\",\\"cloudtrail-dnif-forwarder\\"`);
    }
  });

  it('graphs the Lambda and queue metrics and shows the alarms', () => {
    for (const metric of ['Invocations', 'Errors', 'Throttles', 'Duration', 'ConcurrentExecutions', 'ApproximateNumberOfMessagesVisible']) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
    expect(body).toContain('\\"alarms\\"');
  });
});
