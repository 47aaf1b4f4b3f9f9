/**
 * CloudTrailToDnif: the whole forwarder as one L3 construct. Per connector a secret, and by its
 * source either a schedule (Event history: a lease and checkpoints in the shared table, kept
 * by the shared forwarder) or a trail-file queue with its own S3 forwarder (S3Source). Shared
 * by all connectors the table, the alarm topic and the dashboard; alarms per connector.
 *
 *   new CloudTrailToDnif(this, 'Dnif', { connectors: [{ name: 'prod', secretArn }], alarmEmail })
 */
import { Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { CloudTrailToDnifProps } from './cloudtrail-to-dnif-props';
import { connectorSchedule } from './connector-schedule';
import { createCheckpointTable } from './checkpoint-table';
import { ConnectorSecret } from './connector-secret';
import { createEventHistory, type EventHistoryParts } from './event-history';
import { Monitoring } from './monitoring';
import { functionUrlCallerStatements } from './permissions';
import { S3Source } from './s3-source';
import { TrailAudit } from './trail-audit';
import { resolveSettings, type ResolvedConnector, type Settings } from './settings';

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
    const history = lookup.length ? createEventHistory(this, this.table, s, lookup, lookup.map((c) => secrets[s.connectors.indexOf(c)]), network) : undefined;

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
}

/** A connector name as an IAM statement id part (letters and digits only). */
export const sidPart = (name: string) => name.replace(/[^A-Za-z0-9]/g, '');
