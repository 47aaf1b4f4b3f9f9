/**
 * CloudTrailToDnif: the whole forwarder as one L3 construct. Per connector a secret, and by its
 * source either a schedule (Event history: a lease and checkpoints in the shared table, kept
 * by the shared forwarder) or a trail-file queue with its own S3 forwarder (S3Source). Shared
 * by all connectors the table, the alarm topic and the dashboard; alarms per connector.
 *
 *   new CloudTrailToDnif(this, 'Dnif', { connectors: [{ name: 'prod', secretArn }], alarmEmail })
 */
import { Annotations, Duration, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, FORWARDER_SERVICE, METRICS_NAMESPACE, NUMBER_SETTINGS, TEST_CONNECTION_SERVICE } from '../functions/core/contract';
import type { CloudTrailToDnifProps } from './cloudtrail-to-dnif-props';
import { connectorSchedule } from './connector-schedule';
import { createCheckpointTable } from './checkpoint-table';
import { ConnectorSecret } from './connector-secret';
import { Monitoring } from './monitoring';
import { acknowledge } from './acknowledge';
import { assumeRoleStatement, checkpointTableStatement, functionUrlCallerStatements, lookupEventsStatement, sendMessageOnlyTo, tableKeyStatement } from './permissions';
import { S3Source } from './s3-source';
import { TrailAudit } from './trail-audit';
import { ServiceFunction } from './service-function';
import { resolveSettings, type ResolvedConnector, type Settings } from './settings';

/** Lambda's hard limit, and the room a run leaves before the next schedule starts. */
const MAX_TIMEOUT_SECONDS = 900;
const SCHEDULE_SLACK_SECONDS = 30;

/** What the construct made for one connector. */
export interface ConnectorResources {
  readonly name: string;
  readonly source: 'lookup-events' | 's3';
  /** The secret its functions read (created with a placeholder, or the one given). */
  readonly secret: secretsmanager.ISecret;
  /** Event history: the EventBridge rule that starts its runs. */
  readonly schedule?: events.Rule;
  /** Trail files: its queue, dead-letter queue, S3 forwarder and test-connection function. */
  readonly trailFiles?: S3Source;
  /** Trail files: the hourly digest audit of its trail. */
  readonly audit?: TrailAudit;
}

interface EventHistoryParts {
  readonly deadLetterQueue: sqs.Queue;
  readonly forwarder: ServiceFunction;
  readonly testConnection: ServiceFunction;
  readonly url: lambda.FunctionUrl;
}

export class CloudTrailToDnif extends Construct {
  /** The props with every default applied. */
  readonly settings: Settings;
  readonly table: dynamodb.ITable;
  /**
   * The Event history parts, shared by the lookup-events connectors: undefined when every
   * connector reads trail files (each trail-file connector has its own: `connectors[i].trailFiles`).
   */
  readonly deadLetterQueue?: sqs.Queue;
  readonly forwarderFunction?: lambda.Function;
  readonly forwarderRole?: iam.Role;
  readonly testConnectionFunction?: lambda.Function;
  readonly testConnectionRole?: iam.Role;
  readonly testConnectionUrl?: lambda.FunctionUrl;
  readonly alarmTopic: sns.ITopic;
  readonly alarms: cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;
  readonly dashboardUrl: string;
  /** One entry per connector, in the order given. */
  readonly connectors: ConnectorResources[] = [];

