// The cluster's certificates, made with @peculiar/x509 over Node's webcrypto (ECDSA P-256):
//   ca.crt + ca.key    the cluster CA, 10 years; kubectl trusts it, nodes pin its key hash
//   tls.crt + tls.key  the API server's serving leaf, signed by the CA: 1 year, not a CA,
//                      serverAuth, SANs for localhost, 127.0.0.1, ::1 and the listen host
// The leaf is re-issued when it is missing, ends within 30 days, does not name a host
// the API server is reached by, or was signed by another CA (after `rotate-certs --ca`).
// A node agent's kubelet makes its own self-signed serving leaf here too: the API
// server pins it by fingerprint (published on the Node), not by a CA.
import 'reflect-metadata'; // tsyringe, under @peculiar/x509, needs the Reflect polyfill
import * as x509 from '@peculiar/x509';
import { X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { pkiFiles } from './pki-files.js';
import { writePrivateFile } from './private-file.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const DAY_MS = 86_400_000;
const CA_DAYS = 3650;
const LEAF_DAYS = 365;
/** A leaf this close to its end is re-issued. */
export const RENEW_BEFORE_MS = 30 * DAY_MS;

const EC: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

export interface KeyPair {
  cert: string;
  key: string;
}

export { pkiFiles } from './pki-files.js';

/** The names a serving certificate must carry for a listener on `host` (wildcards: this machine's names). */
export function servingHosts(host: string): string[] {
  const hosts = ['localhost', '127.0.0.1', '::1'];
  if (host === '' || host === '0.0.0.0' || host === '::') {
    hosts.push(os.hostname().toLowerCase());
    for (const addrs of Object.values(os.networkInterfaces())) for (const a of addrs ?? []) if (!a.internal && !a.address.startsWith('fe80:')) hosts.push(a.address);
  } else {
    hosts.push(host);
  }
  return [...new Set(hosts.map(canonicalHost))];
}

/** One spelling per address (an IPv6 SAN reads back as 0:0:0:0:0:0:0:1), lowercase names. */
function canonicalHost(host: string): string {
  return net.isIPv6(host) ? new URL(`http://[${host}]`).hostname.slice(1, -1) : host.toLowerCase();
}

const covers = (cert: X509Certificate, host: string) => (net.isIP(host) ? cert.checkIP(host) : cert.checkHost(host)) !== undefined;

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f; // a positive INTEGER
  return bytes.toString('hex');
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

async function signingKey(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']) as Promise<CryptoKey>;
}

function sans(hosts: string[]): x509.SubjectAlternativeNameExtension {
  return new x509.SubjectAlternativeNameExtension(hosts.map((h) => ({ type: net.isIP(h) ? ('ip' as const) : ('dns' as const), value: h })));
}

function validity(days: number, now: Date): { notBefore: Date; notAfter: Date } {
  // A minute back: a peer whose clock is a little behind still accepts a fresh certificate.
  return { notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + days * DAY_MS) };
}

/** A new cluster CA. */
export async function makeCa(now = new Date()): Promise<KeyPair> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: 'CN=minipod-ca',
    keys,
    signingAlgorithm: SIGNING,
    ...validity(CA_DAYS, now),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
}

function leafExtensions(hosts: string[]): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
    sans(hosts),
  ];
}

/** A serving leaf for `hosts`, signed by `ca`. */
export async function issueServingCertificate(ca: KeyPair, hosts: string[], commonName = 'minipod-apiserver', now = new Date()): Promise<KeyPair> {
  const keys = await newKeys();
  const issuer = new x509.X509Certificate(ca.cert);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${commonName}`,
    issuer: issuer.subject,
    publicKey: keys.publicKey,
    signingKey: await signingKey(ca.key),
    signingAlgorithm: SIGNING,
    ...validity(LEAF_DAYS, now),
    extensions: [...leafExtensions(hosts), await x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey), await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)],
  });
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
}

/** A self-signed serving leaf (not a CA), for a peer that pins it by fingerprint. */
export async function selfSignedServingCertificate(hosts: string[], commonName: string, now = new Date()): Promise<KeyPair> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${commonName}`,
    keys,
    signingAlgorithm: SIGNING,
    ...validity(LEAF_DAYS, now),
    extensions: leafExtensions(hosts),
  });
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
}

