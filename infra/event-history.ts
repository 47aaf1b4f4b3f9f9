/**
 * The Event history parts the lookup-events connectors of a CloudTrailToDnif share: one
 * forwarder (run by each connector's schedule), one test-connection function with its URL, and
 * the dead-letter queue of failed runs. Made in the construct's own scope, so their logical ids
 * are those of the single-connector stack.
 */
import { Annotations, Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV, FORWARDER_SERVICE, METRICS_NAMESPACE, NUMBER_SETTINGS, TEST_CONNECTION_SERVICE } from '../functions/core/contract';
import { acknowledge } from './acknowledge';
import type { CloudTrailToDnifProps } from './cloudtrail-to-dnif-props';
import type { ConnectorSecret } from './connector-secret';
import { assumeRoleStatement, checkpointTableStatement, lookupEventsStatement, sendMessageOnlyTo, tableKeyStatement } from './permissions';
import { ServiceFunction } from './service-function';
import type { ResolvedConnector, Settings } from './settings';

/** Lambda's hard limit, and the room a run leaves before the next schedule starts. */
const MAX_TIMEOUT_SECONDS = 900;
const SCHEDULE_SLACK_SECONDS = 30;

export interface EventHistoryParts {
  readonly deadLetterQueue: sqs.Queue;
  readonly forwarder: ServiceFunction;
  readonly testConnection: ServiceFunction;
  readonly url: lambda.FunctionUrl;
}

export type NetworkProps = Pick<CloudTrailToDnifProps, 'vpc' | 'vpcSubnets' | 'securityGroups'>;

/** The forwarder, test-connection function and dead-letter queue the lookup-events connectors share. */
export function createEventHistory(
  scope: Construct,
  table: dynamodb.ITable,
  s: Settings,
  lookup: ResolvedConnector[],
  secrets: ConnectorSecret[],
  network: NetworkProps,
): EventHistoryParts {
  const shortest = Math.min(...lookup.map((c) => c.scheduleMinutes));
  const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const terminal =
    'This queue is itself the dead-letter destination (failed forwarder runs and undeliverable schedule events); ' +
    'a further redrive would only move the same records, and the DeadLetters alarm watches it.';
  acknowledge(deadLetterQueue, 'AwsSolutions-SQS3', terminal);
  acknowledge(deadLetterQueue, 'Serverless-SQSRedrivePolicy', terminal);
  const powertools = { POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL: 'INFO' };

  const forwarder = new ServiceFunction(scope, 'Forwarder', {
    code: 'forwarder',
    description: 'Forwards CloudTrail Event history to DNIF',
    memorySize: s.memorySize,
    // Ends before the next scheduled run (of the most frequent connector) starts.
    timeout: Duration.seconds(Math.min(shortest * 60 - SCHEDULE_SLACK_SECONDS, MAX_TIMEOUT_SECONDS)),
    // One run at a time per connector, and no connector waits for another's slot; the lease
    // in the table is the second line of defence.
    reservedConcurrentExecutions: lookup.length,
    logRetentionDays: s.logRetentionDays,
    environment: {
      // The default connector; a named connector's schedule names its own secret in the event.
      [ENV.secretId]: secrets[0].secretId,
      [ENV.checkpointTable]: table.tableName,
      // LATENESS_SECONDS, BACKFILL_SECONDS, BATCH_MAX_EVENTS, BATCH_MAX_BYTES: the contract's settings with an option.
      ...settingsEnvironment(s),
      POWERTOOLS_SERVICE_NAME: FORWARDER_SERVICE,
      ...powertools,
    },
    ...network,
  });
  forwarder.fn.addToRolePolicy(checkpointTableStatement(table));
  if (table.encryptionKey) forwarder.fn.addToRolePolicy(tableKeyStatement(table.encryptionKey));
  // A failed run is not retried: the next scheduled run resumes from the checkpoint. A run
  // that waited longer than one interval is superseded by the next one.
  forwarder.fn.configureAsyncInvoke({
    retryAttempts: 0,
    maxEventAge: Duration.minutes(shortest),
    onFailure: sendMessageOnlyTo(deadLetterQueue),
  });
  acknowledge(
    forwarder.fn,
    'Serverless-LambdaDLQ',
    'Failed asynchronous runs go to the on-failure destination (the dead-letter SQS queue) of the EventInvokeConfig, ' +
      'whose record carries the error as well as the event; a DeadLetterConfig as well would deliver every failure twice.',
  );

  const named = lookup.filter((c) => !c.implicit);
  const testConnection = new ServiceFunction(scope, 'TestConnection', {
    code: 'test-connection',
    description: 'Checks the CloudTrail-to-DNIF connector (function URL)',
    memorySize: 256,
    timeout: Duration.seconds(15),
    // Caps what a flood of URL calls can cost, and how much of the account's LookupEvents
    // quota (2/s, shared with the forwarder) it can take.
    reservedConcurrentExecutions: 2,
    logRetentionDays: s.logRetentionDays,
    environment: {
      [ENV.secretId]: secrets[0].secretId,
      // `?connector=<name>` picks one of these; no name means SECRET_ID.
      ...(named.length
        ? { [ENV.connectorSecretIds]: Stack.of(scope).toJsonString(Object.fromEntries(named.map((c) => [c.name, secrets[lookup.indexOf(c)].secretId]))) }
        : {}),
      POWERTOOLS_SERVICE_NAME: TEST_CONNECTION_SERVICE,
      ...powertools,
    },
    ...network,
  });
  acknowledge(
    testConnection.fn,
    'Serverless-LambdaDLQ',
    'Invoked only synchronously, through its function URL: the caller gets the error in the response, so there is no ' +
      'asynchronous event to dead-letter.',
  );
  for (const fn of [forwarder, testConnection]) grantConnectorUse(fn, secrets, lookup);

  const url = testConnection.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType[s.functionUrlAuth] });
  if (s.functionUrlAuth === 'NONE') {
    Annotations.of(url).addWarningV2(
      'cloudtrail-dnif:PublicTestConnectionUrl',
      'functionUrlAuth=NONE: anyone who learns the test-connection URL can call it. Each call reads the connector ' +
        'secret, calls LookupEvents (sharing the 2/s quota with the forwarder) and contacts DNIF; the answer names ' +
        'failed checks but never secret values. Prefer AWS_IAM and a SigV4 client (docs/deploy.md).',
    );
  }
  return { deadLetterQueue, forwarder, testConnection, url };
}

