/**
 * One POST over node:http(s) with a keep-alive agent. Not fetch: undici's fetch copies the body
 * into a web stream and costs 3.5-5 ms of CPU per 750 KB batch here, node:http 0.7 ms (bench),
 * and a busy S3 forwarder sends a batch every few milliseconds. Redirects are never followed
 * (node:http does not), the answer's body is drained so the connection is reused.
 */
import http from 'node:http';
import https from 'node:https';

/** What the sink needs of DNIF's answer. */
export interface HttpAnswer {
  status: number;
  /** The reason phrase DNIF sent (may be empty). */
  reason: string;
  location?: string;
  retryAfter?: string;
}

/**
 * The request could not be built (a header value node refuses, a URL it cannot use): nothing
 * went on the wire. Its message is fixed, because node's quotes the offending value.
 */
export class RequestNotSentError extends TypeError {
  constructor() {
    super('the request could not be built');
    this.name = 'TypeError';
  }
}

const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

export function postOnce(url: string, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    let request: http.ClientRequest;
    try {
      const target = new URL(url);
      const transport = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined;
      if (!transport) throw new RequestNotSentError();
      request = transport.request(target, {
        method: 'POST',
        agent: agents[target.protocol as keyof typeof agents],
        headers: { ...headers, 'content-length': String(body.length) },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      reject(new RequestNotSentError());
      return;
    }
    // Once the status line is in, that is DNIF's answer: its body is drained (so the connection
    // can be reused) for as long as the timeout allows, and a body cut short changes nothing.
    let answer: HttpAnswer | undefined;
    const answered = () => resolve(answer as HttpAnswer);
    request.on('error', (err) => (answer ? answered() : reject(err)));
    request.on('response', (response) => {
      answer = {
        status: response.statusCode ?? 0,
        reason: response.statusMessage ?? '',
        location: header(response.headers.location),
        retryAfter: header(response.headers['retry-after']),
      };
      response.on('end', answered);
      response.on('error', answered);
      response.on('close', answered);
      response.resume();
    });
    request.end(body);
  });
}

const header = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);
