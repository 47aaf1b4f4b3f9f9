/**
 * The deployable stack: a thin wrapper over the CloudTrailToDnif construct that adds the
 * stack outputs the runbook (docs/deploy.md) names. One stack holds one connector (the flat
 * options; `-c source=s3` for trail files) or many (`connectors`, of either source).
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
    output('CheckpointTableName', f.table.tableName, 'DynamoDB checkpoint, lease and trail-file ledger table');
    output('DashboardUrl', f.dashboardUrl, 'CloudWatch dashboard');
    output('AlarmTopicArn', f.alarmTopic.topicArn, 'SNS topic the alarms notify');
    if (f.forwarderFunction && f.forwarderRole && f.testConnectionFunction && f.testConnectionRole && f.testConnectionUrl && f.deadLetterQueue) {
      output('TestConnectionUrl', f.testConnectionUrl.url, `Test-connection function URL (auth ${f.settings.functionUrlAuth}); ?connector=<name> picks a connector`);
      output('ForwarderFunctionName', f.forwarderFunction.functionName, 'Forwarder Lambda function');
      output('DeadLetterQueueUrl', f.deadLetterQueue.queueUrl, 'Failed runs and undeliverable schedule events');
      output('TestConnectionFunctionArn', f.testConnectionFunction.functionArn, 'URL callers need the policy in docs/deploy.md, "Test the connection"');
      // A connector roleArn must trust these two roles.
      output('ForwarderRoleArn', f.forwarderRole.roleArn, 'Execution role of the forwarder');
      output('TestConnectionRoleArn', f.testConnectionRole.roleArn, 'Execution role of test-connection');
    }
    f.connectors.forEach((c, i) => {
      const suffix = f.settings.connectors[i].implicit ? '' : sidPart(c.name);
      const of = suffix ? ` of ${c.name}` : '';
      output(`ConnectorSecretArn${suffix}`, c.secret.secretArn, `Put the connector JSON${of} here (put-secret-value)`);
      if (c.schedule) output(`ScheduleRuleName${suffix}`, c.schedule.ruleName, `EventBridge rule that starts the runs${of} (aws events describe-rule --name ...)`);
      const t = c.trailFiles;
      if (!t) return;
      output(`TrailQueueUrl${suffix}`, t.queue.queueUrl, `The queue trail-file notifications${of} go to`);
      output(`TrailQueueArn${suffix}`, t.queue.queueArn, 'Point the bucket notification, EventBridge rule or SNS subscription here');
      output(`TrailDeadLetterQueueUrl${suffix}`, t.deadLetterQueue.queueUrl, `Messages${of} whose files could not be read`);
      output(`TestConnectionUrl${suffix}`, t.testConnectionUrl.url, `Test-connection function URL${of} (auth ${f.settings.functionUrlAuth})`);
      output(`ForwarderFunctionName${suffix}`, t.forwarder.fn.functionName, `The S3 forwarder${of} (direct invoke for replay: docs/s3-source.md)`);
      // The trail's bucket policy and key policy (another account) name these two roles.
      output(`ForwarderRoleArn${suffix}`, t.forwarder.role.roleArn, `Execution role of the S3 forwarder${of}`);
      output(`TestConnectionRoleArn${suffix}`, t.testConnection.role.roleArn, `Execution role of the trail-file test-connection${of}`);
    });
  }
}