  constructor(scope: Construct, id: string, props: CloudTrailToDnifProps = {}) {
    super(scope, id);
    const s = (this.settings = resolveSettings(props));
    const stackName = Stack.of(this).stackName;

    this.table =
      props.existingTable ??
      // Losing the checkpoints means a re-backfill and duplicates in DNIF.
      createCheckpointTable(this, 'Checkpoints');

    const secrets = s.connectors.map(
      (c) =>
        new ConnectorSecret(this.scopeOf(c), 'Connector', {
          existingSecret: c.existingSecret,
          secretArn: c.secretArn,
          secretKmsKeyArn: c.secretKmsKeyArn,
          secretName: c.secretName ?? (c.implicit ? `${stackName}/connector` : `${stackName}/${c.name}`),
          sidSuffix: c.implicit ? '' : sidPart(c.name),
        }),
    );
    const network = { vpc: props.vpc, vpcSubnets: props.vpcSubnets, securityGroups: props.securityGroups };
    const lookup = s.connectors.filter((c) => !c.s3);
    const history = lookup.length ? this.eventHistory(s, lookup, lookup.map((c) => secrets[s.connectors.indexOf(c)]), network) : undefined;

    s.connectors.forEach((c, i) => {
      const secret = secrets[i];
      if (c.s3) {
        // The one-connector form keeps the construct ids of the trail-file stack (TrailFiles/...).
        const trailFiles = new S3Source(this.scopeOf(c), 'TrailFiles', {
          settings: s,
          s3: c.s3,
          connector: secret,
          table: this.table,
          roleArn: c.roleArn,
          connectorName: c.implicit ? undefined : c.name,
          ...network,
        });
        this.connectors.push({ name: c.name, source: 's3', secret: secret.secret, trailFiles });
      } else {
        const schedule = connectorSchedule(this.scopeOf(c), {
          connector: c,
          secretId: secret.secretId,
          forwarder: (history as EventHistoryParts).forwarder.fn,
          deadLetterQueue: (history as EventHistoryParts).deadLetterQueue,
        });
        this.connectors.push({ name: c.name, source: 'lookup-events', secret: secret.secret, schedule });
      }
    });

    // A stack of one trail-file connector had its monitoring inside TrailFiles: kept there, so
    // its topic, dashboard and alarms keep their logical ids.
    const trailFileSources = this.connectors.flatMap((c) => (c.trailFiles ? [c.trailFiles] : []));
    const soleTrailFiles = !history && s.connectors[0].implicit ? trailFileSources[0] : undefined;
    const monitoring = new Monitoring(soleTrailFiles ?? this, 'Monitoring', {
      eventHistory: history && { forwarder: history.forwarder.fn, testConnection: history.testConnection.fn, deadLetterQueue: history.deadLetterQueue },
      scheduleMinutes: lookup.length ? Math.min(...lookup.map((c) => c.scheduleMinutes)) : 5,
      connectors: lookup.map((c) => ({ name: c.name, dimension: c.implicit ? undefined : c.name, scheduleMinutes: c.scheduleMinutes })),
      lagAlarmSeconds: s.lagAlarmSeconds,
      deliveryDelayAlarmSeconds: s.deliveryDelayAlarmSeconds,
      noEventsAlarmHours: s.noEventsAlarmHours,
      alarmEmail: s.alarmEmail,
      alarmTopicArn: s.alarmTopicArn,
      existingAlarmTopic: props.existingAlarmTopic,
      namePrefix: props.namePrefix ?? stackName,
    });
    s.connectors.forEach((c, i) => {
      const trailFiles = this.connectors[i].trailFiles;
      if (!trailFiles || !c.audit) return;
      trailFiles.monitor(monitoring);
      // The hourly audit that proves from the trail's digests that every file was delivered (infra/trail-audit.ts).
      const audit = new TrailAudit(this.scopeOf(c), 'TrailAudit', {
        ...s,
        settings: c.audit,
        connector: secrets[i],
        table: this.table,
        monitoring,
        testConnection: trailFiles.testConnection,
        roleArn: c.roleArn,
        connectorName: c.implicit ? undefined : c.name,
        ...network,
      });
      this.connectors[i] = { ...this.connectors[i], audit };
    });

    this.deadLetterQueue = history?.deadLetterQueue;
    this.forwarderFunction = history?.forwarder.fn;
    this.forwarderRole = history?.forwarder.role;
    this.testConnectionFunction = history?.testConnection.fn;
    this.testConnectionRole = history?.testConnection.role;
    this.testConnectionUrl = history?.url;
    this.alarmTopic = monitoring.topic;
    this.alarms = monitoring.alarms;
    this.dashboard = monitoring.dashboard;
    this.dashboardUrl = monitoring.dashboardUrl;
  }

