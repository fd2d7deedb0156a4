// The kubelet's own HTTP endpoint, as the real kubelet serves on port 10250: the
// API server proxies the pods/log and pods/exec subresources here, because only
// the kubelet of a pod's node can reach its containers. The daemon's kubelet
// listens on a unix socket (mode 0600); a node agent can listen on TCP, over HTTPS
// only (a self-signed certificate whose fingerprint the Node publishes), where it
// accepts one credential: the kubelet-client token the API server made for this
// node when it joined (the node keeps only its hash).
//
//   GET /healthz
//   GET /containerLogs/{namespace}/{pod}/{container}?follow&previous&tailLines&timestamps&sinceSeconds&sinceTime&limitBytes
//       → text/plain stream (errors: plain text, as the kubelet answers them)
//   GET /exec/{namespace}/{pod}/{container}?command=…&stdin&stdout&stderr&tty
//       → WebSocket upgrade, protocol v5/v4.channel.k8s.io (see client/remotecommand.ts)
//   GET /portForward/{namespace}/{pod}?port=…
//       → WebSocket upgrade, the same protocols (see client/portforward.ts)
import { certificateSha256, sameDigest, sha256Hex } from '../api/cert-pins.js';
import { chmodSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import type { KubeletEndpoint } from '../api/kubelet-endpoint.js';
import type { ContainerStatus, Pod } from '../api/types.js';
import { ApiStatusError, type Client } from '../client/client.js';
import { CHANNEL, STREAM_PROTOCOLS, STREAM_PROTOCOL_V5, exitStatus } from '../client/remotecommand.js';
import { type DockerRuntime, type ExecSession, dockerMessage, isGone } from '../runtime/docker.js';
import { parsePortForwardPorts, servePortForward } from './portforward.js';
import { applyLimits, listenerLimits, serverOptions } from '../api/listener.js';
import { hostAddress } from './node-status.js';

export interface KubeletServerOptions {
  nodeName: string;
  client: Client;
  runtime: DockerRuntime;
  logger: Logger;
  /** Unix socket to listen on. */
  socketPath?: string;
  /** HOST:PORT to listen on (TCP, HTTPS); requires `tls` and `clientTokenSha256`. */
  listen?: string;
  /** The serving certificate and key on TCP. */
  tls?: { cert: string; key: string };
  /** SHA-256 (hex) of the one bearer token accepted on TCP: the API server's kubelet-client token for this node. */
  clientTokenSha256?: string;
}

/** An error answered as the kubelet does: a status code and a plain-text message. */
class KubeletError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_BUFFERED = 1 << 20; // pause the container's output while the client is this far behind

export class KubeletServer {
  private server: http.Server | https.Server;
  private wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => pickProtocol([...offered]) ?? false });
  private sessions = new Set<{ close(): void }>();
  private log: Logger;
  endpoint?: KubeletEndpoint;

  constructor(private opts: KubeletServerOptions) {
    this.log = opts.logger.child({ component: 'kubelet-server' });
    const limits = listenerLimits();
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.handle(req, res).catch((err) => this.fail(res, err));
    };
    this.server =
      opts.listen && opts.tls
        ? https.createServer({ ...serverOptions(limits), ...opts.tls, handshakeTimeout: limits.headersTimeoutMs, ALPNProtocols: ['http/1.1'] }, handler)
        : http.createServer(serverOptions(limits), handler);
    applyLimits(this.server as http.Server, limits);
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy()); // Node leaves upgraded sockets without one
      this.upgrade(req, socket, head).catch((err) => {
        const e = err instanceof KubeletError ? err : new KubeletError(500, (err as Error).message);
        // A KubeletError is the answer to the request (e.g. container not found); anything else is ours.
        if (!(err instanceof KubeletError)) this.log.error({ err, url: req.url }, 'exec failed');
        rejectUpgrade(socket, e.code, e.message);
      });
    });
  }

  async start(): Promise<KubeletEndpoint> {
    const { socketPath, listen } = this.opts;
    if (listen) {
      if (!this.opts.tls || !this.opts.clientTokenSha256) throw new Error('a kubelet listening on TCP needs a serving certificate and the hash of the API server\'s kubelet-client token');
      const m = /^(.*):(\d+)$/.exec(listen);
      if (!m) throw new Error(`the kubelet's listen address wants HOST:PORT, got "${listen}"`);
      const host = m[1].replace(/^\[|\]$/g, '');
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(Number(m[2]), host, () => resolve());
      });
      const port = (this.server.address() as { port: number }).port;
      // A wildcard address is no address to publish: the API server dials this machine's.
      const published = host === '0.0.0.0' || host === '::' || host === '' ? (hostAddress() ?? '127.0.0.1') : host;
      this.endpoint = { url: `https://${published.includes(':') ? `[${published}]` : published}:${port}`, port, certificateSha256: certificateSha256(this.opts.tls.cert) };
    } else if (socketPath) {
      rmSync(socketPath, { force: true });
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        const umask = process.umask(0o177); // born 0600: only the owner may reach the containers
        this.server.listen(socketPath, () => {
          process.umask(umask);
          chmodSync(socketPath, 0o600);
          resolve();
        });
      });
      this.endpoint = { url: `unix://${socketPath}`, port: 0 };
    } else {
      throw new Error('the kubelet server needs a socket path or a listen address');
    }
    this.log.info({ endpoint: this.endpoint.url }, 'kubelet server listening');
    return this.endpoint;
  }

  async stop(): Promise<void> {
    for (const s of this.sessions) s.close();
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    if (this.opts.socketPath && !this.opts.listen) rmSync(this.opts.socketPath, { force: true });
  }

  private authorized(req: http.IncomingMessage): boolean {
    // Decided by the listener, never by the peer's address (gone once a client resets):
    // the unix socket is guarded by its mode, TCP always wants the API server's token.
    if (!this.opts.listen) return true;
    const header = req.headers.authorization ?? '';
    return header.startsWith('Bearer ') && sameDigest(sha256Hex(header.slice(7)), this.opts.clientTokenSha256);
  }

  private fail(res: http.ServerResponse, err: unknown): void {
    const e = err instanceof KubeletError ? err : new KubeletError(500, (err as Error).message);
    if (!(err instanceof KubeletError)) this.log.error({ err }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(e.code, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(e.message);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!this.authorized(req)) throw new KubeletError(401, 'Unauthorized');
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (parts[0] === 'containerLogs' && parts.length === 4 && req.method === 'GET') {
      return this.containerLogs(parts[1], parts[2], parts[3], url.searchParams, res);
    }
    if (parts[0] === 'exec' || parts[0] === 'portForward') throw new KubeletError(400, 'Upgrade request required');
    throw new KubeletError(404, `the kubelet serves no ${url.pathname}`);
  }

  /** The pod as this node's kubelet knows it: bound here, straight from the API. */
  private async pod(namespace: string, name: string): Promise<Pod> {
    try {
      const pod = await this.opts.client.getPod(namespace, name);
      if (pod.spec.nodeName === this.opts.nodeName) return pod;
    } catch (err) {
      if (!(err instanceof ApiStatusError && err.code === 404)) throw err;
    }
    throw new KubeletError(404, `pod "${name}" does not exist`);
  }

  // --- logs (server.go getContainerLogs, kubelet_pods.go GetKubeletContainerLogs)

  private async containerLogs(namespace: string, name: string, container: string, q: URLSearchParams, res: http.ServerResponse) {
    const opts = parseLogOptions(q);
    const pod = await this.pod(namespace, name);
    if (!allContainers(pod).some((c) => c.name === container)) {
      throw new KubeletError(404, `container "${container}" not found in pod "${name}"`);
    }
    const id = containerIdForLogs(pod, container, opts.previous);
    // The ID comes from the pod's status, which API clients can write: open it only
    // when Docker says it is this pod's container, on this node.
    const own = await this.opts.runtime.listContainers(pod.metadata.uid);
    if (!own.some((c) => c.id === id && c.name === container && c.kind !== 'sandbox')) {
      throw new KubeletError(400, opts.previous ? `previous terminated container "${container}" in pod "${name}" not found` : `container "${container}" in pod "${name}" is not available`);
    }
    let stream;
    try {
      stream = await this.opts.runtime.containerLogs(id, opts);
    } catch (err) {
      if (!isGone(err)) throw err;
      // Only the latest two attempts are kept: an older one is gone with its log.
      throw new KubeletError(400, opts.previous ? `previous terminated container "${container}" in pod "${name}" not found` : `container "${container}" in pod "${name}" is not available`);
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' });
    res.flushHeaders(); // a follower sees the stream open before the first line
    let left = opts.limitBytes ?? Infinity;
    res.on('close', () => stream.destroy());
    stream.on('data', (chunk: Buffer) => {
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      left -= part.length;
      if (!res.write(part)) {
        stream.pause();
        res.once('drain', () => stream.resume());
      }
      if (left <= 0) {
        stream.destroy();
        res.end();
      }
    });
    stream.on('end', () => res.end());
    stream.on('error', () => res.destroy());
  }

  // --- exec (server.go getExec, cri streaming server ServeExec)

  private async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (!this.authorized(req)) throw new KubeletError(401, 'Unauthorized');
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
    if (parts[0] === 'portForward' && parts.length === 3) return this.portForward(req, socket, head, parts[1], parts[2], url.searchParams);
    if (parts[0] !== 'exec' || parts.length !== 4) throw new KubeletError(404, `the kubelet serves no ${url.pathname}`);
    const [, namespace, name, container] = parts;
    const q = url.searchParams;
    const command = q.getAll('command');
    if (!command.length) throw new KubeletError(400, 'you must specify at least one command for the container');
    const tty = flag(q, 'tty');
    const streams = { stdin: flag(q, 'stdin'), stdout: flag(q, 'stdout'), stderr: flag(q, 'stderr') && !tty, tty };
    if (!streams.stdin && !streams.stdout && !flag(q, 'stderr')) throw new KubeletError(400, 'you must specify at least 1 of stdin, stdout, stderr');

    const pod = await this.pod(namespace, name);
    const running = (await this.opts.runtime.listContainers(pod.metadata.uid))
      .filter((c) => c.name === container && c.kind !== 'sandbox' && c.state === 'running')
      .at(-1);
    if (!running) throw new KubeletError(500, `container not found ("${container}")`);
    // Checked last, so that kubectl's SPDY fallback still hears why a WebSocket failed.
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      throw new KubeletError(400, `exec is served over WebSockets (${STREAM_PROTOCOLS.join(', ')}), not ${req.headers.upgrade}`);
    }
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
    if (!pickProtocol(offered)) {
      throw new KubeletError(400, `none of the offered protocols [${offered.join(' ')}] is supported; use ${STREAM_PROTOCOLS.join(' or ')}`);
    }

    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // Messages may arrive before Docker has started the command: hold them.
      const early: Buffer[] = [];
      const hold = (data: Buffer, isBinary: boolean) => isBinary && early.push(data);
      ws.on('message', hold);
      this.opts.runtime.execStream(running.id, { command, ...streams }).then(
        (session) => {
          ws.off('message', hold);
          this.serveExec(ws, session, command, early);
        },
        (err: Error) => sendStatus(ws, internalError(err)),
      );
    });
  }

  // --- port forwarding (server.go getPortForward, cri streaming portforward)

  private async portForward(req: http.IncomingMessage, socket: Duplex, head: Buffer, namespace: string, name: string, q: URLSearchParams): Promise<void> {
    // The transport first: kubectl speaks SPDY here (its ports travel in stream
    // headers), and its users should hear that, not that a port is missing.
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      throw new KubeletError(400, `port forwarding is served over WebSockets (${STREAM_PROTOCOLS.join(', ')}), not ${req.headers.upgrade}`);
    }
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
    if (!pickProtocol(offered)) {
      throw new KubeletError(400, `none of the offered protocols [${offered.join(' ')}] is supported; use ${STREAM_PROTOCOLS.join(' or ')}`);
    }
    let ports: number[];
    try {
      ports = parsePortForwardPorts(q);
    } catch (err) {
      throw new KubeletError(400, (err as Error).message);
    }
    const pod = await this.pod(namespace, name);
    const sandbox = (await this.opts.runtime.listContainers(pod.metadata.uid)).filter((c) => c.kind === 'sandbox' && c.state === 'running').at(-1);
    const host = pod.spec.hostNetwork ? '127.0.0.1' : sandbox?.ip;
    if (!sandbox || !host) throw new KubeletError(500, `unable to do port forwarding: the sandbox of pod "${name}" is not running`);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = servePortForward(ws, { host, ports, podFullName: `${name}_${namespace}`, uid: pod.metadata.uid ?? '' }, this.log);
      this.sessions.add(session);
      ws.on('close', () => this.sessions.delete(session));
    });
  }

  private serveExec(ws: WebSocket, session: ExecSession, command: string[], early: Buffer[]): void {
    const v5 = ws.protocol === STREAM_PROTOCOL_V5;
    const entry = { close: () => session.close() };
    this.sessions.add(entry);
    if (ws.readyState !== WebSocket.OPEN) {
      session.close();
      this.sessions.delete(entry);
      return;
    }
    const forward = (channel: number, stream: NodeJS.ReadableStream) => {
      const done = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
      });
      stream.on('data', (chunk: Buffer) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.send(Buffer.concat([Buffer.from([channel]), chunk]));
        if (ws.bufferedAmount > MAX_BUFFERED) {
          stream.pause();
          const resume = setInterval(() => {
            if (ws.bufferedAmount < MAX_BUFFERED / 2 || ws.readyState !== WebSocket.OPEN) {
              clearInterval(resume);
              stream.resume();
            }
          }, 10);
        }
      });
      return done;
    };
    const output = Promise.all([forward(CHANNEL.stdout, session.stdout), forward(CHANNEL.stderr, session.stderr)]);

    const onMessage = (data: Buffer) => {
      if (data.length === 0) return;
      const payload = data.subarray(1);
      switch (data[0]) {
        case CHANNEL.stdin:
          session.stdin?.write(payload);
          break;
        case CHANNEL.resize:
          try {
            const size = JSON.parse(payload.toString('utf8')) as { Width?: number; Height?: number };
            if (size.Width && size.Height) session.resize(size.Width, size.Height).catch(() => {});
          } catch {
            // a malformed resize is ignored, as the kubelet does
          }
          break;
        case CHANNEL.close:
          if (v5 && payload[0] === CHANNEL.stdin) session.stdin?.end();
          break;
      }
    };
    for (const data of early) onMessage(data);
    ws.on('message', (data: Buffer, isBinary: boolean) => isBinary && onMessage(data));
    ws.on('close', () => {
      this.sessions.delete(entry);
      session.close(); // the client went away: detach (a TTY's shell gets SIGHUP)
    });

    void (async () => {
      let status: unknown;
      try {
        const exitCode = await session.exitCode();
        await output;
        status = exitStatus(exitCode, command);
      } catch (err) {
        status = internalError(err as Error);
      }
      sendStatus(ws, status);
      this.sessions.delete(entry);
    })();
  }
}

