/**
 * SHA256withRSA verification of a digest's signature (hex, from the S3 object's user metadata
 * `x-amz-meta-signature`) with the public key CloudTrail's ListPublicKeys returns for the
 * digest's region, chosen by `digestPublicKeyFingerprint`.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/**
 * ListPublicKeys' `Value` is "the DER encoded public key value in PKCS #1 format" (RSAPublicKey);
 * AWS's own sample response also holds one SubjectPublicKeyInfo key, so both are accepted.
 */
export function publicKeyFromDer(der: Uint8Array): KeyObject {
  const buf = Buffer.from(der);
  try {
    return createPublicKey({ key: buf, format: 'der', type: 'pkcs1' });
  } catch {
    return createPublicKey({ key: buf, format: 'der', type: 'spki' });
  }
}

const HEX_SIGNATURE = /^(?:[0-9a-fA-F]{2})+$/;

/** True only for a well-formed hex signature that verifies; never throws on bad input. */
export function verifyDigestSignature(signingString: string, signatureHex: string | undefined, key: KeyObject): boolean {
  if (!signatureHex || !HEX_SIGNATURE.test(signatureHex)) return false;
  try {
    return verify('sha256', Buffer.from(signingString, 'utf8'), key, Buffer.from(signatureHex, 'hex'));
  } catch {
    return false;
  }
}
