/** The freshness figures on the dashboard, and the optional DeliveryDelayHigh alarm. */
import { OptionError, optionsFromContext, resolveSettings } from '../../infra/settings';
import { build, props } from './helpers';

const APP_METRIC = { Namespace: 'CloudTrailToDnif', Dimensions: [{ Name: 'service', Value: 'cloudtrail-dnif-forwarder' }] };
const alarmNamed = (t: ReturnType<typeof build>['template'], name: string) =>
  Object.values(t.findResources('AWS::CloudWatch::Alarm')).find((a) => a.Properties.AlarmName === `Test-${name}`)?.Properties;

describe('DeliveryDelayHigh alarm', () => {
  it('is not there unless asked for', () => {
    expect(alarmNamed(build().template, 'DeliveryDelayHigh')).toBeUndefined();
  });

  it('watches the largest EventTime → DNIF delay of each period, over the threshold twice; quiet periods are not late', () => {
    const t = build({ deliveryDelayAlarmSeconds: 900, scheduleMinutes: 5 }).template;
    expect(alarmNamed(t, 'DeliveryDelayHigh')).toMatchObject({
      ...APP_METRIC,
      MetricName: 'DeliveryDelaySeconds',
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 900,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
      TreatMissingData: 'notBreaching',
      AlarmDescription: expect.stringMatching(/Runbook: docs\/deploy\.md/),
    });
  });

  it('is read from context and bounded, the error naming the option', () => {
    expect(optionsFromContext({ deliveryDelayAlarmSeconds: '1200' }).deliveryDelayAlarmSeconds).toBe(1200);
    expect(resolveSettings({ deliveryDelayAlarmSeconds: 600 }).deliveryDelayAlarmSeconds).toBe(600);
    expect(() => resolveSettings({ deliveryDelayAlarmSeconds: 10 })).toThrow(OptionError);
    expect(() => resolveSettings({ deliveryDelayAlarmSeconds: 10 })).toThrow(/deliveryDelayAlarmSeconds/);
  });
});

describe('dashboard', () => {
  it('shows the delivery delay (max and p95), the re-read window and calls per 1,000 events', () => {
    const t = build({ deliveryDelayAlarmSeconds: 900 }).template;
    const body = JSON.stringify(props(t, 'AWS::CloudWatch::Dashboard', 'MonitoringDashboard').DashboardBody);
    for (const name of ['DeliveryDelaySeconds', 'DeliveryDelayP95Seconds', 'RereadWindowSeconds', 'LookupBudgetCalls', 'LookupCallsPer1000Events']) expect(body).toContain(name);
    expect(body).toContain('DeliveryDelayHigh alarm');
  });
});
