// TLS to etcd, as kube-apiserver does it (--etcd-cafile, --etcd-certfile, --etcd-keyfile).
// etcd holds every object of the cluster and, unless started with --client-cert-auth,
// lets anyone who reaches its port read and write them: a pod written there is run.
// So an etcd shared by daemons should want a client certificate, and minipod shows one.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/** One file, and the flag or variable that named it (errors say both). */
export interface TlsFile {
  path: string;
  from: string;
}

export interface EtcdTls {
  ca?: TlsFile;
  cert?: TlsFile;
  key?: TlsFile;
}

export interface EtcdTlsFlags {
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
}

/** etcd3's `credentials` (grpc's createSsl arguments). */
export interface EtcdCredentials {
  rootCertificate: Buffer;
  privateKey?: Buffer;
  certChain?: Buffer;
}

const FILES = [
  ['ca', 'etcdCafile', '--etcd-cafile', 'MINIPOD_ETCD_CAFILE'],
  ['cert', 'etcdCertfile', '--etcd-certfile', 'MINIPOD_ETCD_CERTFILE'],
  ['key', 'etcdKeyfile', '--etcd-keyfile', 'MINIPOD_ETCD_KEYFILE'],
] as const;

export const isTlsStore = (store: string | undefined) => !!store && store.startsWith('etcds://');

/**
 * The TLS files for `--store`: each flag, else its MINIPOD_ETCD_* variable. They are for
 * etcds:// only: a flag with any other store is a mistake (it would be ignored, and the
 * user would believe etcd is spoken to over TLS); a variable is ignored there.
 */
export function etcdTlsFiles(store: string | undefined, flags: EtcdTlsFlags, env: NodeJS.ProcessEnv = process.env): EtcdTls | undefined {
  if (!isTlsStore(store)) {
    const given = FILES.find(([, prop]) => flags[prop]);
    if (given) throw new Error(`${given[2]} is for an etcd spoken to over TLS: give --store etcds://HOST:PORT (etcd:// is plain HTTP)`);
    return undefined;
  }
  const tls: EtcdTls = {};
  for (const [name, prop, flag, variable] of FILES) {
    if (flags[prop]) tls[name] = { path: flags[prop], from: flag };
    else if (env[variable]) tls[name] = { path: env[variable], from: `$${variable}` };
  }
  if (!!tls.cert !== !!tls.key) throw new Error('--etcd-certfile and --etcd-keyfile go together: give both (or set both MINIPOD_ETCD_CERTFILE and MINIPOD_ETCD_KEYFILE)');
  return tls;
}

/** Reads and checks the files, so that a wrong one is named now rather than by a failed handshake. */
export function etcdCredentials(tls: EtcdTls | undefined): EtcdCredentials | undefined {
  if (!tls?.ca && !tls?.cert) return undefined; // etcds:// alone: the system's CAs, no client certificate
  const ca = tls.ca && read(tls.ca);
  if (ca && tls.ca) certificate(ca, tls.ca);
  if (!tls.cert || !tls.key) return { rootCertificate: ca! };
  const cert = read(tls.cert);
  const key = read(tls.key);
  const x509 = certificate(cert, tls.cert);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new Error(`${tls.key.from} ${tls.key.path}: not a PEM private key`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw new Error(`${tls.key.from} ${tls.key.path} is not the key of the certificate in ${tls.cert.from} ${tls.cert.path}`);
  // Without a CA file grpc trusts the system's CAs (its createSsl takes null for them).
  return { rootCertificate: ca ?? (null as unknown as Buffer), privateKey: key, certChain: cert };
}

function read(file: TlsFile): Buffer {
  try {
    return readFileSync(file.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new Error(`${file.from} ${file.path}: cannot read it (${why})`);
  }
}

function certificate(pem: Buffer, file: TlsFile): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new Error(`${file.from} ${file.path}: not a PEM certificate`);
  }
}

/**
 * Says what a failed connection to etcd means, from grpc's last error: a TLS handshake
 * that failed, and on which side, or a plain client at an etcd that wants TLS.
 */
export function explainEtcdFailure(message: string, tls: boolean): string {
  // grpc's message ends in a "Resolution note" meant for its own developers, and quotes OpenSSL's codes.
  const why = message.replace(/\.?\s*Resolution note:.*$/s, '').trim();
  if (/alert (bad certificate|certificate required|unknown ca|certificate unknown|handshake failure)/i.test(why)) {
    return `TLS handshake with etcd failed: etcd did not accept the client certificate (give one signed by a CA it trusts: --etcd-certfile and --etcd-keyfile)`;
  }
  const serverSide = /(unable to verify[^.(\n]*|self[- ]signed certificate[^.(\n]*|unable to get local issuer certificate|certificate has expired|Hostname\/IP does not match[^.(\n]*)/i.exec(why);
  if (serverSide) return `TLS handshake with etcd failed: etcd's certificate is not trusted (${serverSide[1].trim()}; --etcd-cafile names the CA that signed it)`;
  if (tls && /wrong version number|packet length too long|http request/i.test(why)) {
    return `TLS handshake with etcd failed: it does not speak TLS there (use etcd:// for a plain etcd)`;
  }
  const short = why.replace(/^\d+ \w+: /, '').replace(/:\.\.\/deps\/openssl\S*/g, '').replace(/\s*\(\d{4}-\d\d-\d\dT[^)]*\)/, '');
  if (!tls && /Failed to connect|Connection dropped|ECONNRESET|socket hang up/i.test(why)) {
    return `${short} (if etcd wants TLS, as with --client-cert-auth, use --store etcds://… with --etcd-cafile, --etcd-certfile and --etcd-keyfile)`;
  }
  return short;
}

/**
 * grpc-js hands Node an IP address as the TLS server name when etcd is dialed by IP, and
 * Node warns about it (DEP0123) on the daemon's stderr, though the certificate is still
 * checked against that IP (its subjectAltName). Only that warning is dropped.
 */
export function quietIpServerNameWarning(endpoints: string[]): void {
  if (quieted || !endpoints.some((e) => isIP(new URL(e).hostname.replace(/^\[|\]$/g, '')))) return;
  quieted = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' ? (rest[0] as { code?: string })?.code : rest[1];
    if (code !== 'DEP0123') emit(warning, ...rest);
  }) as typeof process.emitWarning;
}
let quieted = false;
