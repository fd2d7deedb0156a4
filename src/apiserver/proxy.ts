// The pods/log and pods/exec subresources. The API server never talks to Docker:
// it checks the request as Kubernetes does (pkg/registry/core/pod/strategy.go
// LogLocation, streamLocation), then proxies it to the kubelet of the pod's node,
// found through the endpoint that kubelet publishes on its Node object. Logs are
// streamed through; exec and portforward are WebSockets tunnelled byte for byte
// after the kubelet accepts the upgrade (see client/remotecommand.ts and
// client/portforward.ts for the protocols). A kubelet on TCP is reached over HTTPS
// only, and its certificate must be the one its Node publishes before the API
// server sends it the node's kubelet-client token or a byte of the request.
import http from 'node:http';
import { lstatSync } from 'node:fs';
import { basename } from 'node:path';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { certificateSha256, sameDigest } from '../api/cert-pins.js';
import { KUBELET_ENDPOINT_ANNOTATION, KUBELET_SERVING_CERT_ANNOTATION, type KubeletTarget, type NodeWithEndpoints, kubeletTarget } from '../api/kubelet-endpoint.js';
import type { Pod } from '../api/types.js';
import type { Registry } from './registry.js';
import { ApiError, badRequest, invalid } from './status.js';

/** A container name as the API server resolves it: given and valid, or the only one. */
export function resolveContainer(pod: Pod, requested: string): string {
  const name = pod.metadata.name;
  const all = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  if (requested) {
    if (!all.some((c) => c.name === requested)) throw badRequest(`container ${requested} is not valid for pod ${name}`);
    return requested;
  }
  if (pod.spec.containers.length === 1) return pod.spec.containers[0].name;
  let message = `a container name must be specified for pod ${name}, choose one of: [${pod.spec.containers.map((c) => c.name).join(' ')}]`;
  const init = pod.spec.initContainers ?? [];
  if (init.length) message += ` or one of the init containers: [${init.map((c) => c.name).join(' ')}]`;
  throw badRequest(message);
}

/** The token the API server presents to the kubelet of a node (undefined: none, e.g. a node that never joined). */
export type KubeletCredential = (nodeName: string) => Promise<string | undefined>;

/** A kubelet to talk to: where, the connection when it is TLS (already verified), and the token to present. */
interface Kubelet {
  target: KubeletTarget;
  connection?: tls.TLSSocket;
  token?: string;
}

const DIAL_TIMEOUT_MS = 10_000;

/**
 * A node writes its own endpoint, so a hostile one could name any local socket
 * (Docker's, say) and have the API server dial it. A unix endpoint is dialled only
 * when it is a kubelet's socket for that very node: named kubelet-NODE.sock, a
 * socket owned by this process's user and closed to everyone else (0600).
 */
function trustedKubeletSocket(nodeName: string, target: KubeletTarget): KubeletTarget {
  const path = target.socketPath!;
  let st;
  try {
    st = lstatSync(path);
  } catch {
    st = undefined;
  }
  const ok = basename(path) === `kubelet-${nodeName}.sock` && st?.isSocket() && st.uid === process.getuid?.() && (st.mode & 0o077) === 0;
  if (!ok) throw new ApiError(502, 'BadGateway', `error dialing backend: node "${nodeName}" publishes ${target.url}, which is not a kubelet socket of that node: nothing was sent to it`);
  return target;
}

async function reachKubelet(registry: Registry, nodeName: string, credential?: KubeletCredential): Promise<Kubelet> {
  const node = (await registry.get('nodes', '', nodeName)) as unknown as NodeWithEndpoints;
  const target = kubeletTarget(node);
  if (!target) throw new ApiError(500, 'InternalError', `node "${nodeName}" publishes no kubelet endpoint (annotation ${KUBELET_ENDPOINT_ANNOTATION})`);
  if (target.socketPath) return { target: trustedKubeletSocket(nodeName, target) };
  if (target.plainHttp) {
    throw new ApiError(502, 'BadGateway', `error dialing backend: node "${nodeName}" publishes a plain-HTTP kubelet endpoint (${target.url}); the API server reaches a kubelet on TCP over HTTPS only`);
  }
  if (!target.certificateSha256) {
    throw new ApiError(502, 'BadGateway', `error dialing backend: node "${nodeName}" publishes no kubelet serving certificate (annotation ${KUBELET_SERVING_CERT_ANNOTATION}), so the kubelet at ${target.url} cannot be verified`);
  }
  const token = await credential?.(nodeName);
  return { target, token, connection: await dialVerified(nodeName, target) };
}

