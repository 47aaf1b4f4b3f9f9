import { classify } from '../../../functions/core/errors/classify';
import { DeadlineReachedError } from '../../../functions/core/deadline';
import { SourceError } from '../../../functions/core/errors/source-error';
import { SinkRedirectedError, SinkRejectedError, SinkUnavailableError } from '../../../functions/core/sink/errors';
import { SinkTlsError } from '../../../functions/core/sink/tls-errors';

describe('classify: one meaning per failure for the summary and the rotation retry', () => {
  it.each([
    ['DNIF 401', new SinkRejectedError(401, 'Unauthorized'), 'DnifAuthRejected', 'credential', false],
    ['DNIF 403', new SinkRejectedError(403, 'Forbidden'), 'DnifAuthRejected', 'credential', false],
    ['DNIF 400', new SinkRejectedError(400, 'Bad Request'), 'DnifRejected', 'rejected', false],
    ['a redirect', new SinkRedirectedError(302, 'Found', 'example.net', 1), 'DnifRedirected', 'rejected', false],
    ['a refused client certificate', new SinkTlsError('refused', 'TLS_CLOSED_AFTER_HANDSHAKE', true, 1), 'DnifAuthRejected', 'credential', false],
    ['an untrusted DNIF certificate', new SinkTlsError('untrusted', 'CERT_HAS_EXPIRED', false, 1), 'DnifTlsError', 'tls', false],
    ['DNIF unavailable', new SinkUnavailableError('down', 6, 503), 'DnifUnavailable', 'transient', true],
    ['an unknown access key', new SourceError('UnrecognizedClientException', 'x', 'eu-west-1'), 'UnrecognizedClientException', 'credential', false],
    ['a wrong secret key', new SourceError('InvalidSignatureException', 'x', 'eu-west-1'), 'InvalidSignatureException', 'credential', false],
    ['an expired token', new SourceError('ExpiredTokenException', 'x', 'eu-west-1'), 'ExpiredTokenException', 'credential', false],
    ['a missing permission', new SourceError('AccessDeniedException', 'x', 'eu-west-1'), 'AccessDeniedException', 'rejected', false],
    ['the deadline', new DeadlineReachedError('reading'), 'DeadlineReachedError', 'deadline', true],
    ['a raw throttle', Object.assign(new Error('slow down'), { name: 'ThrottlingException' }), 'ThrottlingException', 'throttle', true],
    ['anything else', new TypeError('bug'), 'TypeError', 'unknown', false],
  ])('%s', (_what, err, code, kind, retryable) => {
    expect(classify(err)).toEqual({ code, kind, retryable });
  });
});
