/**
 * The library entry (package.json `main`): the construct, its props, the stack that wraps it,
 * and the policy a test-connection URL caller needs.
 */
export { CloudTrailToDnif, type ConnectorResources } from '../infra/cloudtrail-to-dnif';
export type {
  CloudTrailToDnifOptions,
  CloudTrailToDnifProps,
  ConnectorOptions,
  ConnectorProps,
  ConnectorSource,
  FunctionUrlAuth,
} from '../infra/cloudtrail-to-dnif-props';
export { ForwarderStack, type ForwarderStackProps } from '../infra/forwarder-stack';
export { S3Source } from '../infra/s3-source';
export type { NotificationRoute, TrailFileOptions } from '../infra/s3-settings';
export { functionUrlCallerStatements } from '../infra/permissions';
export { OptionError, optionsFromContext } from '../infra/settings';
