import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { useStandIns } from './standins';

describe('useStandIns (test/helpers)', () => {
  const before = process.env.AWS_ENDPOINT_URL_CLOUDTRAIL;
  const env = useStandIns({ region: 'ap-southeast-2' });

  it('starts the stand-ins, puts the default secret and points the env at them', async () => {
    const s = env();
    expect(process.env.AWS_ENDPOINT_URL_CLOUDTRAIL).toBe(s.cloudtrail.url);
    expect(process.env.AWS_REGION).toBe('ap-southeast-2');
    expect(before).not.toBe(s.cloudtrail.url);
    const sm = new SecretsManagerClient({});
    const out = await sm.send(new GetSecretValueCommand({ SecretId: process.env.SECRET_ID }));
    sm.destroy();
    expect(JSON.parse(out.SecretString as string)).toMatchObject({ awsRegion: 'ap-southeast-2', dnif: { url: s.dnif.url } });
  });
});
