/**
 * roleArn + externalId: reading another account's Event history through an assumed role, from
 * the connector's keys or from the function's own role, with credentials refreshed before they
 * expire, and a clear error when the role cannot be assumed.
 */
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { ForwarderRunError } from '../../functions/forwarder/forward';
import { startStandIns, type StandIns } from '../../standins';
import { invokeForwarder, newConnector, recentEvents, sorted } from '../helpers/forwarder-helpers';

jest.setTimeout(120_000);

const ROLE_ACCOUNT = '444455556666';
const ROLE_ARN = `arn:aws:iam::${ROLE_ACCOUNT}:role/dnif-cloudtrail-reader`;
const EXTERNAL_ID = 'dnif-tenant-7f3a9c';

let s: StandIns;
let undoEnv: () => void;
beforeAll(async () => {
  s = await startStandIns();
  undoEnv = s.applyEnv();
  s.sts.addRole({ roleArn: ROLE_ARN, externalId: EXTERNAL_ID, trustedPrincipals: [s.connectorUser.userArn] });
});
afterAll(async () => {
  undoEnv();
  await s.stop();
});

const lookupsByAccount = () => Object.keys(s.cloudtrail.stats().accountRegions).sort();

describe('roleArn and externalId', () => {
  it("reads another account's events through the role assumed with the connector's keys and the external id", async () => {
    const regions = ['us-east-1', 'eu-west-1'];
    await newConnector(s, (n) => s.connector({ connectorName: n, awsRegion: undefined, awsRegions: regions, roleArn: ROLE_ARN, externalId: EXTERNAL_ID }));
    const sessionsBefore = s.sts.sessions.length;
    const events = regions.flatMap((r, i) => recentEvents(80, r, ROLE_ACCOUNT, 300 + i));
    for (const r of regions) s.cloudtrail.addEvents(r, events.filter((e) => e.awsRegion === r));
    // The connector user's own account has events too: they must not be read.
    s.cloudtrail.addEvents('us-east-1', recentEvents(10, 'us-east-1', s.accountId, 399));

    const summary = await invokeForwarder();

    expect(summary.forwarded).toBe(160);
    expect(sorted(s.dnif.eventsById().keys())).toEqual(sorted(events.map((e) => e.eventID)));
    for (const e of s.dnif.eventsById().values()) expect(e.dnifForwarder?.accountId).toBe(ROLE_ACCOUNT);
    // Every LookupEvents was signed by the role's session, in the role's account.
    expect(lookupsByAccount()).toEqual([`${ROLE_ACCOUNT}/eu-west-1`, `${ROLE_ACCOUNT}/us-east-1`]);
    const sessions = s.sts.sessions.slice(sessionsBefore);
    expect(sessions.length).toBeGreaterThanOrEqual(1);
    for (const session of sessions) expect(session).toMatchObject({ roleArn: ROLE_ARN, externalId: EXTERNAL_ID, sessionName: 'cloudtrail-dnif-forwarder' });
  });

  it("assumes the role from the function's own role when the connector has no keys", async () => {
    const roleArn = `arn:aws:iam::${ROLE_ACCOUNT}:role/dnif-reader-for-lambda`;
    // Trusts only the forwarder's execution role, not the connector user.
    s.sts.addRole({ roleArn, externalId: EXTERNAL_ID, trustedPrincipals: [`arn:aws:iam::${s.accountId}:role/cloudtrail-dnif-forwarder`] });
    await newConnector(s, (n) => s.connector({ connectorName: n, awsAccessKeyId: undefined, awsSecretAccessKey: undefined, roleArn, externalId: EXTERNAL_ID }));
    const events = recentEvents(40, 'us-east-1', ROLE_ACCOUNT, 400);
    s.cloudtrail.addEvents('us-east-1', events);

    const summary = await invokeForwarder();

    expect(summary.forwarded).toBe(40);
    expect(lookupsByAccount()).toEqual([`${ROLE_ACCOUNT}/us-east-1`]);
    expect(s.sts.sessions[s.sts.sessions.length - 1]).toMatchObject({ roleArn, externalId: EXTERNAL_ID });
  });

  it("reads the function's own account with its own role when the connector has neither keys nor role", async () => {
    await newConnector(s, (n) => s.connector({ connectorName: n, awsAccessKeyId: undefined, awsSecretAccessKey: undefined }));
    const assumed = s.sts.calls.AssumeRole;
    s.cloudtrail.addEvents('us-east-1', recentEvents(30, 'us-east-1', s.accountId, 500));

    expect((await invokeForwarder()).forwarded).toBe(30);
    expect(lookupsByAccount()).toEqual([`${s.accountId}/us-east-1`]);
    expect(s.sts.calls.AssumeRole).toBe(assumed);
  });

  it('fails with a clear error naming the role when the external id is wrong, and moves no checkpoint', async () => {
    await newConnector(s, (n) => s.connector({ connectorName: n, roleArn: ROLE_ARN, externalId: 'not-the-tenant-id' }));
    s.cloudtrail.addEvents('us-east-1', recentEvents(10, 'us-east-1', ROLE_ACCOUNT, 600));

    const err = (await invokeForwarder().catch((e: unknown) => e)) as ForwarderRunError;

    expect(err).toBeInstanceOf(ForwarderRunError);
    const failure = err.summary.regions['us-east-1'].error;
    expect(failure?.code).toBe('AccessDenied');
    expect(failure?.message).toMatch(new RegExp(`^LookupEvents failed in us-east-1 with AccessDenied: Could not assume role ${ROLE_ARN} \\(.*sts:AssumeRole.*\\); check roleArn, externalId and the role's trust policy$`));
    expect(err.summary.regions['us-east-1'].checkpoint?.head).toBe(err.summary.checkpoint);
    expect(s.cloudtrail.stats().lookups).toBe(0);
    expect(s.dnif.eventsById().size).toBe(0);
    expect(err.message).not.toContain(s.connectorUser.secretAccessKey);
  });

  it('refreshes the role credentials during a run longer than their lifetime', async () => {
    const roleArn = `arn:aws:iam::${ROLE_ACCOUNT}:role/short-lived-reader`;
    // Whatever DurationSeconds asks, these credentials die after 3 s; the run takes several.
    s.sts.addRole({ roleArn, externalId: EXTERNAL_ID, trustedPrincipals: [s.connectorUser.userArn], credentialLifetimeSeconds: 3 });
    const regions = ['us-east-1', 'eu-west-1'];
    await newConnector(s, (n) => s.connector({ connectorName: n, awsRegion: undefined, awsRegions: regions, roleArn, externalId: EXTERNAL_ID }));
    const firstSession = s.sts.sessions.length;
    const reads = s.secrets.getSecretValueCalls;
    const events = regions.flatMap((r, i) => recentEvents(r === 'us-east-1' ? 500 : 150, r, ROLE_ACCOUNT, 700 + i));
    for (const r of regions) s.cloudtrail.addEvents(r, events.filter((e) => e.awsRegion === r));

    const started = Date.now();
    const summary = await invokeForwarder();
    const took = Date.now() - started;

    expect(took).toBeGreaterThan(5_000);
    expect(summary.forwarded).toBe(events.length);
    expect(s.dnif.eventsById().size).toBe(events.length);
    expect(s.dnif.duplicates).toBe(0);
    // No request was refused for expired credentials (each was signed with a live session), and
    // the run needed no second pass with a re-read secret.
    const stats = s.cloudtrail.stats();
    expect(stats.requests).toBe(stats.lookups);
    expect(s.secrets.getSecretValueCalls - reads).toBe(1);
    const sessions = s.sts.sessions.slice(firstSession);
    expect(sessions.length).toBeGreaterThan(regions.length);
    // The first session really expired in the middle of the run...
    const first = sessions[0].principal;
    expect(first.expiresAt).toBeLessThan(started + took - 1_000);
    const stale = new CloudTrailClient({
      region: 'us-east-1',
      credentials: { accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey, sessionToken: first.sessionToken },
      maxAttempts: 1,
    });
    await expect(stale.send(new LookupEventsCommand({ MaxResults: 1 }))).rejects.toMatchObject({ name: 'ExpiredTokenException' });
    // ...and reading went on with later ones.
    const lookupTimes = s.cloudtrail.stats().regions['us-east-1'].requestTimes;
    expect(Math.max(...lookupTimes)).toBeGreaterThan(first.expiresAt as number);
  });
});
