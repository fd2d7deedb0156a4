// Lifecycle hook handlers (pkg/kubelet/lifecycle/handlers.go): exec inside the
// container, httpGet (only a transport error fails it: the status code is not
// checked), tcpSocket (a connection that opens), and sleep.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Container, LifecycleHandler } from '../api/types.js';
import type { DockerRuntime } from '../runtime/docker.js';

export interface HookTarget {
  containerId: string;
  podIP?: string;
  spec: Container;
}

export type HookResult = { ok: true } | { ok: false; message: string };

/** A port given by name is looked up among the container's ports. */
export function resolvePort(port: number | string, spec: Container): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const found = spec.ports?.find((p) => p.name === port);
  if (!found) throw new Error(`couldn't find port "${port}" in container "${spec.name}"`);
  return found.containerPort;
}

export async function runHook(runtime: DockerRuntime, handler: LifecycleHandler, target: HookTarget, timeoutMs: number): Promise<HookResult> {
  try {
    if (handler.exec) return await execHook(runtime, handler.exec.command, target, timeoutMs);
    if (handler.httpGet) return await httpHook(handler.httpGet, target, timeoutMs);
    if (handler.tcpSocket) return await tcpHook(handler.tcpSocket, target, timeoutMs);
    if (handler.sleep) {
      await new Promise((r) => setTimeout(r, Math.min(handler.sleep!.seconds * 1000, timeoutMs)));
      return { ok: true };
    }
    return { ok: false, message: 'the hook has no handler' };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

async function execHook(runtime: DockerRuntime, command: string[], target: HookTarget, timeoutMs: number): Promise<HookResult> {
  const res = await runtime.execIn(target.containerId, command, timeoutMs);
  if (res.timedOut) return { ok: false, message: `command '${command.join(' ')}' timed out after ${Math.round(timeoutMs / 1000)}s` };
  if (res.exitCode === 0) return { ok: true };
  return { ok: false, message: `command '${command.join(' ')}' exited with ${res.exitCode}: ${res.output}` };
}

function httpHook(action: NonNullable<LifecycleHandler['httpGet']>, target: HookTarget, timeoutMs: number): Promise<HookResult> {
  const host = action.host || target.podIP || '127.0.0.1';
  const port = resolvePort(action.port, target.spec);
  const scheme = (action.scheme ?? 'HTTP').toLowerCase();
  const headers: Record<string, string> = { 'User-Agent': 'kube-lifecycle/minipod' };
  for (const h of action.httpHeaders ?? []) headers[h.name] = h.value;
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${action.path ?? '/'}`;
  const get = scheme === 'https' ? https.get : http.get;
  return new Promise((resolve) => {
    const req = get(url, { headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve({ ok: true });
    });
    req.on('timeout', () => req.destroy(new Error(`Get "${url}": context deadline exceeded`)));
    req.on('error', (err) => resolve({ ok: false, message: `Get "${url}": ${err.message}` }));
  });
}

function tcpHook(action: NonNullable<LifecycleHandler['tcpSocket']>, target: HookTarget, timeoutMs: number): Promise<HookResult> {
  const host = action.host || target.podIP || '127.0.0.1';
  const port = resolvePort(action.port, target.spec);
  return new Promise((resolve) => {
    const sock = net.connect({ host, port, timeout: timeoutMs }, () => {
      sock.destroy();
      resolve({ ok: true });
    });
    sock.on('timeout', () => sock.destroy(new Error(`dial tcp ${host}:${port}: i/o timeout`)));
    sock.on('error', (err) => resolve({ ok: false, message: err.message }));
  });
}

/** kubelet's handler description in FailedPostStartHook/FailedPreStopHook messages. */
export function describeHandler(h: LifecycleHandler): string {
  if (h.exec) return `Exec lifecycle hook (${JSON.stringify(h.exec.command)})`;
  if (h.httpGet) return `HTTP lifecycle hook (${h.httpGet.path ?? '/'})`;
  if (h.tcpSocket) return `TCP lifecycle hook (${h.tcpSocket.port})`;
  return 'Sleep lifecycle hook';
}
