/** Lambda function URL events (payload format 2.0), as the URL hands them to the handler. */
import type { LambdaFunctionURLEvent } from 'aws-lambda';

export interface EventOptions {
  /** Send the body base64-encoded, as the URL does for non-text content types. */
  base64?: boolean;
  headers?: Record<string, string>;
}

export function urlEvent(method: string, body?: string | object, opts: EventOptions = {}): LambdaFunctionURLEvent {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: {
      host: 'abcdefghij.lambda-url.us-east-1.on.aws',
      'content-type': 'application/json',
      'user-agent': 'jest',
      ...(opts.headers ?? {}),
    },
    requestContext: {
      accountId: '111122223333',
      apiId: 'abcdefghij',
      domainName: 'abcdefghij.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abcdefghij',
      http: { method, path: '/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'jest' },
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: text === undefined ? undefined : opts.base64 ? Buffer.from(text, 'utf8').toString('base64') : text,
    isBase64Encoded: Boolean(opts.base64),
  };
}
