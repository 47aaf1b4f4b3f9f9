/**
 * TLS failures by their Node/OpenSSL code, for both sinks and test connection: DNIF's
 * certificate not trusted, our client certificate refused, unusable PEMs.
 */

/** Our side refused DNIF's certificate. */
export const SERVER_CERT_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The Adapter finished the TLS handshake and closed before we sent anything: what rsyslog with
 * GnuTLS does, without an alert, when it does not accept our client certificate.
 */
export const CLOSED_AFTER_HANDSHAKE = 'TLS_CLOSED_AFTER_HANDSHAKE';

export const isServerCertCode = (code: string): boolean => SERVER_CERT_CODES.has(code) || code.startsWith('ERR_TLS_CERT');

/** The peer refused us with a TLS alert (our client certificate, usually), or closed right after the handshake. */
export const isPeerRefusalCode = (code: string): boolean =>
  /^ERR_SSL_(SSLV3|TLSV1|TLSV13)_ALERT_/.test(code) || code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' || code === CLOSED_AFTER_HANDSHAKE;

/** Our own ca/cert/key could not be loaded: thrown while the secure context is built, before any connection. */
export const isUnusablePemError = (code: string | undefined, message: string | undefined): boolean =>
  (code ?? '').startsWith('ERR_OSSL') || /PEM|key values mismatch|DECODER/i.test(message ?? '');

/** Any TLS failure, by its code: certificates, handshakes, protocol. */
export const isTlsErrorCode = (code: string | undefined): boolean => !!code && (isServerCertCode(code) || /CERT|SSL|TLS|EPROTO/.test(code));
