/**
 * cdk-nag (AwsSolutions + Serverless) finds nothing unacknowledged, every acknowledgement is
 * one we meant and says why, and the check does catch a violation.
 */
import { App, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { IConstruct } from 'constructs';
import { ForwarderStack, ForwarderStackProps } from '../../infra/forwarder-stack';
import { addNagChecks, nagPacks } from '../../infra/nag';

function appWith(options: ForwarderStackProps, extra?: (stack: ForwarderStack) => void): App {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new ForwarderStack(app, 'Nag', options);
  extra?.(stack);
  return app;
}

/** Rule ids the packs report (errors and warnings alike) that nothing acknowledges. */
function findings(app: App): string[] {
  return nagPacks(app).flatMap((pack) =>
    pack.validateScope(app).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)),
  );
}

/** Every acknowledgement in the tree: `<rule> @ <path relative to the stack>` -> reason. */
function acknowledgements(root: IConstruct): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.set(`${id.replace(/^annotation::/i, '')} @ ${c.node.path.replace(/^Nag\/(Default\/)?/, '')}`, reason);
      }
    }
  }
  return out;
}

const FULL: ForwarderStackProps = {
  scheduleMinutes: 10,
  regions: ['us-east-1'],
  roleArn: 'arn:aws:iam::123456789012:role/cloudtrail-reader',
  alarmEmail: 'ops@example.com',
  noEventsAlarmHours: 6,
  functionUrlAuth: 'NONE',
};

describe.each([
  ['default', {}],
  ['every option', FULL],
  ['imported secret and topic', { secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dnif', alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops' }],
  ['two connectors, one secret created', { connectors: [{ name: 'prod' }, { name: 'audit', secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dnif' }], noEventsAlarmHours: 6 }],
])('%s stack', (_name, options: ForwarderStackProps) => {
  it('has no unacknowledged AwsSolutions or Serverless finding, error or warning', () => {
    expect(findings(appWith(options))).toEqual([]);
  });
});

describe('acknowledgements', () => {
  const app = appWith(FULL);
  const acks = acknowledgements(app);

  it('are exactly the reviewed ones', () => {
    expect([...acks.keys()].sort()).toEqual(
      [
        'AwsSolutions-SMG4 @ Connector/Secret/Resource',
        'AwsSolutions-SQS3 @ DeadLetterQueue/Resource',
        'Serverless-SQSRedrivePolicy @ DeadLetterQueue/Resource',
        'AwsSolutions-IAM5[Resource::*] @ Forwarder/Role/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] @ Forwarder/CloudTrailLookup/Resource',
        'AwsSolutions-L1 @ Forwarder/Function/Resource',
        'Serverless-LambdaLatestVersion @ Forwarder/Function/Resource',
        'Serverless-LambdaDLQ @ Forwarder/Function/Resource',
        'AwsSolutions-IAM5[Resource::*] @ TestConnection/Role/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] @ TestConnection/CloudTrailLookup/Resource',
        'AwsSolutions-L1 @ TestConnection/Function/Resource',
        'Serverless-LambdaLatestVersion @ TestConnection/Function/Resource',
        'Serverless-LambdaDLQ @ TestConnection/Function/Resource',
        'Serverless-SNSRedrivePolicy @ Monitoring/AlarmEmail/Resource',
      ].sort(),
    );
  });

  it('each give a specific reason', () => {
    for (const [id, reason] of acks) expect([id, reason.length > 60]).toEqual([id, true]);
  });
});

describe('the check itself', () => {
  it('reports a violation it should catch', () => {
    const app = appWith({}, (stack) => new sqs.Queue(stack, 'Careless', { encryption: sqs.QueueEncryption.UNENCRYPTED }));
    expect(findings(app)).toEqual(expect.arrayContaining(['AwsSolutions-SQS2 at Nag/Careless/Resource']));
  });

  it('fails synthesis on an unacknowledged error and passes the real stack', () => {
    const bad = appWith({}, (stack) => new sqs.Queue(stack, 'Careless', { encryption: sqs.QueueEncryption.UNENCRYPTED }));
    addNagChecks(bad);
    expect(() => bad.synth()).toThrow(/AwsSolutions-SQS2/);

    const good = appWith(FULL);
    addNagChecks(good);
    expect(() => good.synth()).not.toThrow();
  });
});
