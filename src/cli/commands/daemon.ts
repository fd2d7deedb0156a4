// `minipod daemon` (foreground) and `minipod daemon start|stop|status` (background).
// Whether a daemon runs is the daemon's lock on its home (src/daemon/lock.ts); the
// pid file that the daemon writes only says which process to signal.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '../../client/client.js';
import { defaultNodeName, minipodHome, paths } from '../../config.js';
import { UsageError } from '../output.js';
import { acquireDaemonLock, daemonLockHeld } from '../../daemon/lock.js';
import { logLevel, parseLogSize } from '../../daemon/logging.js';
import { type EtcdTls, type EtcdTlsFlags, etcdCredentials, etcdTlsFiles } from '../../store/etcd-tls.js';

export interface DaemonFlags extends EtcdTlsFlags {
  nodeName?: string;
  nodeLabels?: string;
  kubelet?: boolean;
  dockerHost?: string;
  listen?: string;
  tokenFile?: string;
  store?: string;
  leaderElectLeaseDuration?: string;
  nodeMonitorGracePeriod?: string;
  podSecurity?: string;
  allowHostPath?: string[];
  /** Removed: refused with a pointer to Pod Security. */
  allowPrivileged?: boolean;
  logLevel?: string;
  logMaxSize?: string;
}

