/** Failures of reading and checking the connector (the secret, the schema, the function's settings). */
import { ConnectorValidationError } from '../../core/connector';
import { SecretReadError } from '../../core/secret';
import { DNIF, isTimeout, unknownFailure, type ErrorShape, type Failure } from './failure';

export function classifyConnectorError(err: unknown, source: 'secret' | 'request', secretId?: string): Failure {
  if (err instanceof ConnectorValidationError) {
    const where = source === 'secret' ? `The connector in secret ${secretId}` : 'The connector in the request body';
    return {
      code: 'InvalidConnector',
      message: `${where} is invalid: ${err.problems.map((p) => `${p.field} ${p.problem}`).join('; ')}`,
      hint: `Fix ${err.field}${err.problems.length > 1 ? ` and the ${err.problems.length - 1} other field(s) listed` : ''}; the fields are those of the connector JSON (docs/test-connection.md).`,
      dnifMessage: DNIF.configuration,
      field: err.field,
      problems: err.problems,
    };
  }
  if (err instanceof SecretReadError) {
    switch (err.code) {
      case 'SecretNotFound':
        return {
          code: 'SecretNotFound',
          message: err.message,
          hint: 'Check SECRET_ID names the secret (name or ARN) in the function\'s region, and that a value has been put into it.',
          dnifMessage: DNIF.configuration,
          cause: err.code,
        };
      case 'SecretAccessDenied':
        return {
          code: 'SecretAccessDenied',
          message: err.message,
          hint: 'Allow the function\'s role secretsmanager:GetSecretValue on the secret (and kms:Decrypt on its key, if it uses a customer managed key).',
          dnifMessage: DNIF.credentials,
          cause: err.code,
        };
      case 'SecretPlaceholder':
        return {
          code: 'InvalidConnector',
          message: err.message,
          hint: 'Write the connector JSON into the secret with aws secretsmanager put-secret-value (docs/deploy.md, "Store the connector").',
          dnifMessage: DNIF.configuration,
          field: 'connectorName',
          problems: [{ field: 'connectorName', problem: 'is still the REPLACE_ME placeholder' }],
          cause: err.code,
        };
      case 'SecretNotString':
        return {
          code: 'InvalidConnector',
          message: err.message,
          hint: 'Store the connector JSON as the secret\'s SecretString (put-secret-value --secret-string).',
          dnifMessage: DNIF.configuration,
          field: '(secret)',
          problems: [{ field: '(secret)', problem: 'must be a SecretString holding the connector JSON' }],
          cause: err.code,
        };
      default:
        return {
          code: 'SecretUnreadable',
          message: err.message,
          hint: 'Check the function can reach Secrets Manager (a VPC needs a NAT gateway or a secretsmanager VPC endpoint) and try again.',
          dnifMessage: DNIF.unableToConnect,
          cause: err.code,
        };
    }
  }
  const e = (err ?? {}) as ErrorShape;
  if (e.name === 'ConfigError') {
    const variable = (err as { variable?: string }).variable;
    return {
      code: 'ConfigError',
      message: e.message ?? 'The function is misconfigured',
      hint:
        variable === 'SECRET_ID'
          ? 'Set SECRET_ID on the function to the name or ARN of the connector secret (the CDK stack does this).'
          : `Fix the function's environment variable ${variable ?? ''} (docs/test-connection.md).`.replace('  ', ' '),
      dnifMessage: DNIF.configuration,
    };
  }
  if (isTimeout(e)) {
    return {
      code: 'AwsTimeout',
      message: `Secrets Manager did not answer in time${secretId ? ` for ${secretId}` : ''}`,
      hint: 'Try again. If it keeps timing out, check the function can reach Secrets Manager.',
      dnifMessage: DNIF.timeout,
    };
  }
  return unknownFailure(err, 'reading the connector');
}
