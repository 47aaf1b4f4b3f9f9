import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startSecretsManager, type SecretsManagerStandIn } from '../../standins/secrets-manager';
import { CredentialRegistry, type Principal } from '../../standins/sigv4';

describe('Secrets Manager stand-in', () => {
  const registry = new CredentialRegistry();
  const fn = registry.createUser('111122223333', 'forwarder-fn');
  let sm: SecretsManagerStandIn;
  const clients: SecretsManagerClient[] = [];

  const get = (SecretId: string, p: Pick<Principal, 'accessKeyId' | 'secretAccessKey'> = fn, region = 'eu-central-1', extra = {}) => {
    const c = new SecretsManagerClient({ region, endpoint: sm.url, credentials: p, maxAttempts: 1 });
    clients.push(c);
    return c.send(new GetSecretValueCommand({ SecretId, ...extra }));
  };

  beforeAll(async () => {
    sm = await startSecretsManager({ registry, defaultRegion: 'eu-central-1' });
  });
  afterAll(async () => {
    clients.forEach((c) => c.destroy());
    await sm.close();
  });

  it('returns the secret by name, full ARN or partial ARN, and counts the calls', async () => {
    const { arn, versionId } = sm.putSecret('dnif/connector', '{"a":1}');
    expect(arn).toMatch(/^arn:aws:secretsmanager:eu-central-1:111122223333:secret:dnif\/connector-[A-Z2-7]{6}$/);
    const before = sm.getSecretValueCalls;
    const byName = await get('dnif/connector');
    expect(byName).toMatchObject({ ARN: arn, Name: 'dnif/connector', SecretString: '{"a":1}', VersionId: versionId, VersionStages: ['AWSCURRENT'] });
    expect(byName.CreatedDate).toBeInstanceOf(Date);
    expect((await get(arn)).SecretString).toBe('{"a":1}');
    expect((await get(arn.slice(0, -7))).SecretString).toBe('{"a":1}');
    expect(sm.getSecretValueCalls - before).toBe(3);
  });

  it('rotates: the new value is AWSCURRENT, the old one AWSPREVIOUS', async () => {
    const first = sm.putSecret('rotating', 'v1');
    const second = sm.putSecret('rotating', 'v2');
    expect(second.arn).toBe(first.arn);
    expect(await get('rotating')).toMatchObject({ SecretString: 'v2', VersionId: second.versionId });
    expect(await get('rotating', fn, 'eu-central-1', { VersionStage: 'AWSPREVIOUS' })).toMatchObject({ SecretString: 'v1' });
  });

  it('answers ResourceNotFoundException for unknown ids and for another region', async () => {
    sm.putSecret('regional', 'x');
    await expect(get('does-not-exist')).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(get('regional', fn, 'us-west-2')).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('checks the signature and the IAM action', async () => {
    sm.putSecret('guarded', 'x');
    await expect(get('guarded', { ...fn, secretAccessKey: 'not-the-secret-0000000000000000000000000' })).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
    const other = registry.createUser('111122223333', 'no-secrets', { deniedActions: ['secretsmanager:GetSecretValue'] });
    await expect(get('guarded', other)).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(`User: ${other.userArn} is not authorized to perform: secretsmanager:GetSecretValue on resource: guarded`),
    });
  });

  it('fails on demand', async () => {
    sm.putSecret('flaky', 'x');
    sm.failNext(1);
    await expect(get('flaky')).rejects.toMatchObject({ name: 'InternalServiceError', $metadata: { httpStatusCode: 500 } });
    await expect(get('flaky')).resolves.toMatchObject({ SecretString: 'x' });
  });
});
