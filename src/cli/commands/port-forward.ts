// `minipod port-forward pod/NAME [LOCAL:]REMOTE [...] [--address ADDR]`, as kubectl
// does it: listen here, and tunnel each accepted connection through the API
// server's pods/portforward subresource to the pod's kubelet, which connects to
// the pod (client/portforward.ts has the protocol). Runs until Ctrl-C, or until
// the pod is gone.
import net from 'node:net';
import type { Pod } from '../../api/types.js';
import type { Client, WatchHandle } from '../../client/client.js';
import { forwardConnection } from '../../client/portforward.js';
import { connect } from '../connect.js';
import { UsageError } from '../output.js';
import { podName } from './logs.js';

export interface PortForwardOptions {
  address?: string[];
  namespace?: string;
}

/** One LOCAL:REMOTE pair; `remote` is a container port's name until resolved. */
export interface PortSpec {
  local: number;
  remote: number | string;
  /** No LOCAL given: it is the remote port's number. */
  localFromRemote: boolean;
}

/** Go's strconv.ParseUint(s, 10, 16) error, or the number. */
function uint16(s: string): number | string {
  if (!/^\d+$/.test(s)) return `strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`;
  const n = Number(s);
  return n > 65535 ? `strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range` : n;
}

/** `[LOCAL:]REMOTE`, as kubectl splits and checks it (client-go portforward parsePorts). */
export function parsePortSpec(spec: string): PortSpec {
  const parts = spec.split(':');
  if (parts.length > 2) throw new UsageError(`invalid port format '${spec}'`);
  const [localText, remoteText] = parts.length === 1 ? [parts[0], parts[0]] : [parts[0] || '0', parts[1]];
  // A remote port that is not a number names a container port (convertPodNamedPortToNumber).
  const named = !/^-?\d+$/.test(remoteText);
  let remote: number | string = remoteText;
  if (!named) {
    remote = uint16(remoteText);
    if (typeof remote === 'string') throw new UsageError(`error parsing remote port '${remoteText}': ${remote}`);
    if (remote === 0) throw new UsageError('remote port must be > 0');
  }
  if (parts.length === 1) return { local: named ? 0 : (remote as number), remote, localFromRemote: true };
  const local = uint16(localText);
  if (typeof local === 'string') throw new UsageError(`error parsing local port '${localText}': ${local}`);
  return { local, remote, localFromRemote: false };
}

interface ListenAddress {
  host: string;
  family: 4 | 6;
  /** "all": localhost's pair, where one of the two is enough; "any": an address asked for by name. */
  failureMode: 'all' | 'any';
}

/** --address: IPs, or localhost for both 127.0.0.1 and ::1 (client-go parseAddresses). */
export function parseAddresses(values: string[]): ListenAddress[] {
  const out: ListenAddress[] = [];
  const add = (a: ListenAddress) => !out.some((o) => o.host === a.host) && out.push(a);
  for (const value of values.flatMap((v) => v.split(','))) {
    const addr = value.trim();
    if (addr === 'localhost') {
      add({ host: '127.0.0.1', family: 4, failureMode: 'all' });
      add({ host: '::1', family: 6, failureMode: 'all' });
    } else if (net.isIP(addr)) {
      add({ host: addr, family: net.isIP(addr) as 4 | 6, failureMode: 'any' });
    } else {
      throw new UsageError(`${addr} is not a valid IP`);
    }
  }
  return out;
}

/** kubectl's LookupContainerPortNumberByName. */
function resolvePort(pod: Pod, spec: PortSpec): { local: number; remote: number } {
  if (typeof spec.remote === 'number') return { local: spec.local, remote: spec.remote };
  const port = pod.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === spec.remote);
  if (!port) throw new UsageError(`Pod '${pod.metadata.name}' does not have a named port '${spec.remote}'`);
  return { local: spec.localFromRemote ? port.containerPort : spec.local, remote: port.containerPort };
}

function bindError(addr: ListenAddress, port: number, err: NodeJS.ErrnoException): string {
  const where = `${addr.family === 6 ? `[${addr.host}]` : addr.host}:${port}`;
  const why: Record<string, string> = {
    EADDRINUSE: 'bind: address already in use',
    EACCES: 'bind: permission denied',
    EADDRNOTAVAIL: 'bind: cannot assign requested address',
    EAFNOSUPPORT: 'socket: address family not supported by protocol',
  };
  return `unable to create listener: Error listen tcp${addr.family} ${where}: ${why[err.code ?? ''] ?? err.message}`;
}

function listen(server: net.Server, addr: ListenAddress, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(bindError(addr, port, err))));
    server.listen({ host: addr.host, port, ipv6Only: addr.family === 6 }, () => resolve((server.address() as net.AddressInfo).port));
  });
}