/** A TLS connection to the kubelet whose certificate is the one its Node pins; nothing is sent on it yet. */
async function dialVerified(nodeName: string, target: KubeletTarget): Promise<tls.TLSSocket> {
  // Verification is the pin, not a CA: the kubelet's certificate is self-signed.
  const socket = tls.connect({
    host: target.host,
    port: target.port,
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
    ...(net.isIP(target.host ?? '') ? {} : { servername: target.host }),
  });
  socket.setTimeout(DIAL_TIMEOUT_MS, () => socket.destroy(new Error(`no TLS handshake within ${DIAL_TIMEOUT_MS / 1000}s`)));
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', (err) => reject(dialError(target, err)));
  });
  socket.setTimeout(0);
  const cert = socket.getPeerX509Certificate();
  const presented = cert ? certificateSha256(cert) : 'none';
  if (!sameDigest(presented, target.certificateSha256)) {
    socket.destroy();
    throw new ApiError(
      502,
      'BadGateway',
      `error dialing backend: the kubelet at ${target.url} presented a serving certificate with SHA-256 ${presented}, but node "${nodeName}" publishes ${target.certificateSha256} (annotation ${KUBELET_SERVING_CERT_ANNOTATION}): nothing was sent to it`,
    );
  }
  socket.on('error', () => socket.destroy()); // from here on, the HTTP request reports errors
  return socket;
}

function kubeletRequest({ target, connection, token }: Kubelet, path: string, headers: http.OutgoingHttpHeaders): http.ClientRequest {
  const h = { ...headers };
  if (connection) {
    if (token) h.authorization = `Bearer ${token}`;
    // Over the connection whose certificate was checked: no agent may open another.
    return http.request({ host: target.host, port: target.port, createConnection: () => connection, method: 'GET', path, headers: h });
  }
  // agent: false — a stream owns its connection, and closing it must reach the kubelet.
  return http.request({ socketPath: target.socketPath, method: 'GET', path, headers: h, agent: false });
}

function dialError(target: KubeletTarget, err: Error): ApiError {
  return new ApiError(500, 'InternalError', `error dialing backend: the kubelet at ${target.url} is unreachable: ${err.message}`);
}

/** A kubelet's error answer as the API server reports it (genericrest GenericHttpResponseChecker). */
function kubeletError(code: number, body: string): ApiError {
  const text = body.trim();
  if (code === 400) return badRequest(text);
  if (code === 404) return new ApiError(404, 'NotFound', text);
  if (code === 401 || code === 403) return new ApiError(500, 'InternalError', `Internal error occurred: the kubelet refused the API server: ${text}`);
  return new ApiError(500, 'InternalError', `Internal error occurred: ${text}`);
}

// --- GET pods/{name}/log

const LOG_PARAMS = ['follow', 'previous', 'timestamps', 'sinceSeconds', 'sinceTime', 'tailLines', 'limitBytes'];

