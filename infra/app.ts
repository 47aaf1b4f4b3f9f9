/**
 * CDK entry (cdk.json: `npx tsx infra/app.ts`). Options come from context, e.g.
 * `npx cdk deploy -c scheduleMinutes=5 -c alarmEmail=ops@example.com`; docs/deploy.md lists them.
 * The stack is environment-agnostic: synth needs no AWS credentials, lookups or Docker.
 */
import { App } from 'aws-cdk-lib';
import { ForwarderStack } from './forwarder-stack';
import { addNagChecks } from './nag';
import { s3OptionsFromContext } from './s3-settings';
import { optionsFromContext } from './settings';

const app = new App();
const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'CloudTrailDnifForwarder';

new ForwarderStack(app, stackName, {
  ...optionsFromContext((key) => app.node.tryGetContext(key)),
  ...s3OptionsFromContext((key) => app.node.tryGetContext(key)),
  description: 'CloudTrail to DNIF forwarder: schedule, forwarder and test-connection Lambdas, checkpoints, alarms',
});
addNagChecks(app);
