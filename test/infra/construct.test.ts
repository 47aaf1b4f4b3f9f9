/**
 * The CloudTrailToDnif construct in an app of its own: many connectors in one stack, what a
 * user brings (secret, table, topic, VPC), the grant methods, and the context options.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CloudTrailToDnif, type CloudTrailToDnifProps } from '../../lib';
import { nagPacks } from '../../infra/nag';
import { OptionError, optionsFromContext } from '../../infra/settings';
import { build, props } from './helpers';

const ARN_A = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dnif/prod-AbC123';
const ARN_B = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dnif/audit-XyZ789';

function inApp(make: (stack: Stack) => CloudTrailToDnifProps, after?: (stack: Stack, forwarder: CloudTrailToDnif) => void) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Sec');
  const forwarder = new CloudTrailToDnif(stack, 'Dnif', make(stack));
  after?.(stack, forwarder);
  return { app, stack, forwarder, template: Template.fromStack(stack) };
}

function nagFindings(app: App): string[] {
  return nagPacks(app).flatMap((pack) => pack.validateScope(app).violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`));
}

describe('two LookupEvents connectors in one stack', () => {
  // With a trail-file connector as well: mixed-connectors.test.ts.
  const { template, app } = build({
    connectors: [
      { name: 'prod', secretArn: ARN_A, scheduleMinutes: 5, regions: ['us-east-1'] },
      { name: 'audit', secretArn: ARN_B, scheduleMinutes: 10, regions: ['eu-west-1'] },
    ],
  });
  const rules = Object.values(template.findResources('AWS::Events::Rule'));
  const forwarder = props(template, 'AWS::Lambda::Function', 'ForwarderFunction');

  it('shares one table, one forwarder and one test-connection function', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0); // both imported
  });

  it('has one schedule per connector, each naming its connector and secret in the scheduled event', () => {
    expect(rules.map((r) => r.Properties.ScheduleExpression).sort()).toEqual(['rate(10 minutes)', 'rate(5 minutes)']);
    const inputs = rules.map((r) => {
      const t = r.Properties.Targets[0];
      return { paths: t.InputTransformer.InputPathsMap, template: JSON.stringify(t.InputTransformer.InputTemplate) };
    });
    for (const { paths, template: text } of inputs) {
      // The scheduled-event shape is kept, field by field.
      expect(paths).toMatchObject({ 'detail-type': '$.detail-type', source: '$.source', time: '$.time', id: '$.id', resources: '$.resources' });
      expect(text).toContain('\\"resources\\":<resources>');
    }
    expect(inputs.map((i) => i.template).join()).toContain(`\\"connector\\":\\"prod\\",\\"secretId\\":\\"${ARN_A}\\"`);
    expect(inputs.map((i) => i.template).join()).toContain(`\\"connector\\":\\"audit\\",\\"secretId\\":\\"${ARN_B}\\"`);
  });

  it('lets every connector run at once, ending before the most frequent schedule fires again', () => {
    expect(forwarder.ReservedConcurrentExecutions).toBe(2);
    expect(forwarder.Timeout).toBe(270);
    expect(forwarder.Environment.Variables.SECRET_ID).toBe(ARN_A);
  });

  it('gives test connection every connector by name (?connector=)', () => {
    const env = props(template, 'AWS::Lambda::Function', 'TestConnectionFunction').Environment.Variables;
    expect(JSON.parse(env.CONNECTOR_SECRET_IDS)).toEqual({ prod: ARN_A, audit: ARN_B });
  });

  it('reads each secret, and CloudTrail only in the connectors regions', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const sids = statements.map((st: { Sid?: string }) => st.Sid);
    expect(sids).toEqual(expect.arrayContaining(['ReadConnectorSecretprod', 'ReadConnectorSecretaudit']));
    const lookup = statements.filter((st: { Action: unknown }) => st.Action === 'cloudtrail:LookupEvents');
    for (const st of lookup) expect(st.Condition.StringEquals['aws:RequestedRegion'].sort()).toEqual(['eu-west-1', 'us-east-1']);
  });

  it('alarms per connector on its own metrics (dimension connector)', () => {
    for (const name of ['prod', 'audit']) {
      for (const alarm of ['LagHigh', 'SinkErrors', 'RunsFailed']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          AlarmName: `Test-${name}-${alarm}`,
          Dimensions: Match.arrayWith([{ Name: 'connector', Value: name }]),
        });
      }
    }
    // Function-wide alarms stay single.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Test-ForwarderErrors' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Test-DeadLetters' });
  });

  it('outputs each connector secret and schedule rule name', () => {
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['ConnectorSecretArnprod', 'ScheduleRuleNameprod', 'ConnectorSecretArnaudit', 'ScheduleRuleNameaudit']));
  });

  it('is clean under cdk-nag', () => {
    expect(nagFindings(app)).toEqual([]);
  });
});

describe('the one-connector form', () => {
  const { template } = build();
  it('sends the plain scheduled event (the function reads SECRET_ID) and outputs the rule name', () => {
    const rule = Object.values(template.findResources('AWS::Events::Rule'))[0];
    expect(rule.Properties.Targets[0].Input).toBeUndefined();
    expect(rule.Properties.Targets[0].InputTransformer).toBeUndefined();
    expect(template.findOutputs('ScheduleRuleName').ScheduleRuleName.Value).toEqual({ Ref: Object.keys(template.findResources('AWS::Events::Rule'))[0] });
  });
});

describe('connector checks', () => {
  it.each([
    [{ connectors: [] }, /connectors must list at least one/],
    [{ connectors: [{ name: 'a b' }] }, /connectors\[0\].name must be 1-64 letters/],
    [{ connectors: [{ name: 'a' }, { name: 'A' }] }, /connectors\[1\].name "A" is used twice/],
    [{ connectors: [{ name: 'a', scheduleMinute: 10 } as never] }, /connectors\[0\].scheduleMinute is not a connector option \(did you mean "scheduleMinutes"\?\)/],
    [{ connectors: [{ name: 'a', source: 'ftp' as never }] }, /connectors\[0\].source must be lookup-events or s3/],
    [{ connectors: [{ name: 'a', source: 's3' as const }] }, /Option connectors\[0\].trailBucket is required with source=s3/],
    [{ source: 's3' as const }, /^Option trailBucket is required with source=s3/],
    [{ connectors: [{ name: 'a', source: 's3' as const, trailBucket: 'b-1', scheduleMinutes: 5 }] }, /connectors\[0\].scheduleMinutes is for a connector with source "lookup-events"/],
    [{ connectors: [{ name: 'a', trailBucket: 'b-1' }] }, /connectors\[0\].trailBucket is for a connector with source "s3"/],
    [{ trailPrefix: 'org' }, /^Option trailPrefix is for a connector with source "s3"/],
    [{ connectors: [{ name: 'a' }], maxConcurrency: 4 }, /^Option maxConcurrency is a default for connectors with source "s3", and none has it/],
    [{ connectors: [{ name: 'a', source: 's3' as const, trailBucket: 'b-1', maxConcurrency: 1 }] }, /connectors\[0\].maxConcurrency must be a whole number from 2 to 1000/],
    [{ secretArn: ARN_A, connectors: [{ name: 'a' }] }, /secretArn is for the one-connector form/],
    [{ connectors: [{ name: 'a', scheduleMinutes: 0 }] }, /connectors\[0\].scheduleMinutes must be a whole number from 1 to 60/],
  ])('%o is refused', (options, message) => {
    expect(() => build(options as CloudTrailToDnifProps)).toThrow(OptionError);
    expect(() => build(options as CloudTrailToDnifProps)).toThrow(message);
  });
});

describe('what a user brings', () => {
  const { template, forwarder, app } = inApp((stack) => ({
    existingSecret: new secretsmanager.Secret(stack, 'MySecret'),
    existingTable: new dynamodb.Table(stack, 'MyTable', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    }),
    existingAlarmTopic: new sns.Topic(stack, 'MyTopic'),
    vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 }),
    namePrefix: 'secops',
  }));

  it('uses the given secret, table and topic instead of creating them', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const env = props(template, 'AWS::Lambda::Function', 'DnifForwarderFunction').Environment.Variables;
    expect(env.SECRET_ID).toEqual({ Ref: expect.stringMatching(/^MySecret/) });
    expect(env.CHECKPOINT_TABLE).toEqual({ Ref: expect.stringMatching(/^MyTable/) });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'secops-ForwarderErrors', AlarmActions: [{ Ref: Match.stringLikeRegexp('^MyTopic') }] });
    expect(forwarder.connectors[0].secret.node.path).toBe('Sec/MySecret');
  });

  it('lets the forwarder use the given table key', () => {
    const forwarderPolicies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^DnifForwarderRole') }] } }));
    const kms = forwarderPolicies.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((st: { Action: unknown }) => JSON.stringify(st.Action).includes('kms:Encrypt'));
    expect(kms).toHaveLength(1);
    expect(kms[0].Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^MyTableKey/), 'Arn'] });
  });

  it('runs both functions in the VPC private subnets, with the network-interface permissions and no managed policy', () => {
    for (const prefix of ['DnifForwarderFunction', 'DnifTestConnectionFunction']) {
      const fn = props(template, 'AWS::Lambda::Function', prefix);
      expect(fn.VpcConfig.SubnetIds).toHaveLength(2);
      expect(fn.VpcConfig.SecurityGroupIds).toHaveLength(1);
    }
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.filter((s: { Sid?: string }) => s.Sid === 'VpcNetworkInterfaces')).toHaveLength(2);
  });

  it('is clean under cdk-nag, except what the user brought', () => {
    const own = nagFindings(app).filter((f) => / at Sec\/Dnif\//.test(f));
    expect(own).toEqual([]);
  });
});

describe('grants', () => {
  const { template: t } = inApp(
    () => ({}),
    (stack, forwarder) => {
      const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
      forwarder.grantInvokeTestConnectionUrl(caller);
      forwarder.grantWriteConnectorSecrets(caller);
    },
  );

  it('grantInvokeTestConnectionUrl: InvokeFunctionUrl, and InvokeFunction only via a function URL', () => {
    const statements = Object.values(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Caller') }] } }))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'lambda:InvokeFunctionUrl', Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } } }),
        expect.objectContaining({ Action: 'lambda:InvokeFunction', Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } } }),
      ]),
    );
    expect(JSON.stringify(statements)).toContain('secretsmanager:PutSecretValue');
  });
});

describe('context options', () => {
  it('rejects an unknown key with a did-you-mean, but lets CDK own keys through', () => {
    expect(() => optionsFromContext({ scheduleMinute: '10' })).toThrow('Option scheduleMinute is not an option of this app (did you mean "scheduleMinutes"?)');
    expect(() => optionsFromContext({ shedule: '10' })).toThrow(/not an option/);
    expect(
      optionsFromContext({
        '@aws-cdk/core:checkSecretUsage': true, 'aws:cdk:enable-path-metadata': true, 'aws:cdk:bundling-stacks': ['**'],
        'availability-zones:account=123456789012:region=us-east-1': ['us-east-1a'], stackName: 'X', scheduleMinutes: '10',
      }),
    ).toEqual({ scheduleMinutes: 10 });
  });

  it('reads connectors as JSON from the command line or an array from cdk.json', () => {
    const list = [{ name: 'prod', secretArn: ARN_A }];
    expect(optionsFromContext({ connectors: JSON.stringify(list) }).connectors).toEqual(list);
    expect(optionsFromContext({ connectors: list }).connectors).toEqual(list);
    expect(() => optionsFromContext({ connectors: '[{name:' })).toThrow(/Option connectors must be JSON/);
  });
});
