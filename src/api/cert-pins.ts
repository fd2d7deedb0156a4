// Pins on certificates, computed with node:crypto alone so that commands which
// only print or compare them need no X.509 library: kubeadm's discovery hash of a
// CA (what `node join --ca-cert-hash` pins) and a certificate's SHA-256
// fingerprint (what a Node publishes for its kubelet's serving certificate).
import { X509Certificate, createHash, timingSafeEqual } from 'node:crypto';

export const CA_CERT_HASH = /^sha256:[0-9a-f]{64}$/;

function x509(cert: string | Buffer | X509Certificate): X509Certificate {
  return cert instanceof X509Certificate ? cert : new X509Certificate(cert);
}

/** sha256 of the certificate's DER SubjectPublicKeyInfo, as `sha256:<hex>` (kubeadm's --discovery-token-ca-cert-hash). */
export function caCertHash(cert: string | Buffer | X509Certificate): string {
  const spki = x509(cert).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** SHA-256 of the certificate's DER, lowercase hex without colons. */
export function certificateSha256(cert: string | Buffer | X509Certificate): string {
  return createHash('sha256').update(x509(cert).raw).digest('hex');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Compares two hex digests in constant time (false when either is missing or malformed). */
export function sameDigest(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a.toLowerCase()), Buffer.from(b.toLowerCase()));
}
