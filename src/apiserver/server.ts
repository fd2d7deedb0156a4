// The API server: Kubernetes-shaped HTTP routes over the registry, on a unix
// socket (and optionally TCP). Every answer is JSON; every error a Status.
import { bearerMatches } from '../api/bearer.js';
import http from 'node:http';
import type { Logger } from 'pino';
import { parseFieldSelector, matchesFields, type FieldRequirement } from '../api/fields.js';
import { matchesLabels, parseLabelSelector, type Requirement } from '../api/labels.js';
import { type ServedResource, groupVersion, isServed, resourceType } from '../api/api-resources.js';
import type { StoredObject } from '../store/store.js';
import { type DeleteOptions, Registry } from './registry.js';
import { ApiError, badRequest } from './status.js';
import { MAX_NESTING_DEPTH, nestedDeeperThan } from '../api/validate.js';
import { serveWatch, type WatchServeOptions } from './watch.js';
import { discovery } from './discovery.js';
import { openapi } from './openapi.js';
import { dryRunStore } from './dryrun.js';
import { negotiate, partialObjectMetadata, toTable } from './table.js';
import { strategyFor } from './strategy.js';
import { type KubeletCredential, serveExecUpgrade, serveLog } from './proxy.js';
import { ADMIN, NODE_CREDENTIALS, type Identity, admitCreate, authorizeRequest } from './authorization.js';
import { type NodeCredentials, serveNodeCredentials } from './node-credentials.js';
import { admitLongRunning } from './inflight.js';
import { setWarningHeaders } from './warnings.js';
import { applyLimits, listenerLimits, serverOptions, type ListenerLimits } from '../api/listener.js';

export const MAX_BODY_BYTES = 3 * 1024 * 1024; // the Kubernetes API server's request limit

export interface Route {
  resource: ServedResource;
  namespace?: string; // undefined = all namespaces (lists and watches only)
  name?: string;
  subresource?: string;
}

/** A resource of the core group, the one /api/v1 serves. */
const coreResource = (name: string): name is ServedResource => isServed(name) && resourceType(name).group === '';

/** Maps /api/v1/... to a route of a served resource, or undefined for paths we do not serve. */
export function parsePath(path: string): Route | undefined {
  const parts = path.replace(/\/+$/, '').split('/').slice(1);
  if (parts[0] !== 'api' || parts[1] !== 'v1') return undefined;
  let rest = parts.slice(2);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length === 3 && !coreResource(rest[2])) {
    // /api/v1/namespaces/{name}/status|finalize: a subresource of the namespace itself
    return { resource: 'namespaces', name: decodeURIComponent(rest[1]), subresource: rest[2] };
  }
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = decodeURIComponent(rest[1]);
    rest = rest.slice(2);
  }
  const resource = rest[0];
  if (!coreResource(resource) || rest.length > 3) return undefined;
  return { resource, namespace, name: rest[1] && decodeURIComponent(rest[1]), subresource: rest[2] };
}

export interface Selectors {
  labels: Requirement[];
  fields: FieldRequirement[];
}

export function parseSelectors(q: URLSearchParams, resource: ServedResource): Selectors {
  try {
    return {
      labels: parseLabelSelector(q.get('labelSelector') ?? ''),
      fields: parseFieldSelector(q.get('fieldSelector') ?? '', resource),
    };
  } catch (err) {
    throw badRequest((err as Error).message);
  }
}

export function selects(obj: StoredObject, s: Selectors): boolean {
  return matchesLabels(obj.metadata.labels as Record<string, string> | undefined, s.labels) && matchesFields(obj, s.fields);
}

export interface ApiServerOptions {
  registry: Registry;
  logger: Logger;
  /**
   * The bearer token every request to this server must carry. Authentication is
   * decided per listener, never per peer: only the unix-socket server, guarded by
   * its file mode, is created without one.
   */
  requireToken?: string;
  /** The other tokens this server accepts (the join token, node tokens) and the node credential exchange. */
  nodeCredentials?: NodeCredentials;
  /** The token this server presents to the kubelet of a node that listens on TCP (logs, exec, port-forward). */
  kubeletCredential?: KubeletCredential;
  /** Watch tuning (bookmark interval), for tests. */
  watch?: WatchServeOptions;
  /** Deadlines and connection cap (default: listenerLimits()). */
  limits?: ListenerLimits;
}