/** PodLogOptions validation (pkg/apis/core/validation ValidatePodLogOptions). */
function validateLogOptions(name: string, q: URLSearchParams): void {
  const errs: { path: string; message: string }[] = [];
  const int = (field: string) => {
    const v = q.get(field);
    if (v === null || v === '') return undefined;
    if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${field}: ${JSON.stringify(v)}: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
    return Number(v);
  };
  const tail = int('tailLines');
  if (tail !== undefined && tail < 0) errs.push({ path: 'tailLines', message: `Invalid value: ${tail}: must be greater than or equal to 0` });
  const limit = int('limitBytes');
  if (limit !== undefined && limit < 1) errs.push({ path: 'limitBytes', message: `Invalid value: ${limit}: must be greater than 0` });
  const since = int('sinceSeconds');
  if (since !== undefined && q.get('sinceTime')) errs.push({ path: '', message: 'Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified' });
  else if (since !== undefined && since < 1) errs.push({ path: 'sinceSeconds', message: `Invalid value: ${since}: must be greater than 0` });
  const sinceTime = q.get('sinceTime');
  if (sinceTime && Number.isNaN(Date.parse(sinceTime))) throw badRequest(`invalid value for sinceTime: ${JSON.stringify(sinceTime)}`);
  if (errs.length) {
    const err = invalid('PodLogOptions', name, errs);
    throw new ApiError(err.code, err.reason, err.message, { ...err.details, kind: 'PodLogOptions' });
  }
}

/** Streams a container's log from its kubelet as text/plain. */
export async function serveLog(registry: Registry, res: http.ServerResponse, namespace: string, name: string, q: URLSearchParams, credential?: KubeletCredential): Promise<void> {
  validateLogOptions(name, q);
  const pod = (await registry.get('pods', namespace, name)) as unknown as Pod;
  const container = resolveContainer(pod, q.get('container') ?? '');
  if (!pod.spec.nodeName) {
    // Not scheduled yet: no kubelet to ask, and no log (as Kubernetes answers).
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 0 });
    res.end();
    return;
  }
  const kubelet = await reachKubelet(registry, pod.spec.nodeName, credential);
  const params = new URLSearchParams();
  for (const p of LOG_PARAMS) if (q.get(p)) params.set(p, q.get(p)!);
  const path = `/containerLogs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}?${params}`;
  const upstream = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const kreq = kubeletRequest(kubelet, path, {});
    kreq.on('response', resolve);
    kreq.on('error', (err) => reject(dialError(kubelet.target, err)));
    res.on('close', () => kreq.destroy()); // the client went away: stop following
    kreq.end();
  });
  if (upstream.statusCode !== 200) throw kubeletError(upstream.statusCode ?? 500, await readErrorBody(upstream));
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  upstream.pipe(res);
  upstream.on('error', () => res.destroy());
  upstream.on('aborted', () => res.destroy());
}

