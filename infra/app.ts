/**
 * CDK entry (cdk.json: `npx tsx infra/app.ts`). Options come from context, e.g.
 * `npx cdk deploy -c scheduleMinutes=5 -c alarmEmail=ops@example.com`; docs/deploy.md lists them.
 * The stack is environment-agnostic: synth needs no AWS credentials, lookups or Docker.
 * A typo'd or bad option stops here with one line naming it, not a stack trace.
 */
import { App } from 'aws-cdk-lib';
import { ForwarderStack } from './forwarder-stack';
import { addNagChecks } from './nag';
import { OptionError, optionsFromContext } from './settings';

const app = new App();
try {
  const context = app.node.getAllContext();
  const stackName = (context.stackName as string | undefined) ?? 'CloudTrailDnifForwarder';
  // One stack for both sources: `-c source=s3` makes its one connector read trail files.
  new ForwarderStack(app, stackName, {
    ...optionsFromContext(context),
    description:
      context.source === 's3'
        ? 'CloudTrail trail files to DNIF: S3 notifications through SQS to the S3 forwarder, object ledger, test connection, alarms'
        : 'CloudTrail to DNIF forwarder: schedules, forwarder and test-connection Lambdas, checkpoints, alarms',
  });
} catch (err) {
  if (!(err instanceof OptionError)) throw err;
  console.error(err.message);
  process.exit(1);
}
addNagChecks(app);