/** Read every connector's secret; read CloudTrail with the function's own role; assume the connectors' roles. */
function grantConnectorUse(fn: ServiceFunction, secrets: ConnectorSecret[], connectors: ResolvedConnector[]): void {
  for (const secret of secrets) for (const statement of secret.readStatements()) fn.fn.addToRolePolicy(statement);
  const roles = [...new Set(connectors.flatMap((c) => (c.roleArn ? [c.roleArn] : [])))];
  if (roles.length) fn.fn.addToRolePolicy(assumeRoleStatement(roles));
  // Any connector without a region list may read every region, so the union is unbounded then.
  const regions = connectors.every((c) => c.regions) ? [...new Set(connectors.flatMap((c) => c.regions ?? []))] : undefined;
  const lookup = fn.addPolicy('CloudTrailLookup', [lookupEventsStatement(regions)]);
  acknowledge(
    lookup,
    'AwsSolutions-IAM5[Resource::*]',
    'cloudtrail:LookupEvents supports no resource-level permissions, so "*" is its only valid resource (it is ' +
      'narrowed by aws:RequestedRegion when -c regions is set). It is the only statement in this policy; it is ' +
      'used when the connector has no access key of its own and reads CloudTrail with the function role.',
  );
}

/** The environment variables of the contract's settings that the construct has an option for. */
function settingsEnvironment(s: Settings): Record<string, string> {
  const values = s as unknown as Record<string, number>;
  return Object.fromEntries(
    Object.values(NUMBER_SETTINGS).flatMap((setting) => ('option' in setting ? [[setting.env, String(values[setting.option])]] : [])),
  );
}