/**
 * Resolves when the pod is gone or has finished (kubectl's "lost connection to
 * pod"), following the pod through watches; stop() ends the following.
 */
function watchPodGone(client: Client, ns: string, name: string, resourceVersion: string | undefined): { gone: Promise<void>; stop(): void } {
  let stopped = false;
  let current: WatchHandle | undefined;
  const gone = (async () => {
    let rv = resourceVersion;
    while (!stopped) {
      let ended = false;
      let refresh = false;
      current = client.watch<Pod>('pods', ns, { fieldSelector: `metadata.name=${name}`, resourceVersion: rv }, (e) => {
        if (e.type === 'BOOKMARK') return;
        if (e.type === 'ERROR') {
          refresh = true; // e.g. 410 Gone: read the pod again and go on from there
          current?.stop();
          return;
        }
        rv = e.object.metadata.resourceVersion ?? rv;
        const phase = e.object.status?.phase;
        if (e.type === 'DELETED' || phase === 'Succeeded' || phase === 'Failed') {
          ended = true;
          current?.stop();
        }
      });
      await current.done; // rejects when the daemon cannot be reached: the tunnel is lost too
      if (ended) return;
      if (refresh && !stopped) {
        const pod = await client.getPod(ns, name).catch(() => undefined);
        if (!pod || pod.status?.phase !== 'Running') return;
        rv = pod.metadata.resourceVersion;
      }
    }
  })();
  return {
    gone,
    stop: () => {
      stopped = true;
      current?.stop();
    },
  };
}

export async function portForward(args: string[], opts: PortForwardOptions): Promise<void> {
  if (args.length < 2) throw new UsageError("TYPE/NAME and list of ports are required for port-forward\nSee 'minipod port-forward -h' for help and examples");
  const name = podName(args[0]);
  const specs = args.slice(1).map(parsePortSpec);
  const addresses = parseAddresses(opts.address?.length ? opts.address : ['localhost']);
  const ns = opts.namespace ?? 'default';

  const client = connect();
  const servers: net.Server[] = [];
  const connections = new Set<net.Socket>();
  let watch: ReturnType<typeof watchPodGone> | undefined;
  let onSignal: (() => void) | undefined;
  try {
    const pod = await client.getPod(ns, name);
    const ports = specs.map((s) => resolvePort(pod, s));
    const phase = pod.status?.phase;
    if (phase !== 'Running') throw new UsageError(`unable to forward port because pod is not running. Current status=${phase ?? ''}`);

    let listening = false;
    for (const port of ports) {
      const errors: string[] = [];
      const counts = { all: { ok: 0, failed: 0 }, any: { ok: 0, failed: 0 } };
      for (const addr of addresses) {
        const server = net.createServer({ allowHalfOpen: true }, (conn) => {
          connections.add(conn);
          conn.on('close', () => connections.delete(conn));
          process.stdout.write(`Handling connection for ${port.local}\n`);
          forwardConnection(client, ns, name, port.remote, conn).catch((err: Error) => {
            process.stderr.write(`an error occurred forwarding ${port.local} -> ${port.remote}: ${err.message}\n`);
          });
        });
        try {
          port.local = await listen(server, addr, port.local); // a random port (0) is then the same on every address
          servers.push(server);
          counts[addr.failureMode].ok++;
          process.stdout.write(`Forwarding from ${addr.family === 6 ? `[${addr.host}]` : addr.host}:${port.local} -> ${port.remote}\n`);
        } catch (err) {
          errors.push((err as Error).message);
          counts[addr.failureMode].failed++;
        }
      }
      if ((counts.all.ok === 0 && counts.all.failed > 0) || counts.any.failed > 0) {
        process.stderr.write(`Unable to listen on port ${port.local}: Listeners failed to create with the following errors: [${errors.join(' ')}]\n`);
      } else {
        listening = true;
      }
    }
    if (!listening) throw new UsageError(`unable to listen on any of the requested ports: [${ports.map((p) => `{${p.local} ${p.remote}}`).join(' ')}]`);

    watch = watchPodGone(client, ns, name, pod.metadata.resourceVersion);
    const interrupted = new Promise<void>((resolve) => {
      onSignal = resolve;
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    const lost = watch.gone.then(
      () => 'lost' as const,
      () => 'lost' as const,
    );
    if ((await Promise.race([interrupted.then(() => 'interrupted' as const), lost])) === 'lost') {
      throw new UsageError('lost connection to pod');
    }
  } finally {
    if (onSignal) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    watch?.stop();
    for (const s of servers) s.close();
    for (const c of connections) c.destroy();
    client.close();
  }
}
