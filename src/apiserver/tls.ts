// TLS on the TCP listener, next to plain HTTP on the same port. kubectl (client-go)
// sends a bearer token only over TLS (kubernetes/kubectl#744), so the listener
// must speak it; clients that already use http:// keep working. The first byte
// of a connection decides: 0x16 opens a TLS handshake, anything else is HTTP.
// The certificate is self-signed (ECDSA P-256, a CA for itself, SANs for
// localhost and the listen address), made once under $MINIPOD_HOME; kubectl
// trusts it with `certificate-authority: $MINIPOD_HOME/tls.crt`.
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { deadline, listenerLimits, type ListenerLimits } from '../api/listener.js';

export interface TlsFiles {
  cert: string;
  key: string;
}

export const tlsFiles = (dir: string): TlsFiles => ({ cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') });

// ---- a little DER, enough for one certificate

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...content: Buffer[]) => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const explicit = (n: number, ...c: Buffer[]) => tlv(0xa0 + n, ...c);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
function integer(b: Buffer): Buffer {
  return tlv(0x02, b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const enc = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) enc.unshift(0x80 | (v & 0x7f));
    out.push(...enc);
  }
  return tlv(0x06, Buffer.from(out));
}
function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s));
}
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

function ipBytes(ip: string): Buffer | undefined {
  if (net.isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!net.isIPv6(ip)) return undefined;
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

/** A self-signed certificate and its key, as PEM. */
export function selfSignedCertificate(hosts: string[], days = 3650): { cert: string; key: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const name = seq(set(seq(oid('2.5.4.3'), utf8('minipod'))), set(seq(oid('2.5.4.10'), utf8('minipod'))));
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const now = Date.now();
  const sans = [...new Set(hosts)].map((h) => {
    const ip = ipBytes(h);
    return ip ? tlv(0x87, ip) : tlv(0x82, Buffer.from(h, 'ascii'));
  });
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ecdsaSha256,
    name,
    seq(utcTime(new Date(now - 60_000)), utcTime(new Date(now + days * 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(
      3,
      seq(
        extension('2.5.29.19', true, seq(bool(true))), // basicConstraints: a CA (for itself)
        extension('2.5.29.15', true, bits(Buffer.from([0x84]), 2)), // keyUsage: digitalSignature, keyCertSign
        extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
        extension('2.5.29.17', false, seq(...sans)), // subjectAltName
      ),
    ),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, ecdsaSha256, bits(signature));
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
  return { cert: pem, key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** The certificate under `dir`, made when missing or when it does not name `host`. */
export function loadOrCreateCertificate(dir: string, host: string): { cert: string; key: string } {
  const files = tlsFiles(dir);
  const hosts = ['localhost', '127.0.0.1', '::1', ...(host && host !== '0.0.0.0' && host !== '::' ? [host] : [])];
  if (existsSync(files.cert) && existsSync(files.key)) {
    const cert = readFileSync(files.cert, 'utf8');
    const key = readFileSync(files.key, 'utf8');
    const x509 = new X509Certificate(cert);
    const covers = hosts.every((h) => (net.isIP(h) ? x509.checkIP(h) : x509.checkHost(h)));
    if (covers && Date.parse(x509.validTo) > Date.now() + 86_400_000 && x509.checkPrivateKey(createPrivateKey(key))) return { cert, key };
  }
  const made = selfSignedCertificate(hosts);
  writeFileSync(files.key, made.key, { mode: 0o600 });
  chmodSync(files.key, 0o600);
  writeFileSync(files.cert, made.cert);
  return made;
}

/**
 * Makes an HTTP server answer TLS too, on the same port: a connection whose
 * first byte opens a TLS handshake is wrapped in a TLS socket before HTTP sees it.
 */
export function acceptTls(server: http.Server, dir: string, host = '127.0.0.1', limits: ListenerLimits = listenerLimits()): void {
  const { cert, key } = loadOrCreateCertificate(dir, host);
  const context = tls.createSecureContext({ cert, key });
  const httpListeners = server.listeners('connection') as ((s: net.Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: net.Socket) => {
    // Until the HTTP parser owns the connection, this deadline is the only one.
    const handedOver = deadline(socket, limits);
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first); // a TLS socket takes over what is buffered; HTTP reads it on resume
      if (first[0] === 0x16) {
        const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context, ALPNProtocols: ['http/1.1'] });
        secure.on('error', () => secure.destroy()); // a failed handshake ends only that connection
        secure.once('secure', handedOver);
        for (const l of httpListeners) l.call(server, secure);
      } else {
        handedOver();
        for (const l of httpListeners) l.call(server, socket);
        process.nextTick(() => socket.resume());
      }
    });
    socket.on('error', () => socket.destroy());
  });
}
