import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient, type AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import { startCloudTrail, type CloudTrailStandIn } from '../../standins/cloudtrail';
import { generateEvents } from '../../standins/fixtures';
import { CredentialRegistry, type Principal } from '../../standins/sigv4';
import { startSts, type StsStandIn } from '../../standins/sts';

type Creds = Pick<Principal, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>;

describe('STS stand-in', () => {
  let clock = 1_800_000_000_000;
  const registry = new CredentialRegistry({ now: () => clock });
  const caller = registry.createUser('111122223333', 'dnif-connector');
  const stranger = registry.createUser('999999999999', 'stranger');
  const ROLE = 'arn:aws:iam::444455556666:role/DnifCloudTrailRead';
  const ROLE_WITH_EXTERNAL_ID = 'arn:aws:iam::444455556666:role/service/DnifWithExternalId';
  let sts: StsStandIn;
  let ct: CloudTrailStandIn;
  const clients: Array<{ destroy(): void }> = [];

  function stsClient(creds: Creds = caller) {
    const c = new STSClient({ region: 'eu-west-1', endpoint: sts.url, credentials: creds, maxAttempts: 1 });
    clients.push(c);
    return c;
  }
  const assume = (input: Partial<AssumeRoleCommandInput>, creds: Creds = caller) =>
    stsClient(creds).send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'dnif', ...input }));

  beforeAll(async () => {
    sts = await startSts({ registry });
    ct = await startCloudTrail({ registry });
    sts.addRole({ roleArn: ROLE, trustedPrincipals: ['111122223333'] });
    sts.addRole({ roleArn: ROLE_WITH_EXTERNAL_ID, externalId: 'dnif-tenant-42', trustedPrincipals: ['arn:aws:iam::111122223333:root'] });
  });
  afterAll(async () => {
    clients.forEach((c) => c.destroy());
    await Promise.all([sts.close(), ct.close()]);
  });

  it('GetCallerIdentity reports the signing key', async () => {
    const out = await stsClient().send(new GetCallerIdentityCommand({}));
    expect(out).toMatchObject({ Account: '111122223333', Arn: caller.userArn, UserId: caller.userId });
    expect(out.UserId).toMatch(/^AIDA/);
  });

  it('AssumeRole issues temporary credentials the CloudTrail stand-in accepts for the role account', async () => {
    const out = await assume({ DurationSeconds: 900 });
    const creds = out.Credentials;
    expect(creds?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(creds?.Expiration?.getTime()).toBe(clock + 900_000); // the clock sits on a whole second
    expect(out.AssumedRoleUser?.Arn).toBe('arn:aws:sts::444455556666:assumed-role/DnifCloudTrailRead/dnif');

    const session = { accessKeyId: creds?.AccessKeyId as string, secretAccessKey: creds?.SecretAccessKey as string, sessionToken: creds?.SessionToken };
    expect(await stsClient(session).send(new GetCallerIdentityCommand({}))).toMatchObject({
      Account: '444455556666',
      UserId: expect.stringMatching(/^AROA[A-Z2-7]{17}:dnif$/),
    });

    ct.addEvents('eu-west-1', generateEvents({ count: 2, region: 'eu-west-1', accountId: '444455556666', from: Date.UTC(2026, 0, 1), perSecond: 1 }));
    const trail = new CloudTrailClient({ region: 'eu-west-1', endpoint: ct.url, credentials: session, maxAttempts: 1 });
    clients.push(trail);
    expect((await trail.send(new LookupEventsCommand({}))).Events).toHaveLength(2);

    clock += 900_000; // the session has run out
    await expect(trail.send(new LookupEventsCommand({}))).rejects.toMatchObject({ name: 'ExpiredTokenException' });
    await expect(stsClient(session).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'ExpiredToken',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('requires the right ExternalId when the role asks for one', async () => {
    const ok = await assume({ RoleArn: ROLE_WITH_EXTERNAL_ID, ExternalId: 'dnif-tenant-42' });
    expect(ok.AssumedRoleUser?.Arn).toBe('arn:aws:sts::444455556666:assumed-role/DnifWithExternalId/dnif');
    expect(sts.sessions[sts.sessions.length - 1]).toMatchObject({ roleArn: ROLE_WITH_EXTERNAL_ID, externalId: 'dnif-tenant-42' });
    const deniedMessage = `User: ${caller.userArn} is not authorized to perform: sts:AssumeRole on resource: ${ROLE_WITH_EXTERNAL_ID}`;
    await expect(assume({ RoleArn: ROLE_WITH_EXTERNAL_ID })).rejects.toMatchObject({ name: 'AccessDenied', message: deniedMessage });
    await expect(assume({ RoleArn: ROLE_WITH_EXTERNAL_ID, ExternalId: 'other-tenant' })).rejects.toMatchObject({ name: 'AccessDenied' });
    // A role without an ExternalId condition ignores one that is passed, as IAM does.
    await expect(assume({ ExternalId: 'anything' })).resolves.toBeDefined();
  });

  it('denies untrusted principals, unknown roles and out-of-range durations', async () => {
    await expect(assume({}, stranger)).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    await expect(assume({ RoleArn: 'arn:aws:iam::444455556666:role/Nope' })).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(assume({ DurationSeconds: 7200 })).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(assume({ RoleSessionName: 'bad name' })).rejects.toMatchObject({ name: 'ValidationError' });
  });

  it('applies role-level denials to issued sessions, now and later', async () => {
    const role = sts.addRole({ roleArn: 'arn:aws:iam::444455556666:role/Narrow', credentialLifetimeSeconds: 5 });
    const out = await assume({ RoleArn: role.roleArn });
    expect(out.Credentials?.Expiration?.getTime()).toBe(new Date(clock + 5000).setUTCMilliseconds(0));
    const session = { accessKeyId: out.Credentials?.AccessKeyId as string, secretAccessKey: out.Credentials?.SecretAccessKey as string, sessionToken: out.Credentials?.SessionToken };
    const trail = new CloudTrailClient({ region: 'us-east-1', endpoint: ct.url, credentials: session, maxAttempts: 1 });
    clients.push(trail);
    await expect(trail.send(new LookupEventsCommand({}))).resolves.toBeDefined();
    role.deniedActions.add('cloudtrail:LookupEvents');
    await expect(trail.send(new LookupEventsCommand({}))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('answers auth failures in STS XML error form', async () => {
    await expect(stsClient({ accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x'.repeat(40) }).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(stsClient({ ...caller, secretAccessKey: 'y'.repeat(40) }).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
      $metadata: { httpStatusCode: 403 },
    });
    expect(sts.calls.GetCallerIdentity).toBeGreaterThan(0);
  });
});