/** Why the leaf must be re-issued, or undefined when it is fine. */
export function reissueReason(leaf: KeyPair, hosts: string[], caCert?: string, now = Date.now()): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(leaf.cert);
    if (!cert.checkPrivateKey(createPrivateKey(leaf.key))) return 'its key does not match it';
  } catch (err) {
    return `it cannot be read (${(err as Error).message})`;
  }
  if (Date.parse(cert.validTo) - now < RENEW_BEFORE_MS) return `it expires on ${new Date(cert.validTo).toISOString()}, within 30 days`;
  const missing = hosts.filter((h) => !covers(cert, h));
  if (missing.length) return `it does not name ${missing.join(', ')}`;
  if (caCert) {
    const ca = new X509Certificate(caCert);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'it was not signed by the current CA';
  }
  return undefined;
}

function read(files: { cert: string; key: string }): KeyPair | undefined {
  if (!existsSync(files.cert) || !existsSync(files.key)) return undefined;
  return { cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
}

function write(files: { cert: string; key: string }, pair: KeyPair): void {
  writePrivateFile(files.key, pair.key); // the key first: a reload that sees the new cert finds its key
  writePrivateFile(files.cert, pair.cert);
}

/** The cluster CA under `dir`, made when there is none. */
export async function ensureCa(dir: string): Promise<KeyPair & { created: boolean }> {
  const f = pkiFiles(dir);
  const existing = read({ cert: f.caCert, key: f.caKey });
  if (existing) {
    const cert = new X509Certificate(existing.cert);
    if (!cert.ca) throw new Error(`${f.caCert} is not a CA certificate`);
    if (!cert.checkPrivateKey(createPrivateKey(existing.key))) throw new Error(`${f.caKey} is not the key of ${f.caCert}`);
    if (Date.parse(cert.validTo) < Date.now()) throw new Error(`the cluster CA ${f.caCert} expired on ${cert.validTo}: make a new one with \`minipod daemon rotate-certs --ca\``);
    return { ...existing, created: false };
  }
  if (existsSync(f.caCert)) throw new Error(`${f.caCert} exists but its key ${f.caKey} does not: copy both from the first control-plane daemon`);
  const ca = await makeCa();
  write({ cert: f.caCert, key: f.caKey }, ca);
  return { ...ca, created: true };
}

/** Makes sure tls.crt under `dir` is a valid leaf of the CA for a listener on `host`; says why it was re-issued. */
export async function ensureServingCertificate(dir: string, host: string): Promise<{ reissued?: string }> {
  const ca = await ensureCa(dir);
  const f = pkiFiles(dir);
  const hosts = servingHosts(host);
  const leaf = read(f);
  const reason = leaf ? reissueReason(leaf, hosts, ca.cert) : 'there is none';
  if (!reason) return {};
  write(f, await issueServingCertificate(ca, hosts));
  return { reissued: reason };
}

/** The host names and addresses a certificate carries (to issue its successor for the same ones). */
export function certificateHosts(certPem: string): string[] {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  return san
    .split(', ')
    .map((s) => s.replace(/^(DNS|IP Address):/, ''))
    .filter(Boolean)
    .map(canonicalHost);
}

/**
 * Re-issues the serving leaf for the names it had (`ca`: makes a new CA first,
 * which every joined node and kubeconfig must then learn again).
 */
export async function rotateCertificates(dir: string, opts: { ca?: boolean } = {}): Promise<{ hosts: string[]; caCert: string }> {
  const f = pkiFiles(dir);
  if (opts.ca) write({ cert: f.caCert, key: f.caKey }, await makeCa());
  const ca = await ensureCa(dir);
  const hosts = existsSync(f.cert) ? [...new Set([...servingHosts('127.0.0.1'), ...certificateHosts(readFileSync(f.cert, 'utf8'))])] : servingHosts('127.0.0.1');
  write(f, await issueServingCertificate(ca, hosts));
  return { hosts, caCert: ca.cert };
}

/** A self-signed serving leaf kept in `files`, re-made when missing, ending within 30 days or not naming `hosts`. */
export async function ensureSelfSigned(files: { cert: string; key: string }, hosts: string[], commonName: string): Promise<KeyPair> {
  const existing = read(files);
  if (existing && !reissueReason(existing, hosts)) return existing;
  const made = await selfSignedServingCertificate(hosts, commonName);
  write(files, made);
  return made;
}
