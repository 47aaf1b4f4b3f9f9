/**
 * Reads the connector from Secrets Manager through Powertools' cached provider, so a warm
 * function does not call GetSecretValue on every run, and validates it (connector.ts).
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { Connector, parseConnector } from './connector';
import { isPlaceholderConnector } from './contract';
import { secretScrubber } from './scrub';

/** The secret could not be read (as opposed to read but invalid: ConnectorValidationError). */
export class SecretReadError extends Error {
  constructor(
    readonly code: 'SecretNotFound' | 'SecretAccessDenied' | 'SecretNotString' | 'SecretUnreadable' | 'SecretPlaceholder',
    message: string,
  ) {
    super(message);
    this.name = 'SecretReadError';
  }
}

let provider: SecretsProvider | undefined;
// Built on first use so AWS_ENDPOINT_URL_SECRETS_MANAGER and the region are read when set.
const secretsProvider = (): SecretsProvider => (provider ??= new SecretsProvider());

/** For tests that swap the environment between cases. */
export function resetSecretCache(): void {
  provider = undefined;
}

export interface LoadConnectorOptions {
  maxAgeSeconds: number;
  /** Skip the cache: used after DNIF or AWS rejected the cached credentials (rotation). */
  forceFetch?: boolean;
}

export async function loadConnector(secretId: string, options: LoadConnectorOptions): Promise<Connector> {
  let value: unknown;
  try {
    value = await secretsProvider().get(secretId, { maxAge: options.maxAgeSeconds, forceFetch: options.forceFetch });
  } catch (err) {
    throw toSecretReadError(secretId, err);
  }
  if (typeof value !== 'string') {
    throw new SecretReadError('SecretNotString', `Secret ${secretId} has no SecretString (a binary secret is not supported)`);
  }
  if (isPlaceholderConnector(parsedOrUndefined(value))) {
    throw new SecretReadError(
      'SecretPlaceholder',
      `Secret ${secretId} still holds the REPLACE_ME placeholder the stack created: put the connector JSON into it (docs/deploy.md, "Store the connector")`,
    );
  }
  try {
    const connector = parseConnector(value);
    // From now on no log line, summary or thrown error of this process shows its secrets.
    secretScrubber.addConnector(connector);
    return connector;
  } catch (err) {
    // Invalid: any string in it may be a secret in the wrong field.
    try {
      secretScrubber.addLikelySecretsOf(JSON.parse(value));
    } catch {
      secretScrubber.add([value]);
    }
    throw err;
  }
}

function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toSecretReadError(secretId: string, err: unknown): SecretReadError {
  // Powertools wraps the SDK error in GetParameterError; the SDK error is its cause.
  const cause = (err as { cause?: unknown })?.cause ?? err;
  const name = (cause as { name?: string })?.name ?? '';
  if (name === 'ResourceNotFoundException') {
    return new SecretReadError('SecretNotFound', `Secret ${secretId} (SECRET_ID) was not found`);
  }
  if (name === 'AccessDeniedException') {
    return new SecretReadError('SecretAccessDenied', `Not allowed to read secret ${secretId} (SECRET_ID): secretsmanager:GetSecretValue is needed`);
  }
  return new SecretReadError('SecretUnreadable', `Secret ${secretId} (SECRET_ID) could not be read: ${name || 'unknown error'}`);
}
