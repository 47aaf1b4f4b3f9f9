/**
 * Bad input, end to end through the forwarder handler. Each case ends in a clear error naming the
 * field (or variable), with nothing read, sent or checkpointed, or in a documented, counted
 * treatment of the event; nothing is lost silently, and no secret value is echoed in an error or
 * a log line (the file-wide log scan of support/log-scan.ts, plus the explicit checks here).
 *
 * The connector's rules field by field are unit-tested in test/core/connector.test.ts; here each
 * kind of mistake goes through the whole handler once: Secrets Manager, config, error, logs.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { handler, resetForwarderState } from '../../../functions/forwarder/handler';
import type { ForwarderSummary } from '../../../functions/forwarder/forward';
import { ConfigError } from '../../../functions/core/config';
import { ConnectorValidationError } from '../../../functions/core/connector';
import { resetSecretCache, SecretReadError } from '../../../functions/core/secret';
import { generateEvents, lambdaContext, loadRecords, scheduledEvent, type CloudTrailRecord, type ConnectorDocument, type WireEvent } from '../../../standins';
import { emit, findLeaks, registerSecret } from './support/log-scan';
import { observeSource } from '../../helpers/observe-source';
import { FULL, useSuite } from './support/suite';

jest.setTimeout(FULL ? 15 * 60_000 : 120_000);

const suite = useSuite('bad-input.int.test.ts');
const observer = observeSource();
const REGION = 'us-east-1';

const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYbad';
const TOKEN = 'dnif-bad-input-token-7f3a9c';

let seq = 0;
function fresh(): string {
  const s = suite.standIns();
  s.reset();
  s.dnif.setAuth({ type: 'bearer', token: TOKEN });
  resetForwarderState();
  resetSecretCache();
  return `bad-${++seq}-${Date.now()}`;
}

async function checkpointItems(): Promise<number> {
  const doc = DynamoDBDocumentClient.from(suite.standIns().dynamodb.client());
  try {
    const out = await doc.send(new ScanCommand({ TableName: suite.standIns().dynamodb.tableName, Select: 'COUNT' }));
    return out.Count ?? 0;
  } finally {
    doc.destroy();
  }
}

async function invoke(timeoutMs = 60_000): Promise<{ summary?: ForwarderSummary; error?: Error; output: string }> {
  const before = suite.logs.output().length;
  try {
    const summary = await handler(scheduledEvent(), lambdaContext(timeoutMs));
    return { summary, output: suite.logs.output().slice(before) };
  } catch (error) {
    return { error: error as Error, output: suite.logs.output().slice(before) };
  }
}

/** A valid connector with the stand-in's keys, and the values this file watches for in logs. */
function connector(name: string, overrides: ConnectorDocument = {}): ConnectorDocument {
  const s = suite.standIns();
  return s.connector({ connectorName: name, awsSecretAccessKey: s.connectorUser.secretAccessKey, ...overrides });
}