/** The last word on an exec stream: a Status on the error channel, then a normal close. */
function sendStatus(ws: WebSocket, status: unknown): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  ws.send(Buffer.concat([Buffer.from([CHANNEL.error]), Buffer.from(JSON.stringify(status))]));
  ws.close(1000);
}

function internalError(err: Error) {
  const message = `Internal error occurred: error executing command in container: ${dockerMessage(err)}`;
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 };
}

function pickProtocol(offered: string[]): string | undefined {
  return STREAM_PROTOCOLS.find((p) => offered.includes(p));
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

function rejectUpgrade(socket: Duplex, code: number, message: string): void {
  if (socket.destroyed) return;
  const body = Buffer.from(message);
  socket.end(
    `HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` +
      body.toString('utf8'),
  );
}

function allContainers(pod: Pod) {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
}

export interface LogOptions {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  sinceTime?: number;
  limitBytes?: number;
}

/** PodLogOptions from a query string; throws a 422 KubeletError as the kubelet does. */
export function parseLogOptions(q: URLSearchParams, now = Date.now()): LogOptions {
  const int = (name: string, min: number): number | undefined => {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new KubeletError(422, `invalid ${name}: ${v}`);
    return n;
  };
  const sinceSeconds = int('sinceSeconds', 1);
  const sinceTimeText = q.get('sinceTime');
  const sinceTime = sinceTimeText ? Date.parse(sinceTimeText) : undefined;
  if (sinceTime !== undefined && Number.isNaN(sinceTime)) throw new KubeletError(422, `invalid sinceTime: ${sinceTimeText}`);
  return {
    follow: flag(q, 'follow'),
    previous: flag(q, 'previous'),
    timestamps: flag(q, 'timestamps'),
    tailLines: int('tailLines', 0),
    sinceTime: sinceSeconds !== undefined ? now - sinceSeconds * 1000 : sinceTime,
    limitBytes: int('limitBytes', 1),
  };
}

/**
 * Which Docker container's log to show (kubelet_pods.go validateContainerLogStatus):
 * the running one, else the last terminated one; with `previous`, the one before.
 */
export function containerIdForLogs(pod: Pod, container: string, previous: boolean): string {
  const name = pod.metadata.name;
  const status: ContainerStatus | undefined = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find(
    (s) => s.name === container,
  );
  const id = (cid?: string) => cid?.replace(/^docker:\/\//, '') ?? '';
  if (!status) throw new KubeletError(400, `container "${container}" in pod "${name}" is waiting to start: ContainerCreating`);
  const last = status.lastState?.terminated;
  const { waiting, running, terminated } = status.state;
  if (previous) {
    if (!last?.containerID) throw new KubeletError(400, `previous terminated container "${container}" in pod "${name}" not found`);
    return id(last.containerID);
  }
  if (running) return id(status.containerID);
  if (terminated) {
    if (terminated.containerID) return id(terminated.containerID);
    if (last?.containerID) return id(last.containerID);
    throw new KubeletError(400, `container "${container}" in pod "${name}" is terminated`);
  }
  if (last) {
    if (!last.containerID) throw new KubeletError(400, `container "${container}" in pod "${name}" is terminated`);
    return id(last.containerID);
  }
  if (waiting) {
    const why =
      waiting.reason === 'ErrImagePull' ? "image can't be pulled" : waiting.reason === 'ImagePullBackOff' ? 'trying and failing to pull image' : waiting.reason;
    throw new KubeletError(400, `container "${container}" in pod "${name}" is waiting to start: ${why}`);
  }
  throw new KubeletError(400, `container "${container}" in pod "${name}" is waiting to start - no logs yet`);
}