export function createApiServer({ registry, logger, requireToken, nodeCredentials, kubeletCredential: token, watch, limits = listenerLimits() }: ApiServerOptions): http.Server {
  // The unix socket's owner, or the admin token, is the admin; any other token must be a node's or the join token.
  const authenticate = async (header: string | undefined): Promise<Identity | undefined> =>
    requireToken === undefined || bearerMatches(header, requireToken) ? ADMIN : nodeCredentials?.authenticate(header);
  const server = http.createServer(serverOptions(limits), (req, res) => {
    authenticate(req.headers.authorization).then((user) => {
      if (!user) return send(res, 401, new ApiError(401, 'Unauthorized', 'Unauthorized').toStatus());
      return handle(registry, req, res, token, watch, user, nodeCredentials);
    }).catch((err) => {
      const apiErr =
        err instanceof ApiError ? err : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`);
      if (apiErr.code >= 500) logger.error({ err, method: req.method, url: req.url }, 'request failed');
      if (!res.headersSent && apiErr.details?.retryAfterSeconds) res.setHeader('Retry-After', String(apiErr.details.retryAfterSeconds));
      if (!res.headersSent) send(res, apiErr.code, apiErr.toStatus());
      else res.end();
    });
  });
  applyLimits(server, limits);
  // pods/{name}/exec and pods/{name}/portforward upgrade to WebSockets tunnelled to the pod's kubelet.
  server.on('upgrade', (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy()); // the client may leave while its token is looked up
    void upgrade(req, socket, head).catch((err) => {
      logger.error({ err, url: req.url }, 'stream upgrade failed');
      socket.destroy();
    });
  });
  const upgrade = async (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => {
    const user = await authenticate(req.headers.authorization);
    if (!user) {
      const body = JSON.stringify(new ApiError(401, 'Unauthorized', 'Unauthorized').toStatus());
      socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://minipod');
    try {
      await authorizeRequest(user, req.method ?? 'GET', url, parsePath(url.pathname), registry.store);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const body = JSON.stringify(err.toStatus());
      socket.end(`HTTP/1.1 ${err.code} ${http.STATUS_CODES[err.code]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    try {
      admitLongRunning(req, 'stream', socket);
    } catch (err) {
      const body = JSON.stringify((err as ApiError).toStatus());
      socket.end(`HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    void serveExecUpgrade(registry, req, socket, head, logger, token);
  };
  return server;
}

async function handle(
  registry: Registry,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  token?: KubeletCredential,
  watchOptions?: WatchServeOptions,
  user: Identity = ADMIN,
  credentials?: NodeCredentials,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://minipod');
  const q = url.searchParams;
  const method = req.method ?? 'GET';
  await authorizeRequest(user, method, url, parsePath(url.pathname), registry.store);
  if (url.pathname === NODE_CREDENTIALS.path) return serveNodeCredentials(credentials, req, res);
  const disc = discovery(url.pathname, req.socket.localPort ? `${req.socket.localAddress?.replace(/^::ffff:/, '')}:${req.socket.localPort}` : undefined);
  if (disc === 'ok' && method === 'GET') return sendText(res, 200, 'ok', 'text/plain; charset=utf-8'); // health checks answer plain ok, as the apiserver's
  if (disc !== undefined && method === 'GET') return send(res, 200, disc);
  const spec = method === 'GET' ? openapi(url.pathname) : undefined;
  if (spec !== undefined) return sendText(res, 200, spec, 'application/json');
  const route = parsePath(url.pathname);
  if (!route) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  const { resource, name, subresource } = route;
  const type = resourceType(resource);
  await registry.ready(resource);
  if (route.namespace !== undefined && !type.namespaced) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  const namespace = type.namespaced ? route.namespace : '';

  if (!name) {
    if (method === 'GET') {
      const selectors = parseSelectors(q, resource);
      const conversion = negotiate(req.headers.accept, q);
      if (q.get('watch') === 'true' || q.get('watch') === '1') {
        admitLongRunning(req, 'watch', res);
        return serveWatch(registry.store, req, res, { resource, namespace, selectors, query: q, conversion }, watchOptions);
      }
      const { items, resourceVersion } = await registry.store.list(resource, namespace);
      const selected = items.filter((o) => selects(o, selectors));
      if (conversion?.kind === 'Table') return send(res, 200, toTable(strategyFor(resource).table, selected, resourceVersion, conversion.options));
      if (conversion?.kind === 'PartialObjectMetadataList') {
        const meta = selected.map((o) => partialObjectMetadata(o, conversion.apiVersion));
        return send(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: conversion.apiVersion, metadata: { resourceVersion }, items: meta });
      }
      if (conversion) throw new ApiError(406, 'NotAcceptable', 'you requested PartialObjectMetadata, but the requested object is a list');
      return send(res, 200, {
        kind: type.listKind,
        apiVersion: groupVersion(type),
        metadata: { resourceVersion },
        items: selected,
      });
    }
    if (method === 'POST') {
      if (namespace === undefined) throw new ApiError(405, 'MethodNotAllowed', 'create requires a namespace in the path');
      const warnings: string[] = [];
      const body = await readJson(req);
      await admitCreate(user, method, url, route, registry.store, body); // NodeRestriction reads the name in the body
      const created = await registry.create(resource, namespace, body, q.get('dryRun') === 'All', warnings);
      setWarningHeaders(res, warnings);
      return send(res, 201, created);
    }
    throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  }

  if (namespace === undefined) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  if (subresource && !type.subresources.some((s) => s.name === subresource)) {
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  // The subresources with handlers of their own (declared for pods only).
  if (subresource === 'binding' && method === 'POST') {
    await registry.bind(namespace, name, await readJson(req));
    return send(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  }
  if (subresource === 'log' && method === 'GET') return serveLog(registry, res, namespace, name, q, token);
  if (subresource === 'exec' || subresource === 'portforward') throw badRequest('Upgrade request required');
  if (subresource && subresource !== 'status') {
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  const status = subresource === 'status';
  // ?dryRun=All: the same defaults, checks and answer, over a store that keeps nothing.
  if (method !== 'GET' && q.get('dryRun') === 'All') registry = new Registry(dryRunStore(registry.store), registry.admission);
  switch (method) {
    case 'GET': {
      const obj = await registry.get(resource, namespace, name);
      const conversion = status ? undefined : negotiate(req.headers.accept, q);
      if (conversion?.kind === 'Table') return send(res, 200, toTable(strategyFor(resource).table, [obj], obj.metadata.resourceVersion, conversion.options));
      if (conversion?.kind === 'PartialObjectMetadata') return send(res, 200, partialObjectMetadata(obj, conversion.apiVersion));
      if (conversion) throw new ApiError(406, 'NotAcceptable', 'you requested PartialObjectMetadataList, but the requested object is not a list');
      return send(res, 200, obj);
    }
    case 'PUT': {
      const body = await readJson(req);
      const warnings: string[] = [];
      const updated = status ? await registry.updateStatus(resource, namespace, name, body) : await registry.update(resource, namespace, name, body, warnings);
      setWarningHeaders(res, warnings);
      return send(res, 200, updated);
    }
    case 'PATCH': {
      const warnings: string[] = [];
      const patched = await registry.patch(resource, namespace, name, await readJson(req), status, warnings);
      setWarningHeaders(res, warnings);
      return send(res, 200, patched);
    }
    case 'DELETE': {
      const body = (await readJson(req, true)) as (DeleteOptions & { dryRun?: string[] }) | undefined;
      const opts: DeleteOptions = { ...body };
      if (body?.dryRun?.includes('All')) registry = new Registry(dryRunStore(registry.store), registry.admission); // kubectl sends it in DeleteOptions
      if (q.has('gracePeriodSeconds')) opts.gracePeriodSeconds = Number(q.get('gracePeriodSeconds'));
      return send(res, 200, await registry.delete(resource, namespace, name, opts));
    }
  }
  throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

function sendText(res: http.ServerResponse, code: number, text: string, contentType: string): void {
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function send(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: http.IncomingMessage, optional = false): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_BODY_BYTES}`);
    }
    chunks.push(chunk as Buffer);
  }
  let text: string;
  try {
    text = utf8.decode(Buffer.concat(chunks)); // not silently replaced: it would be stored
  } catch {
    throw badRequest('the request body is not valid UTF-8');
  }
  if (!text.trim()) {
    if (optional) return undefined;
    throw badRequest('the request body is empty');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
  // Everything after this (defaults, validation, merge patches) recurses into the object.
  if (nestedDeeperThan(body, MAX_NESTING_DEPTH)) throw badRequest(`the request body nests deeper than ${MAX_NESTING_DEPTH} levels`);
  return body;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

