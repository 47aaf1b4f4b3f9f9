/**
 * Many connectors in one stack, as the functions see them: the schedule of a named connector
 * adds `detail: { connector, secretId }` to the scheduled event; test connection takes
 * `?connector=<name>`. And the first deploy: a secret that still holds the placeholder.
 */
import { PLACEHOLDER_CONNECTOR } from '../../functions/core/contract';
import { logger } from '../../functions/core/logger';
import { metrics } from '../../functions/core/metrics';
import { handler } from '../../functions/forwarder/handler';
import { handler as testConnection } from '../../functions/test-connection/handler';
import { lambdaContext, scheduledEvent, type StandIns } from '../../standins';
import { urlEvent } from '../../standins/lambda';
import { useStandIns } from '../helpers/standins';
import { captureStdout, freshProcess, recentEvents, sorted, storedCursor } from '../helpers/forwarder-helpers';

jest.setTimeout(60_000);

const standIns = useStandIns({ putDefaultSecret: false });
let s: StandIns;
beforeAll(() => (s = standIns()));
afterEach(() => {
  jest.restoreAllMocks();
  delete process.env.CONNECTOR_SECRET_IDS;
});

const REGION = 'us-east-1';
const runOf = (connector: string, secretId: string) =>
  handler({ ...scheduledEvent(), detail: { connector, secretId } }, lambdaContext(30_000));

describe('named connectors', () => {
  it('each runs from its own secret with its own checkpoint and lease, at the same time', async () => {
    const stamp = Date.now();
    const [a, b] = [`prod-${stamp}`, `audit-${stamp}`];
    await s.dnif.up();
    s.reset();
    s.putConnectorSecret(s.connector({ connectorName: a }), `dnif/${a}`);
    s.putConnectorSecret(s.connector({ connectorName: b }), `dnif/${b}`);
    freshProcess();
    const events = recentEvents(120, REGION, s.accountId, 4242);
    s.cloudtrail.addEvents(REGION, events);
    const dimensions = jest.spyOn(metrics, 'addDimensions');

    const [ra, rb] = await Promise.all([runOf(a, `dnif/${a}`), runOf(b, `dnif/${b}`)]);

    // Neither was held back by the other's lease; each delivered every event once.
    expect([ra.skipped, rb.skipped]).toEqual([undefined, undefined]);
    expect([ra.connectorName, rb.connectorName]).toEqual([a, b]);
    expect([ra.forwarded, rb.forwarded]).toEqual([events.length, events.length]);
    const byConnector = (name: string) => s.dnif.events().filter((e) => e.dnifForwarder?.connectorName === name);
    expect(sorted(byConnector(a).map((e) => String(e.eventID)))).toEqual(sorted(events.map((e) => e.eventID)));
    expect(byConnector(b)).toHaveLength(events.length);
    expect(await storedCursor(s, a, REGION)).toBeDefined();
    expect(await storedCursor(s, b, REGION)).toBeDefined();
    // Every metric also goes out with the connector dimension the per-connector alarms watch.
    expect(dimensions.mock.calls.map(([d]) => d)).toEqual(expect.arrayContaining([{ connector: a }, { connector: b }]));
  });

  it('refuses a secret whose connectorName is not the connector name (they would share checkpoints)', async () => {
    await s.dnif.up();
    s.putConnectorSecret(s.connector({ connectorName: 'someone-else' }), 'dnif/mismatch');
    freshProcess();
    const { error } = await captureStdout(() => runOf('mine', 'dnif/mismatch'));
    expect(error).toMatchObject({ name: 'ConnectorNameMismatch', message: expect.stringContaining('"mine" reads secret dnif/mismatch, whose connectorName is "someone-else"') });
  });
});

describe('the placeholder secret of a first deploy', () => {
  it('is a warning and a metric, not a failed run (so nothing lands in the dead-letter queue)', async () => {
    s.putConnectorSecret(JSON.stringify(PLACEHOLDER_CONNECTOR));
    freshProcess();
    const added = jest.spyOn(metrics, 'addMetric');
    logger.setLogLevel('WARN');
    const { result, error, output } = await captureStdout(() => handler(scheduledEvent(), lambdaContext(30_000)));
    logger.setLogLevel('ERROR');

    expect(error).toBeUndefined();
    expect(result).toMatchObject({ forwarded: 0, skipped: 'the connector secret still holds the placeholder', regions: {} });
    const lines = output.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.level, l.message])).toEqual([['WARN', expect.stringContaining('still holds the REPLACE_ME placeholder')]]);
    expect(added.mock.calls.map(([name]) => name)).toEqual(['ConnectorNotConfigured']);
  });

  it('is named by test connection with what to do', async () => {
    s.putConnectorSecret(JSON.stringify(PLACEHOLDER_CONNECTOR));
    const r = await testConnection(urlEvent('GET'));
    const check = JSON.parse(r.body).checks[0];
    expect(r.statusCode).toBe(400);
    expect(check).toMatchObject({ name: 'secret', ok: false, code: 'InvalidConnector', field: 'connectorName', hint: expect.stringContaining('put-secret-value') });
  });
});

describe('test connection of a named connector', () => {
  const get = (connector?: string) => {
    const event = urlEvent('GET');
    if (connector !== undefined) event.queryStringParameters = { connector };
    return testConnection(event).then((r) => ({ statusCode: r.statusCode, body: JSON.parse(r.body) }));
  };

  it('?connector=<name> reads that connector secret; no name reads SECRET_ID', async () => {
    await s.dnif.up();
    s.putConnectorSecret(s.connector({ connectorName: 'default-one' }));
    s.putConnectorSecret(s.connector({ connectorName: 'audit' }), 'dnif/audit');
    process.env.CONNECTOR_SECRET_IDS = JSON.stringify({ audit: 'dnif/audit' });
    expect((await get('audit')).body).toMatchObject({ status: 'Connection successful', connectorName: 'audit' });
    expect((await get()).body).toMatchObject({ status: 'Connection successful', connectorName: 'default-one' });
  });

  it('an unknown name is a 400 that names the parameter', async () => {
    process.env.CONNECTOR_SECRET_IDS = JSON.stringify({ audit: 'dnif/audit' });
    const r = await get('adit');
    expect(r.statusCode).toBe(400);
    expect(r.body.checks[0]).toMatchObject({ ok: false, code: 'BadRequest', field: 'connector', message: 'This stack has no connector named "adit"' });
  });
});
