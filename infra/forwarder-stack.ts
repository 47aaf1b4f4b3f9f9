/**
 * The deployable stack: a thin wrapper over the CloudTrailToDnif construct that adds the
 * stack outputs the runbook (docs/deploy.md) names. One stack holds one connector (the flat
 * options) or many (`connectors`).
 */
import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { CloudTrailToDnif, sidPart } from './cloudtrail-to-dnif';
import type { CloudTrailToDnifProps } from './cloudtrail-to-dnif-props';
import type { Settings } from './settings';

export interface ForwarderStackProps extends StackProps, CloudTrailToDnifProps {}

export class ForwarderStack extends Stack {
  readonly forwarder: CloudTrailToDnif;
  readonly settings: Settings;

  constructor(scope: Construct, id: string, props: ForwarderStackProps = {}) {
    super(scope, id, props);
    // 'Default' leaves the construct out of logical ids: a stack deployed before the construct
    // existed updates in place (same table, secret and alarms) instead of replacing them.
    const f = (this.forwarder = new CloudTrailToDnif(this, 'Default', props));
    this.settings = f.settings;

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('TestConnectionUrl', f.testConnectionUrl.url, `Test-connection function URL (auth ${f.settings.functionUrlAuth}); ?connector=<name> picks a connector`);
    output('CheckpointTableName', f.table.tableName, 'DynamoDB checkpoint and lease table');
    output('DashboardUrl', f.dashboardUrl, 'CloudWatch dashboard');
    output('AlarmTopicArn', f.alarmTopic.topicArn, 'SNS topic the alarms notify');
    output('ForwarderFunctionName', f.forwarderFunction.functionName, 'Forwarder Lambda function');
    output('DeadLetterQueueUrl', f.deadLetterQueue.queueUrl, 'Failed runs and undeliverable schedule events');
    output('TestConnectionFunctionArn', f.testConnectionFunction.functionArn, 'URL callers need the policy in docs/deploy.md, "Test the connection"');
    // A connector roleArn must trust these two roles.
    output('ForwarderRoleArn', f.forwarderRole.roleArn, 'Execution role of the forwarder');
    output('TestConnectionRoleArn', f.testConnectionRole.roleArn, 'Execution role of test-connection');
    f.connectors.forEach((c, i) => {
      const suffix = f.settings.connectors[i].implicit ? '' : sidPart(c.name);
      output(`ConnectorSecretArn${suffix}`, c.secret.secretArn, `Put the connector JSON${suffix ? ` of ${c.name}` : ''} here (put-secret-value)`);
      output(`ScheduleRuleName${suffix}`, c.schedule.ruleName, `EventBridge rule that starts the runs${suffix ? ` of ${c.name}` : ''} (aws events describe-rule --name ...)`);
    });
  }
}
