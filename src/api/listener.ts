// Limits on a TCP listener, so that idle, slow or half-open peers cannot hold the
// API server or the kubelet's endpoint: a deadline for the first request's headers
// (before the TLS/HTTP sniff as well as after it), a keep-alive idle deadline and
// a cap on open connections. The numbers follow the kube-apiserver's serving
// defaults (32 s to read a request's headers).
import type http from 'node:http';
import type net from 'node:net';

export interface ListenerLimits {
  /** Time a new connection has to send a request's headers. */
  headersTimeoutMs: number;
  /** Time an idle keep-alive connection is kept. */
  keepAliveTimeoutMs: number;
  /** Open connections at most; more are closed as they arrive. */
  maxConnections: number;
}

export function listenerLimits(env: NodeJS.ProcessEnv = process.env): ListenerLimits {
  // The environment override exists for tests, which cannot wait 32 s for a deadline.
  const headers = Number(env.MINIPOD_HEADERS_TIMEOUT_MS) || 32_000;
  return { headersTimeoutMs: headers, keepAliveTimeoutMs: 60_000, maxConnections: Number(env.MINIPOD_MAX_CONNECTIONS) || 4096 };
}

/** Options for http.createServer: how often expired connections are looked for. */
export function serverOptions(limits: ListenerLimits): http.ServerOptions {
  return { connectionsCheckingInterval: Math.min(30_000, Math.max(100, limits.headersTimeoutMs / 4)) };
}

export function applyLimits(server: http.Server, limits: ListenerLimits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = 0; // a watch or an exec stream may last for hours; headersTimeout bounds the request line
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
}

/**
 * Closes `socket` unless `done` is called within the headers deadline: for the
 * bytes before the HTTP parser sees the connection (the TLS sniff and handshake).
 */
export function deadline(socket: net.Socket, limits: ListenerLimits): () => void {
  const timer = setTimeout(() => socket.destroy(), limits.headersTimeoutMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  return () => clearTimeout(timer);
}
