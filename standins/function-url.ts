/**
 * A Lambda function URL with AWS_IAM auth on loopback: checks the SigV4 signature (service
 * `lambda`) against the credential registry, as the real URL does before invoking, answers 403
 * `{"Message":"Forbidden"}` when it fails, and otherwise hands the request to the handler as a
 * payload-2.0 event. For the `npm run test-connection` client's tests and local trials.
 */
import { createServer } from 'node:http';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { closeServer, listenLoopback, readBody } from './http';
import { urlEvent } from './lambda';
import type { CredentialRegistry } from './sigv4';

export interface FunctionUrlStandIn {
  readonly url: string;
  /** Requests refused before the handler ran. */
  readonly forbidden: number;
  stop(): Promise<void>;
}

type UrlHandler = (event: LambdaFunctionURLEvent) => Promise<{ statusCode: number; headers?: Record<string, string>; body?: string }>;

export async function startFunctionUrl(registry: CredentialRegistry, handler: UrlHandler): Promise<FunctionUrlStandIn> {
  let forbidden = 0;
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const verified = await registry.verify({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body }, 'lambda');
    if (!verified.ok) {
      forbidden++;
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ Message: 'Forbidden' }));
      return;
    }
    const target = new URL(req.url ?? '/', 'http://loopback');
    const event = urlEvent(req.method ?? 'GET', body.length ? body.toString('utf8') : undefined);
    event.rawQueryString = target.search.slice(1);
    if (target.search) event.queryStringParameters = Object.fromEntries(target.searchParams);
    const answer = await handler(event);
    res.writeHead(answer.statusCode, answer.headers ?? {}).end(answer.body ?? '');
  });
  const port = await listenLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/`,
    get forbidden() {
      return forbidden;
    },
    stop: () => closeServer(server),
  };
}
