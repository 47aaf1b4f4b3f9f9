/**
 * The AWS JSON 1.1 protocol (CloudTrail, Secrets Manager; SQS speaks 1.0) as a tiny server scaffold:
 * POST / with `X-Amz-Target: <Prefix>.<Operation>`, SigV4 checked, IAM action checked,
 * errors as `{"__type":"<Code>","message":"..."}` plus the `x-amzn-ErrorType` header
 * (the SDK reads `__type` first for JSON RPC, the header is what real AWS also sends).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { header, readBody } from './http';
import type { CredentialRegistry, Principal, VerifyFailure } from './sigv4';

export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Extra response headers, e.g. SQS's `x-amzn-query-error: <query code>;Sender`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = code;
  }
}

/** The handler wrote the response itself (e.g. a deliberately broken one). */
export const HANDLED = Symbol('handled');

export interface JsonCall {
  operation: string;
  principal: Principal;
  /** From the SigV4 credential scope. */
  region: string;
  input: Record<string, unknown>;
  req: IncomingMessage;
  res: ServerResponse;
}

export interface JsonOperation {
  /** IAM action checked against the key's denied actions, e.g. `cloudtrail:LookupEvents`. */
  action: string;
  /** Returns the output shape, or HANDLED; throws AwsError for a modelled error. */
  handle(call: JsonCall): Promise<unknown> | unknown;
}

export interface JsonServiceOptions {
  registry: CredentialRegistry;
  /** SigV4 signing name (`cloudtrail`, `secretsmanager`). */
  signingName: string;
  /** X-Amz-Target prefix (`CloudTrail_20131101`, `secretsmanager`). */
  targetPrefix: string;
  operations: Record<string, JsonOperation>;
  /** Regions this endpoint answers for; any when absent. */
  regions?: readonly string[];
  /** Called for every request before anything else (for counters). */
  onRequest?: () => void;
  /** Resource named in AccessDenied messages, when the action is resource-scoped. */
  resourceOf?: (operation: string, input: Record<string, unknown>) => string | undefined;
  /** `1.1` (default) or `1.0` (SQS, DynamoDB): the Content-Type both ways. */
  jsonVersion?: '1.0' | '1.1';
}

export function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}, jsonVersion = '1.1'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': `application/x-amz-json-${jsonVersion}`,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
    ...extraHeaders,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: AwsError, jsonVersion = '1.1'): void {
  sendJson(res, err.status, { __type: err.code, message: err.message }, { 'x-amzn-ErrorType': err.code, ...err.headers }, jsonVersion);
}

/** Auth failures in the codes JSON-protocol services use. */
export function authError(f: VerifyFailure): AwsError {
  switch (f.reason) {
    case 'missing':
      return new AwsError('MissingAuthenticationTokenException', f.message, 400);
    case 'malformed':
      return new AwsError('IncompleteSignatureException', f.message, 400);
    case 'unknown-key':
      return new AwsError('UnrecognizedClientException', f.message, 400);
    case 'bad-signature':
      return new AwsError('InvalidSignatureException', f.message, 400);
    case 'expired-token':
      return new AwsError('ExpiredTokenException', f.message, 400);
  }
}

/** AccessDenied with the wording IAM uses when no policy grants the action. */
export function accessDenied(userArn: string, action: string, resource?: string): AwsError {
  const on = resource ? ` on resource: ${resource}` : '';
  return new AwsError(
    'AccessDeniedException',
    `User: ${userArn} is not authorized to perform: ${action}${on} because no identity-based policy allows the ${action} action`,
    400,
  );
}

export function createJsonService(opts: JsonServiceOptions): Server {
  return createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      // A bug in a stand-in must show up as a 500, not as a hung test.
      if (!res.headersSent) sendError(res, new AwsError('InternalFailure', String(err), 500), opts.jsonVersion);
      else res.destroy();
    });
  });
}

async function handle(opts: JsonServiceOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const v = opts.jsonVersion ?? '1.1';
  opts.onRequest?.();
  const body = await readBody(req);
  if (req.method !== 'POST') return sendError(res, new AwsError('UnknownOperationException', 'Only POST is supported', 404), v);

  const verified = await opts.registry.verify(
    { method: req.method, url: req.url ?? '/', headers: req.headers, body },
    opts.signingName,
  );
  if (!verified.ok) return sendError(res, authError(verified), v);
  if (opts.regions && !opts.regions.includes(verified.region)) {
    return sendError(res, new AwsError('InvalidSignatureException', 'Credential should be scoped to a valid region.'), v);
  }

  const target = header(req, 'x-amz-target') ?? '';
  const [prefix, operation] = target.split('.');
  const op = prefix === opts.targetPrefix && operation ? opts.operations[operation] : undefined;
  if (!op) return sendError(res, new AwsError('UnknownOperationException', `Unknown operation ${target}`), v);
  if ((header(req, 'content-type') ?? '').split(';')[0].trim() !== `application/x-amz-json-${v}`) {
    return sendError(res, new AwsError('SerializationException', `Content-Type must be application/x-amz-json-${v}`), v);
  }

  let input: unknown;
  try {
    input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    return sendError(res, new AwsError('SerializationException', 'Request body is not valid JSON'), v);
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return sendError(res, new AwsError('SerializationException', 'Request body must be a JSON object'), v);
  }
  const fields = input as Record<string, unknown>;

  const { principal, region } = verified;
  if (!opts.registry.isAllowed(principal.accessKeyId, op.action)) {
    return sendError(res, accessDenied(principal.userArn, op.action, opts.resourceOf?.(operation, fields)), v);
  }

  try {
    const output = await op.handle({ operation, principal, region, input: fields, req, res });
    if (output !== HANDLED) sendJson(res, 200, output ?? {}, {}, v);
  } catch (err) {
    if (err instanceof AwsError) return sendError(res, err, v);
    throw err;
  }
}
