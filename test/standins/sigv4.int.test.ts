import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { closeServer, listenLoopback, readBody } from '../../standins/http';
import { CredentialRegistry, Sha256, parseAuthorization, type SignedRequest, type VerifyResult } from '../../standins/sigv4';

/** A server that only verifies: it keeps each request and the verdict, and answers `{}`. */
async function startVerifier(registry: CredentialRegistry) {
  const seen: Array<{ req: SignedRequest; result: VerifyResult }> = [];
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const signed: SignedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body };
    seen.push({ req: signed, result: await registry.verify(signed, 'cloudtrail') });
    res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1' });
    res.end('{}');
  });
  const port = await listenLoopback(server);
  return { url: `http://127.0.0.1:${port}`, seen, close: () => closeServer(server) };
}

describe('CredentialRegistry.verify', () => {
  const registry = new CredentialRegistry();
  const user = registry.createUser('111122223333', 'reader');
  let verifier: Awaited<ReturnType<typeof startVerifier>>;

  beforeAll(async () => {
    verifier = await startVerifier(registry);
  });
  afterAll(() => verifier.close());

  async function send(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, region = 'ap-southeast-2') {
    const client = new CloudTrailClient({ region, endpoint: verifier.url, credentials, maxAttempts: 1 });
    await client.send(new LookupEventsCommand({ MaxResults: 5, StartTime: new Date(1_700_000_000_000) }));
    client.destroy();
    return verifier.seen[verifier.seen.length - 1];
  }

  it('accepts the real SDK signing with the right secret and reads the region from the scope', async () => {
    const { result } = await send(user);
    expect(result).toMatchObject({ ok: true, region: 'ap-southeast-2', service: 'cloudtrail' });
    if (result.ok) expect(result.principal.userArn).toBe('arn:aws:iam::111122223333:user/reader');
  });

  it('refuses a wrong secret, an unknown key, and a scope for another service', async () => {
    expect((await send({ ...user, secretAccessKey: `${user.secretAccessKey}x` })).result).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect((await send({ accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'whatever-secret-key' })).result).toMatchObject({
      ok: false,
      reason: 'unknown-key',
    });
    const { req } = await send(user);
    expect(await registry.verify(req, 'sts')).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a request whose body or a signed header was changed after signing', async () => {
    const { req } = await send(user);
    expect(await registry.verify(req, 'cloudtrail')).toMatchObject({ ok: true });
    const body = Buffer.from(req.body.toString().replace('5', '6'));
    expect(await registry.verify({ ...req, body }, 'cloudtrail')).toMatchObject({ reason: 'bad-signature' });
    // Also with a matching x-amz-content-sha256, so only the signature itself can catch it.
    const headers: IncomingHttpHeaders = { ...req.headers, 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') };
    expect(await registry.verify({ ...req, body, headers }, 'cloudtrail')).toMatchObject({ reason: 'bad-signature' });
    expect(await registry.verify({ ...req, headers: { ...req.headers, 'x-amz-target': 'CloudTrail_20131101.GetTrail' } }, 'cloudtrail')).toMatchObject({
      reason: 'bad-signature',
    });
    // An unsigned header may change freely.
    expect(await registry.verify({ ...req, headers: { ...req.headers, 'user-agent': 'other' } }, 'cloudtrail')).toMatchObject({ ok: true });
  });

  it('reports missing and garbled Authorization headers', async () => {
    const { req } = await send(user);
    const { authorization, ...rest } = req.headers;
    expect(authorization).toBeDefined();
    expect(await registry.verify({ ...req, headers: rest }, 'cloudtrail')).toMatchObject({ reason: 'missing' });
    expect(await registry.verify({ ...req, headers: { ...rest, authorization: 'Bearer abc' } }, 'cloudtrail')).toMatchObject({ reason: 'malformed' });
    const auth = parseAuthorization(String(authorization));
    expect(auth).toMatchObject({ accessKeyId: user.accessKeyId, region: 'ap-southeast-2', service: 'cloudtrail' });
    expect(auth?.signedHeaders).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-target']));
  });

  it('checks session tokens and expiry of temporary keys', async () => {
    const temp = registry.addKey({
      accessKeyId: 'ASIATEMPKEY000000001',
      secretAccessKey: 'temp-secret-access-key-0000000000000000',
      sessionToken: 'the-session-token',
      accountId: '444455556666',
      userArn: 'arn:aws:sts::444455556666:assumed-role/reader/s1',
    });
    expect((await send(temp)).result).toMatchObject({ ok: true });
    expect((await send({ ...temp, sessionToken: 'another-token' })).result).toMatchObject({ reason: 'expired-token' });
    expect((await send({ ...temp, sessionToken: undefined })).result).toMatchObject({ reason: 'expired-token' });
    // A token sent with a long-term key is "invalid", as AWS says.
    expect((await send({ ...user, sessionToken: 'stray' })).result).toMatchObject({ reason: 'unknown-key' });
    registry.expire(temp.accessKeyId);
    expect((await send(temp)).result).toMatchObject({ reason: 'expired-token' });
  });

  it('canonicalises escaped paths and repeated query parameters like the SDK signer', async () => {
    const signer = new SignatureV4({ credentials: user, region: 'eu-west-1', service: 'cloudtrail', sha256: Sha256 });
    const signed = await signer.sign(
      new HttpRequest({
        method: 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 8080,
        path: '/a b/ü+x',
        query: { b: ['2', '1'], a: 'x y', empty: '' },
        headers: { host: '127.0.0.1:8080' },
      }),
    );
    const url = '/a%20b/%C3%BC%2Bx?b=2&b=1&a=x%20y&empty=';
    const req: SignedRequest = { method: 'GET', url, headers: lower(signed.headers), body: new Uint8Array() };
    expect(await registry.verify(req, 'cloudtrail')).toMatchObject({ ok: true, region: 'eu-west-1' });
    expect(await registry.verify({ ...req, url: url.replace('a=x', 'a=z') }, 'cloudtrail')).toMatchObject({ reason: 'bad-signature' });
  });
});

function lower(headers: Record<string, string>): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
