// The typed API client that the CLI, the scheduler, the kubelet and the tests use.
// It speaks HTTP to the API server over its unix socket (or TCP with a token:
// HTTPS, verified against a given CA, for a node agent).
import http from 'node:http';
import https from 'node:https';
import { type ServedResource, resourcePath } from '../api/api-resources.js';
import type { Event, List, Node, Pod, Status, WatchEvent } from '../api/types.js';

export { resourcePath };

/** An error the API server answered with a Status. */
export class ApiStatusError extends Error {
  constructor(readonly status: Status) {
    super(status.message ?? `request failed with code ${status.code}`);
  }
  get code(): number {
    return this.status.code;
  }
  get reason(): string {
    return this.status.reason ?? '';
  }
}

/** The API server could not be reached at all. */
export class ConnectionError extends Error {
  constructor(
    readonly endpoint: string,
    readonly cause: Error,
  ) {
    super(`cannot reach the minipod daemon at ${endpoint}: ${cause.message}`);
  }
}

export interface ClientOptions {
  socketPath?: string;
  server?: string; // http://host:port or https://host:port
  token?: string;
  /** With an https:// server: the CA (PEM) its certificate must chain to; no other is trusted. */
  ca?: string;
  /** Called with the text of each `Warning` header of an answer (e.g. Pod Security's warn mode). */
  onWarning?: (text: string) => void;
}