/** A kubelet's error answer, read up to MAX_ERROR_BODY_BYTES: a node may be hostile or broken. */
export const MAX_ERROR_BODY_BYTES = 16 * 1024;
async function readErrorBody(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res) {
    chunks.push(c as Buffer);
    size += (c as Buffer).length;
    if (size >= MAX_ERROR_BODY_BYTES) {
      res.destroy();
      return `${new TextDecoder().decode(Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES))}... (truncated)`;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

// --- pods/{name}/exec (an HTTP upgrade)

/** Tunnels that outlive their HTTP request: closed when the API server stops. */
const tunnels = new Set<Duplex>();

export function closeStreamTunnels(): void {
  for (const s of tunnels) s.destroy();
  tunnels.clear();
}

const EXEC_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec\/?$/;
const PORTFORWARD_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward\/?$/;

/** Handles an upgrade request on the API server; only pods/{name}/exec and pods/{name}/portforward accept one. */
export async function serveExecUpgrade(
  registry: Registry,
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  logger: Logger,
  credential?: KubeletCredential,
): Promise<void> {
  // Node hands over an upgraded socket without an error listener: a client that
  // vanishes early must not become an uncaught exception.
  socket.on('error', () => socket.destroy());
  try {
    if (PORTFORWARD_PATH.test(new URL(req.url ?? '/', 'http://minipod').pathname)) await tunnelPortForward(registry, req, socket, head, credential);
    else await tunnelExec(registry, req, socket, head, credential);
  } catch (err) {
    const apiErr = err instanceof ApiError ? err : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`);
    if (apiErr.code >= 500) logger.error({ err, url: req.url }, 'stream upgrade failed');
    writeRaw(socket, apiErr.code, 'application/json', JSON.stringify(apiErr.toStatus()));
  }
}

async function tunnelExec(registry: Registry, req: http.IncomingMessage, socket: Duplex, head: Buffer, credential?: KubeletCredential): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://minipod');
  const m = EXEC_PATH.exec(url.pathname);
  if (!m) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  const [namespace, name] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
  const q = url.searchParams;
  const pod = (await registry.get('pods', namespace, name)) as unknown as Pod;
  const container = resolveContainer(pod, q.get('container') ?? '');
  if (!pod.spec.nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  // Any upgrade goes on to the kubelet, SPDY too: kubectl falls back to SPDY when the
  // WebSocket upgrade fails, and then needs the kubelet's reason (e.g. container not found).
  const params = new URLSearchParams();
  for (const c of q.getAll('command')) params.append('command', c);
  for (const p of ['stdin', 'stdout', 'stderr', 'tty']) if (q.get(p)) params.set(p, q.get(p)!);
  const path = `/exec/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}?${params}`;
  await tunnelToKubelet(await reachKubelet(registry, pod.spec.nodeName, credential), path, req, socket, head);
}

/** pods/{name}/portforward (PortForwardLocation): `ports` become the kubelet's `port` parameters. */
async function tunnelPortForward(registry: Registry, req: http.IncomingMessage, socket: Duplex, head: Buffer, credential?: KubeletCredential): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://minipod');
  const m = PORTFORWARD_PATH.exec(url.pathname)!;
  const [namespace, name] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
  const pod = (await registry.get('pods', namespace, name)) as unknown as Pod;
  if (!pod.spec.nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  const kubelet = await reachKubelet(registry, pod.spec.nodeName, credential);
  const params = new URLSearchParams();
  for (const p of url.searchParams.getAll('ports')) params.append('port', p);
  await tunnelToKubelet(kubelet, `/portForward/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}?${params}`, req, socket, head);
}

/** Passes an upgrade on to the kubelet; once it accepts, pipes the two sockets together. */
async function tunnelToKubelet(kubelet: Kubelet, path: string, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  // The WebSocket handshake is between the client and the kubelet: pass its headers through.
  const headers: http.OutgoingHttpHeaders = {};
  for (const h of ['connection', 'upgrade', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions']) {
    if (req.headers[h] !== undefined) headers[h] = req.headers[h];
  }

  await new Promise<void>((resolve, reject) => {
    const kreq = kubeletRequest(kubelet, path, headers);
    kreq.on('error', (err) => reject(dialError(kubelet.target, err)));
    kreq.on('response', (kres) => {
      // The kubelet refused the upgrade: relay its answer as it is (kubectl then
      // says "unable to upgrade connection: …").
      readErrorBody(kres).then((body) => {
        writeRaw(socket, kres.statusCode ?? 500, String(kres.headers['content-type'] ?? 'text/plain'), body);
        resolve();
      }, reject);
    });
    kreq.on('upgrade', (kres: http.IncomingMessage, ksocket: Duplex, khead: Buffer) => {
      let response = 'HTTP/1.1 101 Switching Protocols\r\n';
      for (let i = 0; i < kres.rawHeaders.length; i += 2) response += `${kres.rawHeaders[i]}: ${kres.rawHeaders[i + 1]}\r\n`;
      socket.write(response + '\r\n');
      if (khead.length) socket.write(khead);
      if (head.length) ksocket.write(head);
      tunnels.add(socket);
      const close = () => {
        tunnels.delete(socket);
        socket.destroy();
        ksocket.destroy();
      };
      for (const s of [socket, ksocket]) {
        s.on('error', close);
        s.on('close', close);
      }
      socket.pipe(ksocket);
      ksocket.pipe(socket);
      resolve();
    });
    kreq.end();
  });
}

function writeRaw(socket: Duplex, code: number, contentType: string, body: string): void {
  if (socket.destroyed) return;
  const bytes = Buffer.from(body);
  socket.end(
    `HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? 'Error'}\r\nContent-Type: ${contentType}\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n` +
      body,
  );
}
