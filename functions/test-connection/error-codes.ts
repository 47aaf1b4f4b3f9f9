/**
 * The stable codes test-connection answers with (docs/test-connection.md lists them) and the
 * mapping from the errors the AWS SDK, fetch (through HttpSink) and node:net/tls throw to them,
 * one module per subject in failures/.
 *
 * Nothing there copies a value out of the connector: messages are written from codes, region
 * names, hosts and AWS's own access-denied text (which names a principal ARN and an action).
 */
export { blameOf, CODES, DNIF, unknownFailure, type Blame, type Code, type Failure } from './failures/failure';
export { classifyAwsError, RoleAssumptionError, type AwsContext } from './failures/aws';
export { classifyDnifHttpError, classifySyslogError } from './failures/dnif';
export { classifyConnectorError } from './failures/connector';
