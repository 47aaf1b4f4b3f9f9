/** The TLS error both sinks throw; the TLS codes themselves are classified in core/errors/tls.ts. */
import { SinkRejectedError } from './errors';

export { CLOSED_AFTER_HANDSHAKE, isPeerRefusalCode, isServerCertCode, SERVER_CERT_CODES } from '../errors/tls';

/** A TLS problem retrying will not fix; `isAuthError` makes the forwarder read the secret again once. */
export class SinkTlsError extends SinkRejectedError {
  constructor(
    message: string,
    readonly networkCode: string | undefined,
    private readonly authRelated: boolean,
    attempts: number,
  ) {
    super(0, networkCode ?? 'TLS', attempts);
    this.message = message;
    this.name = 'SinkTlsError';
  }

  override get isAuthError(): boolean {
    return this.authRelated;
  }
}