describe('bad connector secrets, through the handler', () => {
  type Case = [string, (name: string) => ConnectorDocument | string, string, RegExp];
  const withDnif = (name: string, dnif: Record<string, unknown>) => ({ ...connector(name), dnif });
  const url = () => suite.standIns().dnif.url;
  const cases: Case[] = [
    ['secret is not JSON', (n) => `{"connectorName":"${n}","awsSecretAccessKey":"${SECRET_KEY}","dnif":{"token":"${TOKEN}"`, '(secret)', /not valid JSON/],
    ['secret is a JSON array', () => JSON.stringify([{ awsSecretAccessKey: SECRET_KEY }]), '(secret)', /JSON object/],
    ['connectorName missing', (n) => ({ ...connector(n), connectorName: undefined }), 'connectorName', /required/],
    ['awsSecretAccessKey empty', (n) => ({ ...connector(n), awsSecretAccessKey: '' }), 'awsSecretAccessKey', /.+/],
    ['dnif missing', (n) => ({ ...connector(n), dnif: undefined }), 'dnif', /required/],
    ['unknown field holding a secret', (n) => ({ ...connector(n), awsSecretKey: SECRET_KEY }), 'awsSecretKey', /not a known field/],
    ['unknown dnif field', (n) => withDnif(n, { url: url(), token: TOKEN, tokn: TOKEN }), 'dnif.tokn', /not a known field/],
    ['awsRegion of the wrong type', (n) => ({ ...connector(n), awsRegion: 1 }), 'awsRegion', /type string/],
    ['awsRegions not a list', (n) => ({ ...connector(n), awsRegion: undefined, awsRegions: 'us-east-1' }), 'awsRegions', /type array/],
    ['dnif.gzip of the wrong type', (n) => withDnif(n, { url: url(), token: TOKEN, gzip: 'yes' }), 'dnif.gzip', /type boolean/],
    ['region "us-east-1 " (trailing space)', (n) => ({ ...connector(n), awsRegion: 'us-east-1 ' }), 'awsRegion', /region code/],
    ['region "US-EAST-1"', (n) => ({ ...connector(n), awsRegion: 'US-EAST-1' }), 'awsRegion', /region code/],
    ['region "mars-1"', (n) => ({ ...connector(n), awsRegion: 'mars-1' }), 'awsRegion', /region code/],
    ['a bad region inside awsRegions', (n) => ({ ...connector(n), awsRegion: undefined, awsRegions: ['eu-west-1', 'mars-1'] }), 'awsRegions.1', /region code/],
    ['DNIF URL not https', (n) => withDnif(n, { url: 'http://dnif.example.net/events', token: TOKEN }), 'dnif.url', /https/],
    ['DNIF URL malformed', (n) => withDnif(n, { url: 'https//dnif example/events', token: TOKEN }), 'dnif.url', /https/],
    ['DNIF token empty', (n) => withDnif(n, { url: url(), token: '' }), 'dnif.token', /empty/],
    ['DNIF basic password empty', (n) => withDnif(n, { url: url(), auth: { type: 'basic', username: 'u', password: '' } }), 'dnif.auth.password', /empty/],
    // Issue 11: values a library would quote in its error text, and the transport rules.
    ['DNIF token with CR LF', (n) => withDnif(n, { url: url(), token: `${TOKEN}\r\nX-Injected: 1` }), 'dnif.token', /control characters/],
    ['DNIF header auth value with a NUL', (n) => withDnif(n, { url: url(), auth: { type: 'header', name: 'X-Api-Key', value: `hdr-${TOKEN}\u0000` } }), 'dnif.auth.value', /control characters/],
    ['extra DNIF header with CR LF', (n) => withDnif(n, { url: url(), token: TOKEN, headers: { 'X-Tenant': `tenant-${TOKEN}\r\n` } }), 'dnif.headers.X-Tenant', /control characters/],
    ['DNIF URL with user:password', (n) => withDnif(n, { url: url().replace('http://', `http://fwd:pw-${TOKEN}@`), token: TOKEN }), 'dnif.url', /user name or password/],
    ['DNIF URL to a name starting 127.', (n) => withDnif(n, { url: url().replace('127.0.0.1', '127.attacker.example'), token: TOKEN }), 'dnif.url', /loopback IP/],
    ['a secret pasted as a key name', (n) => ({ ...connector(n), [SECRET_KEY]: 'x' }), '(unknown key 1)', /not a known field/],
    ['basic username with a colon', (n) => withDnif(n, { url: url(), auth: { type: 'basic', username: 'ops:team', password: `pw-${TOKEN}` } }), 'dnif.auth.username', /RFC 7617/],
  ];

  it.each(cases.map(([what, make, field, problem]) => [`${what} → refused, naming ${field}`, make, field, problem] as const))('%s', async (_name, make, field, problem) => {
    const s = suite.standIns();
    const name = fresh();
    const doc = make(name);
    suite.putSecret(doc);
    const itemsBefore = await checkpointItems();

    const { error, summary, output } = await invoke();

    expect(summary).toBeUndefined();
    expect(error).toBeInstanceOf(ConnectorValidationError);
    const problems = (error as ConnectorValidationError).problems;
    expect(problems.map((p) => p.field)).toContain(field);
    expect(problems.find((p) => p.field === field)?.problem).toMatch(problem);
    // Refused before anything was read, sent or written.
    expect(s.cloudtrail.stats().requests).toBe(0);
    expect(s.dnif.requestCount).toBe(0);
    expect(await checkpointItems()).toBe(itemsBefore);
    // The log says which field, and no value.
    expect(output).toContain('Run failed');
    expect(output).toContain(field);
    for (const value of [SECRET_KEY, TOKEN, s.connectorUser.secretAccessKey, s.connectorUser.accessKeyId]) {
      expect(error?.message).not.toContain(value);
      expect(output).not.toContain(value);
    }
  });
});

