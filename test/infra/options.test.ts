/** Options: context parsing, defaults, checks, and what each one changes in the stack. */
import * as fs from 'fs';
import * as path from 'path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { isCompleteSecretArn } from '../../infra/connector-secret';
import { OPTION_SPECS, OptionError, optionsFromContext, resolveSettings } from '../../infra/settings';
import { build, props } from './helpers';

const fromContext = (ctx: Record<string, unknown>) => optionsFromContext(ctx);

describe('context parsing', () => {
  it('reads the documented -c options (all strings on the command line)', () => {
    expect(
      fromContext({
        scheduleMinutes: '10', regions: 'us-east-1, eu-west-1', memorySize: '1024', functionUrlAuth: 'NONE',
        noEventsAlarmHours: '6', lagAlarmSeconds: '900', alarmEmail: 'ops@example.com',
      }),
    ).toMatchObject({
      scheduleMinutes: 10, regions: ['us-east-1', 'eu-west-1'], memorySize: 1024, functionUrlAuth: 'NONE',
      noEventsAlarmHours: 6, lagAlarmSeconds: 900, alarmEmail: 'ops@example.com',
    });
  });

  it('reads the trail-file options of -c source=s3 (strings) into one trail-file connector, and suggests them for a typo', () => {
    const options = fromContext({ source: 's3', trailBucket: 'org-log-archive', trailPrefix: 'org', maxConcurrency: '4', s3FunctionTimeoutSeconds: '120' });
    expect(options).toMatchObject({ source: 's3', trailBucket: 'org-log-archive', maxConcurrency: 4, s3FunctionTimeoutSeconds: 120 });
    expect(resolveSettings(options).connectors).toMatchObject([{ source: 's3', implicit: true, s3: { bucketName: 'org-log-archive', prefix: 'org', maxConcurrency: 4, timeoutSeconds: 120 } }]);
    expect(() => fromContext({ trailBuckt: 'x' })).toThrow('Option trailBuckt is not an option of this app (did you mean "trailBucket"?)');
    expect(() => fromContext({ maxConcurrency: 'four' })).toThrow(/maxConcurrency must be a whole number/);
  });

  it('takes JSON values from cdk.json too', () => {
    expect(fromContext({ scheduleMinutes: 10, regions: ['us-east-1'] })).toMatchObject({ scheduleMinutes: 10, regions: ['us-east-1'] });
  });

  it('leaves unset and empty options to the defaults', () => {
    const settings = resolveSettings(fromContext({ memorySize: '' }));
    expect(settings.connectors).toMatchObject([{ scheduleMinutes: 5, implicit: true }]);
    expect(settings).toMatchObject({
      memorySize: 512, functionUrlAuth: 'AWS_IAM', lagAlarmSeconds: 1800, logRetentionDays: 365,
      latenessSeconds: 900, backfillSeconds: 3600, batchMaxEvents: 500, batchMaxBytes: 1_000_000,
    });
  });

  it('rejects a number that is not one', () => {
    expect(() => fromContext({ memorySize: '512MB' })).toThrow(/memorySize must be a whole number/);
  });
});

describe('docs/deploy.md', () => {
  it('documents every context option the app reads', () => {
    const read: string[] = ['stackName', ...Object.keys(OPTION_SPECS)]; // stackName: read by infra/app.ts
    const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'deploy.md'), 'utf8');
    expect(read.filter((key) => !doc.includes(`| \`${key}\` |`))).toEqual([]);
  });
});

describe('checks', () => {
  it.each([
    [{ scheduleMinutes: 0 }, /scheduleMinutes/],
    [{ scheduleMinutes: 61 }, /scheduleMinutes/],
    [{ memorySize: 64 }, /memorySize/],
    [{ functionUrlAuth: 'none' as never }, /functionUrlAuth must be AWS_IAM or NONE/],
    [{ regions: ['US-EAST-1'] }, /regions/],
    [{ secretArn: 'prod/dnif' }, /secretArn must be a Secrets Manager secret ARN/],
    [{ secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x', secretName: 'y' }, /give only one/],
    [{ secretKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/abc' }, /is for an imported secret/],
    [{ roleArn: 'arn:aws:iam::123456789012:user/bob' }, /roleArn must be an IAM role ARN/],
    [{ alarmTopicArn: 'ops' }, /alarmTopicArn/],
    [{ alarmEmail: 'ops' }, /alarmEmail/],
    [{ noEventsAlarmHours: 25 }, /noEventsAlarmHours/],
    [{ logRetentionDays: 100 }, /logRetentionDays must be one of/],
    [{ batchMaxBytes: 10 }, /batchMaxBytes/],
  ])('%o is refused', (options, message) => {
    expect(() => resolveSettings(options)).toThrow(OptionError);
    expect(() => resolveSettings(options)).toThrow(message);
  });

  it('fails the stack, not the deploy', () => {
    expect(() => build({ scheduleMinutes: 0 })).toThrow(OptionError);
  });
});

describe('function URL auth', () => {
  it('is AWS_IAM unless NONE is asked for explicitly', () => {
    const { template, stack } = build();
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM' });
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('functionUrlAuth=NONE'));
  });

  it('NONE opens the URL to anyone and warns about it', () => {
    const { template, stack } = build({ functionUrlAuth: 'NONE' });
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE',
    });
    Annotations.fromStack(stack).hasWarning('/Test/Default/TestConnection/Function/FunctionUrl', Match.stringLikeRegexp('functionUrlAuth=NONE'));
  });
});

describe('schedule and timeout', () => {
  it.each([
    [1, 'rate(1 minute)', 30],
    [15, 'rate(15 minutes)', 870],
    [60, 'rate(1 hour)', 900], // capped at Lambda's 15-minute limit
  ])('every %i min: %s, timeout %i s, async events expire after one interval', (minutes, expression, timeout) => {
    const { template } = build({ scheduleMinutes: minutes });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: expression });
    expect(props(template, 'AWS::Lambda::Function', 'ForwarderFunction').Timeout).toBe(timeout);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumEventAgeInSeconds: minutes * 60, MaximumRetryAttempts: 0 });
  });
});

describe('function settings', () => {
  const { template } = build({ memorySize: 1024, logRetentionDays: 30, latenessSeconds: 1800, batchMaxEvents: 100 });

  it('applies memory, log retention and SPEC tunables', () => {
    const f = props(template, 'AWS::Lambda::Function', 'ForwarderFunction');
    expect(f.MemorySize).toBe(1024);
    expect(f.Environment.Variables).toMatchObject({ LATENESS_SECONDS: '1800', BATCH_MAX_EVENTS: '100' });
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it('names the created secret as asked', () => {
    const t = build({ secretName: 'dnif/prod-connector' }).template;
    t.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'dnif/prod-connector' });
  });
});

describe('isCompleteSecretArn', () => {
  const arn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}`;
  it.each([
    [arn('prod/dnif-AbC123'), true],
    [arn('prod/dnif'), false],
    [arn('prod-dnif-connector'), false],
  ])('%s -> %s', (value, complete) => expect(isCompleteSecretArn(value)).toBe(complete));
});