/** The text of a `299 - "text"` Warning header (RFC 7234), or the header itself when it is not one. */
export function parseWarningHeader(header: string): string {
  const utf8 = Buffer.from(header, 'latin1').toString('utf8'); // the bytes on the wire are UTF-8
  const m = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(utf8);
  return m ? m[1].replace(/\\(.)/g, '$1') : utf8;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

/** The pods/log subresource's query (PodLogOptions). */
export interface PodLogOptions {
  container?: string;
  follow?: boolean;
  previous?: boolean;
  timestamps?: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  sinceTime?: string;
  limitBytes?: number;
}

export interface WatchHandle {
  stop(): void;
  /** Resolves when the stream ends (server closed it, or stop()). */
  done: Promise<void>;
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export class Client {
  private agent: http.Agent;
  readonly endpoint: string;

  constructor(readonly opts: ClientOptions) {
    this.agent = this.secure ? new https.Agent({ keepAlive: true, maxSockets: 32, ca: opts.ca }) : new http.Agent({ keepAlive: true, maxSockets: 32 });
    this.endpoint = opts.server ?? opts.socketPath ?? '';
  }

  close(): void {
    this.agent.destroy();
  }

  private get secure(): boolean {
    return !!this.opts.server?.startsWith('https:');
  }

  /** http.request or https.request (the latter trusting only opts.ca), as the server's scheme says. */
  private open(options: http.RequestOptions, onResponse?: (res: http.IncomingMessage) => void): http.ClientRequest {
    if (!this.secure) return http.request(options, onResponse);
    return https.request({ ...options, ...(options.agent === false ? { ca: this.opts.ca } : {}) }, onResponse);
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json', headers: http.OutgoingHttpHeaders = {}): Promise<T> {
    const res = await this.send(method, path, body, contentType, headers);
    if (this.opts.onWarning) for (const w of res.headersDistinct.warning ?? []) this.opts.onWarning(parseWarningHeader(w));
    const text = await readAll(res);
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    if ((res.statusCode ?? 500) >= 400) {
      const status =
        parsed && typeof parsed === 'object' && (parsed as Status).kind === 'Status'
          ? (parsed as Status)
          : ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: res.statusCode ?? 500, message: String(text) } as Status);
      throw new ApiStatusError(status);
    }
    return parsed as T;
  }

  /** Starts a request and returns the response once its headers arrive. */
  send(method: string, path: string, body?: unknown, contentType = 'application/json', extraHeaders: http.OutgoingHttpHeaders = {}): Promise<http.IncomingMessage> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = { Accept: 'application/json', ...extraHeaders };
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    if (this.opts.token) headers.Authorization = `Bearer ${this.opts.token}`;
    const target: http.RequestOptions = this.opts.server
      ? (() => {
          const u = new URL(this.opts.server);
          return { host: u.hostname, port: u.port };
        })()
      : // servername: TLS-only; given, the agent skips its isIP(host) check, whose IPv6
        // regex costs a command ~5 ms to compile on its first request.
        ({ socketPath: this.opts.socketPath, servername: '' } as http.RequestOptions);
    return new Promise((resolve, reject) => {
      const req = this.open({ ...target, method, path, headers, agent: this.agent }, resolve);
      req.on('error', (err: NodeJS.ErrnoException) => {
        const unreachable = ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EACCES', 'ENOTSOCK'].includes(err.code ?? '');
        reject(unreachable ? new ConnectionError(this.endpoint, err) : err);
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  // --- pods
  getPod(namespace: string, name: string): Promise<Pod> {
    return this.request('GET', resourcePath('pods', namespace, name));
  }
  listPods(namespace?: string, opts: ListOptions = {}): Promise<List<Pod>> {
    return this.request('GET', resourcePath('pods', namespace) + query({ ...opts }));
  }
  createPod(namespace: string, pod: Pod, dryRun = false): Promise<Pod> {
    return this.request('POST', resourcePath('pods', namespace) + query({ dryRun: dryRun ? 'All' : undefined }), pod);
  }
  updatePod(pod: Pod): Promise<Pod> {
    return this.request('PUT', resourcePath('pods', pod.metadata.namespace, pod.metadata.name), pod);
  }
  updatePodStatus(pod: Pod): Promise<Pod> {
    return this.request('PUT', resourcePath('pods', pod.metadata.namespace, pod.metadata.name, 'status'), pod);
  }
  patchPod(namespace: string, name: string, patch: unknown): Promise<Pod> {
    return this.request('PATCH', resourcePath('pods', namespace, name), patch, 'application/merge-patch+json');
  }
  deletePod(namespace: string, name: string, opts: { gracePeriodSeconds?: number; uid?: string } = {}): Promise<Pod> {
    const body = {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      gracePeriodSeconds: opts.gracePeriodSeconds,
      ...(opts.uid ? { preconditions: { uid: opts.uid } } : {}),
    };
    return this.request('DELETE', resourcePath('pods', namespace, name), body);
  }
  bindPod(namespace: string, name: string, node: string): Promise<Status> {
    return this.request('POST', resourcePath('pods', namespace, name, 'binding'), {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name, namespace },
      target: { apiVersion: 'v1', kind: 'Node', name: node },
    });
  }

  /**
   * GET pods/{name}/log: resolves with the text/plain stream once the API server
   * has accepted the request; an error answer is thrown as ApiStatusError.
   */
  async podLogs(namespace: string, name: string, opts: PodLogOptions = {}): Promise<http.IncomingMessage> {
    const res = await this.send('GET', resourcePath('pods', namespace, name, 'log') + query({ ...opts }));
    if ((res.statusCode ?? 500) >= 400) {
      const text = await readAll(res);
      let status: Status;
      try {
        status = JSON.parse(text) as Status;
      } catch {
        status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: res.statusCode ?? 500, message: text };
      }
      throw new ApiStatusError(status);
    }
    return res;
  }

  // --- nodes
  getNode(name: string): Promise<Node> {
    return this.request('GET', resourcePath('nodes', undefined, name));
  }
  listNodes(opts: ListOptions = {}): Promise<List<Node>> {
    return this.request('GET', resourcePath('nodes') + query({ ...opts }));
  }
  createNode(node: Node): Promise<Node> {
    return this.request('POST', resourcePath('nodes'), node);
  }
  updateNodeStatus(node: Node): Promise<Node> {
    return this.request('PUT', resourcePath('nodes', undefined, node.metadata.name, 'status'), node);
  }

  /**
   * The cluster's identity: the uid of its kube-system Namespace, made once with
   * the store (what kubectl users know as the cluster id). Daemons sharing one
   * etcd store see the same one.
   */
  async clusterUid(): Promise<string> {
    const ns = await this.request<{ metadata?: { uid?: string } }>('GET', resourcePath('namespaces', undefined, 'kube-system'));
    if (!ns?.metadata?.uid) throw new Error('the API server answered the kube-system namespace without a uid');
    return ns.metadata.uid;
  }

  // --- events
  createEvent(namespace: string, ev: Event): Promise<Event> {
    return this.request('POST', resourcePath('events', namespace), ev);
  }
  listEvents(namespace?: string, opts: ListOptions = {}): Promise<List<Event>> {
    return this.request('GET', resourcePath('events', namespace) + query({ ...opts }));
  }

  /**
   * Watches a collection from a resourceVersion. Events arrive in order; the
   * handle's `done` resolves when the stream ends, so callers can resume.
   */
  watch<T>(
    resource: ServedResource,
    namespace: string | undefined,
    opts: ListOptions & { resourceVersion?: string; timeoutSeconds?: number },
    onEvent: (e: WatchEvent<T>) => void,
    extraHeaders: http.OutgoingHttpHeaders = {}, // e.g. Accept: a Table per event
  ): WatchHandle {
    let req: http.ClientRequest | undefined;
    let stopped = false;
    const done = new Promise<void>((resolve, reject) => {
      const path = resourcePath(resource, namespace) + query({ ...opts, watch: 'true' });
      const target = this.opts.server
        ? { host: new URL(this.opts.server).hostname, port: new URL(this.opts.server).port }
        : { socketPath: this.opts.socketPath };
      const headers: http.OutgoingHttpHeaders = { Accept: 'application/json', ...extraHeaders };
      if (this.opts.token) headers.Authorization = `Bearer ${this.opts.token}`;
      // Watches get their own connection: they are long-lived.
      req = this.open({ ...target, method: 'GET', path, headers, agent: false }, (res) => {
        if ((res.statusCode ?? 500) >= 400) {
          readAll(res).then((text) => {
            try {
              reject(new ApiStatusError(JSON.parse(text) as Status));
            } catch {
              reject(new Error(text));
            }
          }, reject);
          return;
        }
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.trim() && !stopped) onEvent(JSON.parse(line) as WatchEvent<T>);
          }
        });
        res.on('end', () => resolve());
        res.on('close', () => resolve());
        res.on('error', () => resolve());
      });
      req.on('error', (err: NodeJS.ErrnoException) => (stopped ? resolve() : reject(new ConnectionError(this.endpoint, err))));
      req.end();
    });
    return {
      stop: () => {
        stopped = true;
        req?.destroy();
      },
      done,
    };
  }
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}