describe('bad settings, through the handler', () => {
  let saved: NodeJS.ProcessEnv = {};
  beforeEach(() => {
    saved = { ...process.env };
  });
  afterEach(() => {
    for (const k of ['LATENESS_SECONDS', 'BATCH_MAX_BYTES', 'SECRET_ID']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    resetForwarderState();
  });

  it.each([
    ['LATENESS_SECONDS', 'ten minutes', /LATENESS_SECONDS must be a whole number/],
    ['BATCH_MAX_BYTES', '10', /BATCH_MAX_BYTES must be between 1024/],
  ])('%s=%p → refused, naming the variable', async (variable, value, message) => {
    const s = suite.standIns();
    suite.putSecret(connector(fresh()));
    process.env[variable] = value;
    resetForwarderState();
    const itemsBefore = await checkpointItems();
    // Settings are read before the handler's own logging: the Lambda runtime logs this error.
    const { error } = await invoke();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toMatch(message);
    expect(s.cloudtrail.stats().requests + s.dnif.requestCount).toBe(0);
    expect(await checkpointItems()).toBe(itemsBefore);
  });

  it('a SECRET_ID that does not exist → SecretNotFound, naming SECRET_ID', async () => {
    fresh();
    process.env.SECRET_ID = 'dnif/no-such-connector';
    resetForwarderState();
    const { error, output } = await invoke();
    expect(error).toBeInstanceOf(SecretReadError);
    expect((error as SecretReadError).code).toBe('SecretNotFound');
    expect(error?.message).toContain('SECRET_ID');
    expect(output).toContain('SECRET_ID');
  });
});

/**
 * LookupEvents always returns CloudTrailEvent as a JSON string, and the stand-in always writes
 * valid JSON: to get a broken one, this proxy sits between the SDK and the stand-in and rewrites
 * the answer. It passes the request on byte for byte (Host included), so SigV4 still verifies.
 */
async function startRewritingProxy(targetUrl: string, rewrite: (e: WireEvent) => WireEvent): Promise<{ url: string; close(): Promise<void> }> {
  const target = new URL(targetUrl);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const up = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers as IncomingHttpHeaders },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (c: Buffer) => body.push(c));
          answer.on('end', () => {
            let text = Buffer.concat(body).toString('utf8');
            if (answer.statusCode === 200) {
              const parsed = JSON.parse(text) as { Events?: WireEvent[] };
              if (parsed.Events) text = JSON.stringify({ ...parsed, Events: parsed.Events.map(rewrite) });
            }
            res.writeHead(answer.statusCode ?? 500, { ...answer.headers, 'content-length': Buffer.byteLength(text) });
            res.end(text);
          });
        },
      );
      up.on('error', () => res.destroy());
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('bad events, through the handler', () => {
  afterEach(() => {
    delete process.env.BATCH_MAX_BYTES;
    process.env.AWS_ENDPOINT_URL_CLOUDTRAIL = suite.standIns().cloudtrail.url;
    resetForwarderState();
  });

  function recordsAround(count: number): CloudTrailRecord[] {
    const s = suite.standIns();
    const now = Date.now();
    return generateEvents({ count, region: REGION, accountId: s.accountId, from: now - 30 * 60_000, to: now - 60_000, seed: 21 });
  }

  it('an event whose CloudTrailEvent is not JSON is delivered from its LookupEvents fields, marked parseError, and counted', async () => {
    const s = suite.standIns();
    suite.putSecret(connector(fresh()));
    const records = recordsAround(40);
    s.cloudtrail.addEvents(REGION, records);
    const broken = new Map<string, string>([
      [records[3].eventID, '{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/al'],
      [records[17].eventID, 'null'],
      [records[29].eventID, '[1,2,3]'],
    ]);
    const proxy = await startRewritingProxy(s.cloudtrail.url, (e) => (broken.has(e.EventId) ? { ...e, CloudTrailEvent: broken.get(e.EventId) as string } : e));
    process.env.AWS_ENDPOINT_URL_CLOUDTRAIL = proxy.url;
    try {
      const { summary, error } = await invoke();
      expect(error).toBeUndefined();
      expect(summary?.forwarded).toBe(records.length);
      expect(summary?.regions[REGION].unparsed).toBe(broken.size);
    } finally {
      await proxy.close();
    }
    const received = s.dnif.eventsById();
    expect(received.size).toBe(records.length);
    for (const [id, raw] of broken) {
      const original = records.find((r) => r.eventID === id) as CloudTrailRecord;
      const got = received.get(id) as Record<string, unknown> & { dnifForwarder: Record<string, unknown> };
      expect(got).toMatchObject({
        eventID: id,
        eventTime: original.eventTime,
        eventName: original.eventName,
        eventSource: original.eventSource,
        rawCloudTrailEvent: raw,
        dnifForwarder: { eventId: id, region: REGION, parseError: expect.stringContaining('not a JSON object') },
      });
    }
    const intact = received.get(records[0].eventID) as { dnifForwarder: Record<string, unknown> };
    expect(intact.dnifForwarder.parseError).toBeUndefined();
  });

  it('an event larger than BATCH_MAX_BYTES is delivered truncated to fit, marked, and counted; its neighbours intact', async () => {
    const s = suite.standIns();
    suite.putSecret(connector(fresh()));
    process.env.BATCH_MAX_BYTES = '20000';
    resetForwarderState();
    const records = recordsAround(12);
    // One with a huge bulky field, one huge outside them (only the core fields can go).
    records[4] = { ...records[4], responseElements: { blob: 'x'.repeat(60_000) } };
    records[8] = { ...records[8], tlsDetails: { note: 'y'.repeat(60_000) } };
    s.cloudtrail.addEvents(REGION, records);

    const { summary, error } = await invoke();

    expect(error).toBeUndefined();
    expect(summary?.forwarded).toBe(records.length);
    expect(summary?.regions[REGION].truncated).toBe(2);
    const received = s.dnif.eventsById();
    expect(received.size).toBe(records.length);
    const bulky = received.get(records[4].eventID) as Record<string, unknown> & { dnifForwarder: { truncated?: string[] } };
    expect(bulky.dnifForwarder.truncated).toContain('responseElements');
    expect(String(bulky.responseElements)).toMatch(/^\[removed by forwarder: \d+ bytes\]$/);
    expect(bulky.eventName).toBe(records[4].eventName);
    const core = received.get(records[8].eventID) as Record<string, unknown> & { dnifForwarder: { truncated?: string[] } };
    expect(core.dnifForwarder.truncated).toEqual(['all but core fields']);
    expect(core.tlsDetails).toBeUndefined();
    expect(core).toMatchObject({ eventID: records[8].eventID, eventTime: records[8].eventTime, eventName: records[8].eventName });
    for (const req of s.dnif.requests) expect(req.bytes).toBeLessThanOrEqual(20_000);
    const neighbour = received.get(records[5].eventID) as Record<string, unknown>;
    const { dnifForwarder: _meta, ...rest } = neighbour;
    expect(rest).toEqual(records[5]);
  });

  const volume = FULL ? { count: 10_000, seconds: 60 } : { count: 1_000, seconds: 10 };
  it(`${volume.count} events within ${volume.seconds} s are all delivered, once, at ≤ 2 LookupEvents a second`, async () => {
    const s = suite.standIns();
    suite.putSecret(connector(fresh()));
    const now = Date.now();
    const from = Math.floor(now / 1000) * 1000 - 20 * 60_000;
    const records = generateEvents({ count: volume.count, region: REGION, accountId: s.accountId, from, to: from + (volume.seconds - 1) * 1000, seed: 31, templates: loadRecords() });
    s.cloudtrail.addEvents(REGION, records);
    const started = Date.now();

    const runs: ForwarderSummary[] = [];
    for (let i = 0; i < 10 && s.dnif.eventsById().size < records.length; i++) {
      const { summary, error } = await invoke(FULL ? 600_000 : 120_000);
      expect(error).toBeUndefined();
      runs.push(summary as ForwarderSummary);
    }

    expect(s.dnif.eventsById().size).toBe(records.length);
    expect(s.dnif.duplicates).toBe(0);
    const perSecond = observer.maxPerSecond([REGION], started);
    expect(perSecond).toBeLessThanOrEqual(2);
    const pages = runs.reduce((n, r) => n + r.pages, 0);
    expect(pages).toBeGreaterThanOrEqual(records.length / 50);
    emit(
      `[volume] ${records.length} events in ${volume.seconds} s of EventTime: delivered ${s.dnif.eventsById().size}, duplicates ${s.dnif.duplicates}, ` +
        `runs ${runs.length}, LookupEvents pages ${pages} (${s.cloudtrail.stats().lookups} requests), max calls in any second ${perSecond} ` +
        `(stand-in saw ${s.cloudtrail.stats().regions[REGION]?.maxInAnyWindow}), ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });
});

describe('the log scan itself', () => {
  it('captures the handler’s log lines and would catch a secret in one', () => {
    const output = suite.logs.output();
    expect(output).toContain('Run finished');
    expect(output).toContain('Run failed');
    registerSecret('canary-secret-value-1234', 'canary');
    expect(findLeaks(`{"level":"INFO","message":"x canary-secret-value-1234"}`)).toEqual([{ what: 'canary', line: '{"level":"INFO","message":"x <REDACTED>"}' }]);
    expect(findLeaks(output)).toEqual([]);
  });
});
