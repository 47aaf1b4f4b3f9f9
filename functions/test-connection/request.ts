/**
 * The function URL request (payload format 2.0): GET tests the stored connector, POST a
 * candidate connector sent as the body. Anything else is refused here, before any check runs.
 */
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { DNIF, type Failure } from './error-codes';

/** The largest POST body accepted (the connector JSON is a few KiB at most). */
export const MAX_BODY_BYTES = 64 * 1024;

export type TestRequest =
  /** `connector`: the `?connector=<name>` of a stack with many connectors; absent = SECRET_ID. */
  | { kind: 'stored'; connector?: string }
  | { kind: 'candidate'; connector: unknown }
  | { kind: 'invalid'; httpStatus: 400 | 405; failure: Failure; allow?: string };

const invalid = (failure: Omit<Failure, 'dnifMessage'>): TestRequest => ({
  kind: 'invalid',
  httpStatus: 400,
  failure: { ...failure, dnifMessage: DNIF.configuration },
});

const BODY_HINT = 'POST the connector JSON (the same document as the secret) as the body, or use GET to test the stored connector.';

export function parseRequest(event: Partial<LambdaFunctionURLEvent>): TestRequest {
  const method = (event.requestContext?.http?.method ?? '').toUpperCase();
  if (method === 'GET') {
    const connector = event.queryStringParameters?.connector?.trim();
    return connector ? { kind: 'stored', connector } : { kind: 'stored' };
  }
  if (method !== 'POST') {
    return {
      kind: 'invalid',
      httpStatus: 405,
      allow: 'GET, POST',
      failure: {
        code: 'MethodNotAllowed',
        message: `Method ${method || '(none)'} is not allowed: use GET or POST`,
        hint: 'GET tests the stored connector (the secret); POST tests the connector JSON sent as the body.',
        dnifMessage: DNIF.configuration,
      },
    };
  }

  const raw = event.body ?? '';
  // Cheap bound before decoding: base64 is 4/3 of the bytes.
  const rawLimit = event.isBase64Encoded ? Math.ceil(MAX_BODY_BYTES / 3) * 4 + 4 : MAX_BODY_BYTES * 4;
  let bytes: Buffer;
  if (raw.length > rawLimit) {
    return tooLarge();
  }
  if (event.isBase64Encoded) {
    if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(raw)) {
      return invalid({ code: 'BadRequest', message: 'The request body is marked base64 but is not valid base64', hint: BODY_HINT });
    }
    bytes = Buffer.from(raw, 'base64');
  } else {
    bytes = Buffer.from(raw, 'utf8');
  }
  if (bytes.length > MAX_BODY_BYTES) return tooLarge();
  if (bytes.length === 0 || bytes.toString('utf8').trim() === '') {
    return invalid({ code: 'BadRequest', message: 'The request body is empty', hint: BODY_HINT, field: '(body)' });
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return invalid({ code: 'BadRequest', message: 'The request body is not UTF-8 text', hint: BODY_HINT, field: '(body)' });
  }
  let connector: unknown;
  try {
    connector = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    // JSON.parse's message quotes the text it choked on: never pass it on (it may hold a key).
    return invalid({
      code: 'BadRequest',
      message: 'The request body is not valid JSON',
      hint: `${BODY_HINT} Send Content-Type: application/json.`,
      field: '(body)',
    });
  }
  return { kind: 'candidate', connector };
}

function tooLarge(): TestRequest {
  return invalid({
    code: 'RequestTooLarge',
    message: `The request body is larger than ${MAX_BODY_BYTES} bytes`,
    hint: 'Send only the connector JSON: it is a few KiB at most.',
    field: '(body)',
  });
}
