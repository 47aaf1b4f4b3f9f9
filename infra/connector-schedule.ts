/**
 * The EventBridge schedule of one connector. The one-connector form sends the plain scheduled
 * event (the forwarder reads SECRET_ID); a named connector's target keeps the scheduled-event
 * shape and adds `detail: { connector, secretId }` (docs/deploy.md, "Many connectors").
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ScheduledConnectorDetail } from '../functions/core/contract';
import type { ResolvedConnector } from './settings';

export interface ConnectorScheduleProps {
  readonly connector: ResolvedConnector;
  readonly secretId: string;
  readonly forwarder: lambda.IFunction;
  /** Where schedule events EventBridge could not deliver go. */
  readonly deadLetterQueue: sqs.IQueue;
}

export function connectorSchedule(scope: Construct, props: ConnectorScheduleProps): events.Rule {
  const c = props.connector;
  const interval = Duration.minutes(c.scheduleMinutes);
  return new events.Rule(scope, 'Schedule', {
    description: `Runs the CloudTrail-to-DNIF forwarder${c.implicit ? '' : ` for connector ${c.name}`} every ${c.scheduleMinutes} minute(s)`,
    schedule: events.Schedule.rate(interval),
    targets: [
      new targets.LambdaFunction(props.forwarder, {
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 2,
        maxEventAge: interval,
        event: c.implicit ? undefined : scheduledEventWith({ connector: c.name, secretId: props.secretId }),
      }),
    ],
  });
}

/**
 * The EventBridge scheduled event as it arrives, with the connector added under `detail`
 * (`{}` in a scheduled event): an input transformer keeps every other field.
 */
function scheduledEventWith(detail: ScheduledConnectorDetail): events.RuleTargetInput {
  const field = (name: string) => events.EventField.fromPath(`$.${name}`);
  return events.RuleTargetInput.fromObject({
    version: field('version'),
    id: events.EventField.eventId,
    'detail-type': events.EventField.detailType,
    source: events.EventField.source,
    account: events.EventField.account,
    time: events.EventField.time,
    region: events.EventField.region,
    resources: field('resources'),
    detail,
  });
}
