// How a node agent comes to trust the API server and to hold credentials of its
// own (`minipod node join`), in kubeadm's spirit:
//  1. Discovery: the CA is either given (--certificate-authority) or found in the
//     server's TLS handshake and accepted only when its public key hash is the one
//     pinned with --ca-cert-hash. Then the server's certificate must chain to that CA
//     and name the host dialled. Nothing secret is sent before both checks pass.
//  2. The join token is exchanged, once, for a node token (node-credentials.ts on
//     the API server's side); the node keeps it, with the CA, under its home.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { caCertHash } from '../api/cert-pins.js';
import { resourcePath } from '../api/api-resources.js';
import { writePrivateFile } from '../api/private-file.js';
import { Client } from './client.js';

export const NODE_CREDENTIALS_PATH = resourcePath('nodecredentials');
const DIAL_TIMEOUT_MS = 10_000;

/** Discovery or verification failed: the server is not the one the node was told to trust. */
export class DiscoveryError extends Error {}

function pem(raw: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${raw.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
}

function tlsOptions(url: URL): tls.ConnectionOptions {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return { host, port: Number(url.port || 443), ALPNProtocols: ['http/1.1'], ...(net.isIP(host) ? {} : { servername: host }) };
}

function handshake(options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(options);
    socket.setTimeout(DIAL_TIMEOUT_MS, () => socket.destroy(new Error(`no TLS handshake within ${DIAL_TIMEOUT_MS / 1000}s`)));
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The certificates a server presents, leaf first (Node links each to its issuer in the chain sent). */
async function presentedChain(url: URL): Promise<Buffer[]> {
  // Not verified here on purpose: the pin decides, below.
  const socket = await handshake({ ...tlsOptions(url), rejectUnauthorized: false });
  try {
    const chain: Buffer[] = [];
    const seen = new Set<string>();
    for (let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true); c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
      seen.add(c.fingerprint256);
      chain.push(c.raw);
    }
    return chain;
  } finally {
    socket.destroy();
  }
}

/** Checks that the server at `url` presents a certificate that `ca` signed and that names the host dialled. */
export async function verifyServer(url: URL, ca: string): Promise<void> {
  try {
    (await handshake({ ...tlsOptions(url), ca })).destroy();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EHOSTUNREACH' || e.code === 'ETIMEDOUT') throw err;
    throw new DiscoveryError(`the API server at ${url.origin} presents a certificate that the cluster CA (${caCertHash(ca)}) does not vouch for: ${e.message}`);
  }
}

/**
 * The cluster CA of the server at `url`, accepted only when its public key hash
 * is `pin` (sha256:<hex>), and only once the server's certificate chains to it.
 */
export async function discoverClusterCa(url: URL, pin: string): Promise<string> {
  const [leaf, ...issuers] = await presentedChain(url);
  if (!leaf) throw new DiscoveryError(`refusing to join the API server at ${url.origin}: it presents no certificate`);
  // The CA is what signed the leaf (Node links it by name and key identifier); a self-signed leaf is its own CA.
  const leafCert = new X509Certificate(leaf);
  const candidates = issuers.length ? issuers : leafCert.checkIssued(leafCert) ? [leaf] : [];
  const match = candidates.find((raw) => caCertHash(raw) === pin.toLowerCase());
  const hint = 'This is not the API server you were told to trust (or its CA was re-made: ask for the new hash, `minipod daemon ca-hash` on its machine)';
  if (!match && !candidates.length) {
    throw new DiscoveryError(`refusing to join the API server at ${url.origin}: its certificate (issued by "${leafCert.issuer}") comes without the CA that --ca-cert-hash ${pin} pins. ${hint}`);
  }
  if (!match) {
    const actual = candidates.map((raw) => caCertHash(raw)).join(', ');
    throw new DiscoveryError(`refusing to join the API server at ${url.origin}: the cluster CA it presents has the public key hash ${actual}, but --ca-cert-hash expects ${pin}. ${hint}`);
  }
  const ca = pem(match);
  if (!new X509Certificate(ca).ca) throw new DiscoveryError(`refusing to join the API server at ${url.origin}: the certificate with hash ${pin} is not a CA`);
  await verifyServer(url, ca);
  return ca;
}

/** What the node keeps in its own directory after joining. */
export interface NodeState {
  server: string;
  caCertHash: string;
  token: string;
  kubeletClientTokenSHA256: string;
  issuedAt: string;
}

export const nodeStateFiles = (dir: string) => ({ ca: join(dir, 'ca.crt'), credentials: join(dir, 'credentials.json'), kubeletCert: join(dir, 'kubelet.crt'), kubeletKey: join(dir, 'kubelet.key') });

/** Credentials kept from an earlier join to `server` with the CA `ca`, if any. */
export function loadNodeState(dir: string, server: string, ca: string): NodeState | undefined {
  const f = nodeStateFiles(dir);
  if (!existsSync(f.credentials)) return undefined;
  try {
    const state = JSON.parse(readFileSync(f.credentials, 'utf8')) as NodeState;
    return state.server === server && state.caCertHash === caCertHash(ca) && typeof state.token === 'string' ? state : undefined;
  } catch {
    return undefined;
  }
}

export function saveNodeState(dir: string, ca: string, state: NodeState): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = nodeStateFiles(dir);
  writePrivateFile(f.ca, ca);
  writePrivateFile(f.credentials, JSON.stringify(state, null, 2) + '\n');
}

/** Exchanges the join token for this node's own credentials, over a connection verified against `ca`. */
export async function requestNodeCredentials(url: URL, ca: string, joinToken: string, nodeName: string): Promise<NodeState> {
  const client = new Client({ server: url.origin, token: joinToken, ca });
  try {
    const issued = await client.request<{ status: { token: string; kubeletClientTokenSHA256: string; issuedAt: string } }>('POST', NODE_CREDENTIALS_PATH, {
      apiVersion: 'minipod.io/v1',
      kind: 'NodeCredential',
      spec: { nodeName },
    });
    return { server: url.origin, caCertHash: caCertHash(ca), ...issued.status };
  } finally {
    client.close();
  }
}