  /** The forwarder, test-connection function and dead-letter queue the lookup-events connectors share. */
  private eventHistory(s: Settings, lookup: ResolvedConnector[], secrets: ConnectorSecret[], network: Pick<CloudTrailToDnifProps, 'vpc' | 'vpcSubnets' | 'securityGroups'>): EventHistoryParts {
    const shortest = Math.min(...lookup.map((c) => c.scheduleMinutes));
    const deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
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

    const forwarder = new ServiceFunction(this, 'Forwarder', {
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
        [ENV.checkpointTable]: this.table.tableName,
        // LATENESS_SECONDS, BACKFILL_SECONDS, BATCH_MAX_EVENTS, BATCH_MAX_BYTES: the contract's settings with an option.
        ...settingsEnvironment(s),
        POWERTOOLS_SERVICE_NAME: FORWARDER_SERVICE,
        ...powertools,
      },
      ...network,
    });
    forwarder.fn.addToRolePolicy(checkpointTableStatement(this.table));
    if (this.table.encryptionKey) forwarder.fn.addToRolePolicy(tableKeyStatement(this.table.encryptionKey));
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
    const testConnection = new ServiceFunction(this, 'TestConnection', {
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
          ? { [ENV.connectorSecretIds]: Stack.of(this).toJsonString(Object.fromEntries(named.map((c) => [c.name, secrets[lookup.indexOf(c)].secretId]))) }
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
    for (const fn of [forwarder, testConnection]) this.grantConnectorUse(fn, secrets, lookup);

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

  /**
   * Lets `grantee` call the test-connection URL (AWS_IAM auth): lambda:InvokeFunctionUrl, and
   * lambda:InvokeFunction only through a function URL, as URLs created since October 2025 need.
   */
  grantInvokeTestConnectionUrl(grantee: iam.IGrantable): iam.Grant {
    // Every test-connection function: the Event history one and each trail-file connector's.
    const functions = [
      ...(this.testConnectionFunction ? [this.testConnectionFunction] : []),
      ...this.connectors.flatMap((c) => (c.trailFiles ? [c.trailFiles.testConnection.fn] : [])),
    ];
    const [url, ...rest] = functionUrlCallerStatements(functions.map((fn) => fn.functionArn));
    const grant = iam.Grant.addToPrincipal({ grantee, actions: url.actions, resourceArns: url.resources, conditions: url.conditions });
    for (const statement of rest) grantee.grantPrincipal.addToPrincipalPolicy(statement);
    return grant;
  }

  /** Lets `grantee` write the connector JSON into every connector secret (e.g. a pipeline step). */
  grantWriteConnectorSecrets(grantee: iam.IGrantable): iam.Grant {
    return this.connectors.map((c) => c.secret.grantWrite(grantee)).reduce((a, b) => a.combine(b));
  }

  /** The one-connector form keeps the construct ids of the single-connector stack. */
  private scopeOf(c: ResolvedConnector): Construct {
    if (c.implicit) return this;
    return (this.node.tryFindChild(`Connector-${c.name}`) as Construct | undefined) ?? new Construct(this, `Connector-${c.name}`);
  }

  /** Read every connector's secret; read CloudTrail with the function's own role; assume the connectors' roles. */
  private grantConnectorUse(fn: ServiceFunction, secrets: ConnectorSecret[], connectors: ResolvedConnector[]): void {
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
}

/** The environment variables of the contract's settings that the construct has an option for. */
function settingsEnvironment(s: Settings): Record<string, string> {
  const values = s as unknown as Record<string, number>;
  return Object.fromEntries(
    Object.values(NUMBER_SETTINGS).flatMap((setting) => ('option' in setting ? [[setting.env, String(values[setting.option])]] : [])),
  );
}

/** A connector name as an IAM statement id part (letters and digits only). */
export const sidPart = (name: string) => name.replace(/[^A-Za-z0-9]/g, '');
