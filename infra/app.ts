/**
 * CDK entry (cdk.json: `npx tsx infra/app.ts`). Options come from context, e.g.
 * `npx cdk deploy -c scheduleMinutes=5 -c alarmEmail=ops@example.com`; docs/deploy.md lists them.
 * The stack is environment-agnostic: synth needs no AWS credentials, lookups or Docker.
 * A typo'd or bad option stops here with one line naming it, not a stack trace.
 */
import { App } from 'aws-cdk-lib';
import { ForwarderStack } from './forwarder-stack';
import { addNagChecks } from './nag';
import { S3_KEYS, TrailFilesStack } from './s3-source-stack';
import { s3OptionsFromContext } from './s3-settings';
import { OptionError, optionsFromContext } from './settings';

const app = new App();
try {
  const context = app.node.getAllContext();
  const stackName = (context.stackName as string | undefined) ?? 'CloudTrailDnifForwarder';
  if (context.source === 's3') {
    // The trail-file source (infra/s3-source-stack.ts): its own options, the shared ones checked as usual.
    const shared = Object.fromEntries(Object.entries(context).filter(([k]) => !S3_KEYS.has(k)));
    new TrailFilesStack(app, stackName, {
      ...optionsFromContext(shared),
      ...s3OptionsFromContext((key) => context[key]),
      description: 'CloudTrail trail files to DNIF: S3 notifications through SQS to the S3 forwarder, object ledger, test connection, alarms',
    });
  } else {
    new ForwarderStack(app, stackName, {
      ...optionsFromContext(context),
      description: 'CloudTrail to DNIF forwarder: schedules, forwarder and test-connection Lambdas, checkpoints, alarms',
    });
  }
} catch (err) {
  if (!(err instanceof OptionError)) throw err;
  console.error(err.message);
  process.exit(1);
}
addNagChecks(app);