/** --log-level and --log-max-size, checked before anything starts. */
export function logSettings(flags: { logLevel?: string; logMaxSize?: string }): { logLevel: string; logMaxBytes?: number } {
  try {
    return { logLevel: logLevel(flags.logLevel), logMaxBytes: flags.logMaxSize === undefined ? undefined : parseLogSize(flags.logMaxSize) };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The --pod-security level; --allow-privileged is gone, and says what replaced it. */
function podSecurityLevel(flags: DaemonFlags): 'privileged' | 'baseline' | 'restricted' {
  if (flags.allowPrivileged) {
    throw new UsageError(
      '--allow-privileged was removed: Pod Security Admission decides what pods may ask of the node. Start the daemon with --pod-security privileged, or label one namespace: minipod label namespace NS pod-security.kubernetes.io/enforce=privileged --overwrite',
    );
  }
  const level = flags.podSecurity ?? 'baseline';
  if (level !== 'privileged' && level !== 'baseline' && level !== 'restricted') {
    throw new UsageError(`invalid --pod-security "${level}": must be one of privileged, baseline, restricted`);
  }
  return level;
}

/** The --etcd-* files (or MINIPOD_ETCD_* variables), read now: a wrong one is named before the daemon starts. */
function etcdTls(flags: DaemonFlags): EtcdTls | undefined {
  try {
    const tls = etcdTlsFiles(flags.store, flags);
    etcdCredentials(tls);
    return tls;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A duration flag, else its environment variable, else undefined (the default). */
async function durationMs(flag: string | undefined, env: string, name: string): Promise<number | undefined> {
  const text = flag ?? process.env[env];
  if (text === undefined || text === '') return undefined;
  const { parseDuration } = await import('./apply.js');
  const ms = parseDuration(text);
  if (ms <= 0) throw new UsageError(`${name} must be positive, got "${text}"`);
  return ms;
}

export function parseKeyValues(text: string | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid ${flag} "${pair}": expected key=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export async function runForeground(flags: DaemonFlags): Promise<void> {
  const podSecurity = podSecurityLevel(flags);
  const logging = logSettings(flags);
  const tls = etcdTls(flags);
  const { runDaemon } = await import('../../daemon/daemon.js');
  mkdirSync(minipodHome(), { recursive: true, mode: 0o700 });
  const lock = acquireDaemonLock(minipodHome());
  if (!lock) throw new UsageError(`the minipod daemon is already running${pidNote()} on ${minipodHome()}`);
  const { NodeClaimRefused } = await import('../../kubelet/node-claim.js');
  const daemon = await runDaemon({
    nodeName: flags.nodeName ?? defaultNodeName(),
    nodeLabels: parseKeyValues(flags.nodeLabels, '--node-labels'),
    kubelet: flags.kubelet !== false,
    dockerHost: flags.dockerHost,
    listen: flags.listen,
    tokenFile: flags.tokenFile,
    podSecurity,
    allowHostPaths: flags.allowHostPath,
    store: flags.store,
    etcdTls: tls,
    leaseDurationMs: await durationMs(flags.leaderElectLeaseDuration, 'MINIPOD_LEADER_ELECT_LEASE_DURATION', '--leader-elect-lease-duration'),
    nodeMonitorGracePeriodMs: await durationMs(flags.nodeMonitorGracePeriod, 'MINIPOD_NODE_MONITOR_GRACE_PERIOD', '--node-monitor-grace-period'),
    ...logging,
  }).catch((err) => {
    lock.release();
    // Refused: a message, exit code 1, and nothing of the other daemon touched.
    if (err instanceof NodeClaimRefused) {
      console.error(`error: ${err.message}`);
      process.exit(1);
    }
    throw err;
  });
  writeFileSync(paths.pidFile(), String(process.pid), { mode: 0o600 });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await daemon.stop().catch((err) => void daemon.logger.error({ err }, 'stop failed'));
    rmSync(paths.pidFile(), { force: true });
    lock.release(); // also keeps the lock referenced (never collected) while the daemon runs
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('uncaughtException', (err) => {
    daemon.logger.fatal({ err }, 'uncaught exception');
  });
  process.on('unhandledRejection', (err) => {
    daemon.logger.error({ err }, 'unhandled rejection');
  });
  console.error(`minipod daemon running: socket ${paths.socket()}, log ${paths.logFile()}`);
  if (daemon.join) console.error(joinHint(daemon.join.server, daemon.join.caCertHash) + '\n' + KUBECTL_HINT);
}

/** What `minipod daemon` prints for the nodes to come, as `kubeadm init` does. */
function joinHint(server: string, hash: string): string {
  return (
    `API server on ${server}, cluster CA ${caFile()} (public key ${hash}). On another machine, with a copy of ${paths.joinToken()}:\n` +
    `  minipod node join --server ${server} --token-file ./join-token --ca-cert-hash ${hash} --name NODE`
  );
}

const caFile = () => join(minipodHome(), 'ca.crt');

/** How to point kubectl at the listener (see `minipod kubeconfig`). */
const KUBECTL_HINT = 'kubectl: minipod kubeconfig --merge';

/** `minipod daemon ca-hash`: the cluster CA's public key hash, for `node join --ca-cert-hash`. */
export async function caHash(): Promise<void> {
  if (!existsSync(caFile())) throw new UsageError(`there is no cluster CA in ${minipodHome()} yet: it is made when the daemon first starts with --listen`);
  const { caCertHash } = await import('../../api/cert-pins.js');
  console.log(caCertHash(readFileSync(caFile(), 'utf8')));
}

/** `minipod daemon rotate-certs [--ca]`: a new serving certificate (and, with --ca, a new cluster CA). */
export async function rotateCerts(opts: { ca?: boolean }): Promise<void> {
  mkdirSync(minipodHome(), { recursive: true, mode: 0o700 });
  const { rotateCertificates } = await import('../../api/pki.js');
  const { caCertHash } = await import('../../api/cert-pins.js');
  const { hosts, caCert } = await rotateCertificates(minipodHome(), { ca: opts.ca });
  console.log(`serving certificate ${join(minipodHome(), 'tls.crt')} issued for ${hosts.join(', ')}${running() ? ' (the running daemon serves it from its next connection)' : ''}`);
  if (opts.ca) {
    console.log(`new cluster CA ${caFile()}, public key ${caCertHash(caCert)}`);
    console.log(
      'Every node that joined before trusts the old CA and will refuse this API server: join each again with the new --ca-cert-hash (and a join token). ' +
        `kubectl must trust the new ${caFile()}; other control-plane daemons need a copy of ca.crt and ca.key.`,
    );
  }
}

function readPid(): number | undefined {
  try {
    const pid = Number(readFileSync(paths.pidFile(), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const pidNote = () => (readPid() ? ` (pid ${readPid()})` : '');
const running = () => daemonLockHeld(minipodHome());

async function healthy(): Promise<boolean> {
  if (!existsSync(paths.socket())) return false;
  const client = new Client({ socketPath: paths.socket() });
  try {
    await client.request('GET', '/healthz');
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

export async function start(flags: DaemonFlags): Promise<void> {
  const podSecurity = podSecurityLevel(flags);
  const logging = logSettings(flags);
  etcdTls(flags); // checked here too: the child's error would only reach its log
  if (running()) {
    console.log(`minipod daemon is already running${pidNote()}`);
    return;
  }
  mkdirSync(minipodHome(), { recursive: true, mode: 0o700 });
  const bin = fileURLToPath(new URL('../../../bin/minipod', import.meta.url));
  const args = [bin, 'daemon'];
  if (flags.nodeName) args.push('--node-name', flags.nodeName);
  if (flags.nodeLabels) args.push('--node-labels', flags.nodeLabels);
  if (flags.kubelet === false) args.push('--no-kubelet');
  if (flags.dockerHost) args.push('--docker-host', flags.dockerHost);
  if (flags.listen) args.push('--listen', flags.listen);
  if (flags.tokenFile) args.push('--token-file', flags.tokenFile);
  args.push('--pod-security', podSecurity);
  for (const prefix of flags.allowHostPath ?? []) args.push('--allow-host-path', prefix);
  if (flags.store) args.push('--store', flags.store);
  if (flags.etcdCafile) args.push('--etcd-cafile', flags.etcdCafile);
  if (flags.etcdCertfile) args.push('--etcd-certfile', flags.etcdCertfile);
  if (flags.etcdKeyfile) args.push('--etcd-keyfile', flags.etcdKeyfile);
  if (flags.leaderElectLeaseDuration) args.push('--leader-elect-lease-duration', flags.leaderElectLeaseDuration);
  if (flags.nodeMonitorGracePeriod) args.push('--node-monitor-grace-period', flags.nodeMonitorGracePeriod);
  args.push('--log-level', logging.logLevel);
  if (flags.logMaxSize) args.push('--log-max-size', flags.logMaxSize);
  const logStart = existsSync(paths.logFile()) ? statSync(paths.logFile()).size : 0;
  const out = openSync(paths.logFile(), 'a');
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out], env: process.env });
  child.unref();
  let exited = false;
  child.on('exit', () => (exited = true));
  // The pid file comes once the kubelet has started: the API answers before that, and a
  // kubelet refused its node name (another minipod serves it) ends the daemon after that.
  const ok = await until(async () => exited || (readPid() === child.pid && (await healthy())), 30_000);
  if (!ok || exited) {
    throw new UsageError(`the minipod daemon did not start${childError(logStart)}; see ${paths.logFile()}`);
  }
  console.log(`minipod daemon started (pid ${child.pid}), socket ${paths.socket()}`);
  if (flags.listen && existsSync(caFile())) {
    const { caCertHash } = await import('../../api/cert-pins.js');
    const m = /^(?:(.*):)?(\d+)$/.exec(flags.listen);
    const host = (m?.[1] ?? '').replace(/^\[|\]$/g, '') || '127.0.0.1';
    const shown = host === '0.0.0.0' || host === '::' ? 'HOST' : host.includes(':') ? `[${host}]` : host;
    console.log(joinHint(`https://${shown}:${m?.[2]}`, caCertHash(readFileSync(caFile(), 'utf8'))));
    console.log(KUBECTL_HINT);
  }
}

/** The child's own "error: …" line (e.g. etcd refused it), from what it added to the log. */
function childError(from: number): string {
  try {
    const added = readFileSync(paths.logFile()).subarray(from).toString('utf8');
    const line = added.split('\n').reverse().find((l) => l.startsWith('error: '));
    return line ? `: ${line.slice('error: '.length).replace(/\.$/, '')}` : '';
  } catch {
    return '';
  }
}

export async function stop(): Promise<void> {
  const pid = readPid();
  if (!running()) {
    rmSync(paths.pidFile(), { force: true });
    console.log('minipod daemon is not running');
    return;
  }
  if (!pid) throw new UsageError(`the minipod daemon holds ${minipodHome()} but its pid file ${paths.pidFile()} is missing`);
  const logStart = existsSync(paths.logFile()) ? statSync(paths.logFile()).size : 0;
  // The kubelet lets pods being deleted finish their grace period first (and says so).
  const graceMs = await terminatingGraceMs();
  if (graceMs !== undefined) console.log(`waiting for pods being deleted to finish their grace period (at most ${Math.ceil(graceMs / 1000)} s)`);
  const timeoutMs = 30_000 + (graceMs ?? 0);
  process.kill(pid, 'SIGTERM');
  if (!(await until(() => !running(), timeoutMs))) {
    throw new UsageError(`the minipod daemon (pid ${pid}) did not stop within ${Math.round(timeoutMs / 1000)} s`);
  }
  console.log(`minipod daemon stopped (pid ${pid})`);
  const left = podsLeftRunning(logStart);
  if (left) console.log(`${left} pod${left === 1 ? '' : 's'} keep${left === 1 ? 's' : ''} running; the next start adopts them`);
}

/** How long until the grace period of the last pod being deleted ends; undefined when none is. */
async function terminatingGraceMs(): Promise<number | undefined> {
  const client = new Client({ socketPath: paths.socket() });
  try {
    const ends = (await client.listPods(undefined)).items.map((p) => p.metadata.deletionTimestamp).filter((t): t is string => !!t).map((t) => Date.parse(t));
    return ends.length ? Math.max(0, Math.max(...ends) - Date.now()) : undefined;
  } catch {
    return undefined; // the API does not answer: the daemon's own stop decides
  } finally {
    client.close();
  }
}

/** What the daemon's last words in its log ("daemon stopped") say it left running. */
function podsLeftRunning(from: number): number {
  try {
    const added = readFileSync(paths.logFile()).subarray(from).toString('utf8').split('\n');
    for (const line of added.reverse()) {
      if (!line.includes('"daemon stopped"')) continue;
      return Number((JSON.parse(line) as { podsRunning?: number }).podsRunning ?? 0);
    }
  } catch {
    // no log, or not one we can read: say nothing
  }
  return 0;
}

export async function status(): Promise<void> {
  const pid = readPid();
  if (!(running() && (await healthy()))) {
    console.log('minipod daemon is not running');
    process.exitCode = 1;
    return;
  }
  console.log(`minipod daemon is running (pid ${pid}), socket ${paths.socket()}`);
  const { readDaemonStatus } = await import('../../daemon/status-file.js');
  const kept = readDaemonStatus();
  const s = kept?.pid === pid ? kept : undefined; // a file left by a daemon killed -9 says nothing of this one
  const rows: [string, string][] = [];
  if (s) rows.push(['uptime', uptime(Date.now() - Date.parse(s.startedAt))], ['store', s.store], ['node', s.node ?? '(none: --no-kubelet)']);
  rows.push(['pods', await podCount(s?.node)]);
  if (s) rows.push(['docker', s.docker ?? '(unknown)']);
  rows.push(['log', paths.logFile()]);
  for (const [k, v] of rows) console.log(`  ${(k + ':').padEnd(8)} ${v}`);
}

/** Pods in the cluster, and of them on this daemon's node, as the API counts them. */
async function podCount(node: string | undefined): Promise<string> {
  const client = new Client({ socketPath: paths.socket() });
  try {
    const pods = (await client.listPods()).items;
    const here = node ? pods.filter((p) => p.spec.nodeName === node).length : undefined;
    return here === undefined ? String(pods.length) : `${pods.length} (${here} on node ${node})`;
  } catch (err) {
    return `(the API did not answer: ${(err as Error).message})`;
  } finally {
    client.close();
  }
}

function uptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d}d${h}h` : h ? `${h}h${m}m` : m ? `${m}m${s % 60}s` : `${s}s`;
}
