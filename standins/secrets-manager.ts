/**
 * Secrets Manager GetSecretValue over the JSON 1.1 protocol, SigV4-checked. Secrets are
 * regional as in AWS: one is found (by name, full ARN or ARN without its random suffix)
 * only by requests signed for its region. Tests set and rotate values with putSecret.
 */
import { randomUUID } from 'node:crypto';
import { AwsError, createJsonService, type JsonCall } from './aws-json';
import { closeServer, listenLoopback } from './http';
import { randomId, type CredentialRegistry } from './sigv4';

export interface SecretsManagerOptions {
  registry: CredentialRegistry;
  /** Region and account of secrets put without saying. Defaults us-east-1 / 111122223333. */
  defaultRegion?: string;
  defaultAccountId?: string;
  /** Clock for CreatedDate (epoch ms). */
  now?: () => number;
}

export interface PutSecretOptions {
  region?: string;
  accountId?: string;
}

export interface SecretVersionInfo {
  arn: string;
  name: string;
  versionId: string;
}

export interface SecretsManagerStandIn {
  url: string;
  /** Create the secret, or rotate it: the new value becomes AWSCURRENT, the old one AWSPREVIOUS. */
  putSecret(name: string, secretString: string, opts?: PutSecretOptions): SecretVersionInfo;
  deleteSecret(name: string, opts?: PutSecretOptions): void;
  /** GetSecretValue calls that were answered with a value. */
  readonly getSecretValueCalls: number;
  /** The next `n` GetSecretValue calls fail (after auth) with this error. */
  failNext(n: number, error?: { code?: string; status?: number; message?: string }): void;
  close(): Promise<void>;
}

interface Version {
  id: string;
  value: string;
  createdMs: number;
  stages: string[];
}

interface Secret {
  name: string;
  arn: string;
  region: string;
  versions: Version[];
}

export async function startSecretsManager(opts: SecretsManagerOptions): Promise<SecretsManagerStandIn> {
  const now = opts.now ?? Date.now;
  const defaultRegion = opts.defaultRegion ?? 'us-east-1';
  const defaultAccountId = opts.defaultAccountId ?? '111122223333';
  const secrets = new Map<string, Secret>(); // key: `<region>/<name>`
  let calls = 0;
  let failures: { remaining: number; code: string; status: number; message: string } | undefined;

  const notFound = () => new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");

  function find(region: string, id: string): Secret | undefined {
    for (const s of secrets.values()) {
      if (s.region !== region) continue;
      // A partial ARN is the full one without its "-xxxxxx" suffix.
      if (s.name === id || s.arn === id || s.arn.slice(0, -7) === id) return s;
    }
    return undefined;
  }

  function getSecretValue({ region, input }: JsonCall) {
    if (failures && failures.remaining > 0) {
      failures.remaining--;
      throw new AwsError(failures.code, failures.message, failures.status);
    }
    const id = input.SecretId;
    if (typeof id !== 'string' || id.length === 0) throw new AwsError('ValidationException', 'SecretId is required');
    const secret = find(region, id);
    if (!secret) throw notFound();

    const { VersionId, VersionStage } = input;
    let version: Version | undefined;
    if (VersionId !== undefined) version = secret.versions.find((v) => v.id === VersionId);
    else version = secret.versions.find((v) => v.stages.includes(typeof VersionStage === 'string' ? VersionStage : 'AWSCURRENT'));
    if (!version || (VersionId !== undefined && VersionStage !== undefined && !version.stages.includes(String(VersionStage)))) {
      throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for the given version.");
    }
    calls++;
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      SecretString: version.value,
      VersionStages: version.stages,
      CreatedDate: version.createdMs / 1000,
    };
  }

  const server = createJsonService({
    registry: opts.registry,
    signingName: 'secretsmanager',
    targetPrefix: 'secretsmanager',
    operations: { GetSecretValue: { action: 'secretsmanager:GetSecretValue', handle: getSecretValue } },
    resourceOf: (_op, input) => (typeof input.SecretId === 'string' ? input.SecretId : undefined),
  });
  const port = await listenLoopback(server);

  return {
    url: `http://127.0.0.1:${port}`,
    putSecret(name, secretString, put = {}) {
      const region = put.region ?? defaultRegion;
      const key = `${region}/${name}`;
      let secret = secrets.get(key);
      if (!secret) {
        const arn = `arn:aws:secretsmanager:${region}:${put.accountId ?? defaultAccountId}:secret:${name}-${randomId(6)}`;
        secret = { name, arn, region, versions: [] };
        secrets.set(key, secret);
      }
      // Staging labels move as in a rotation: current → previous, previous → none.
      for (const v of secret.versions) {
        v.stages = v.stages.includes('AWSCURRENT') ? ['AWSPREVIOUS'] : [];
      }
      const version: Version = { id: randomUUID(), value: secretString, createdMs: now(), stages: ['AWSCURRENT'] };
      secret.versions.push(version);
      return { arn: secret.arn, name, versionId: version.id };
    },
    deleteSecret(name, del = {}) {
      secrets.delete(`${del.region ?? defaultRegion}/${name}`);
    },
    get getSecretValueCalls() {
      return calls;
    },
    failNext(n, error = {}) {
      failures = {
        remaining: n,
        code: error.code ?? 'InternalServiceError',
        status: error.status ?? 500,
        message: error.message ?? 'An error occurred on the server side.',
      };
    },
    close: () => closeServer(server),
  };
}
