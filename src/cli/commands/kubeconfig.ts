// `minipod kubeconfig [--merge]`: kubectl set up in one command, as `kind export
// kubeconfig` does. The address comes from what the running daemon recorded
// (daemon.json: its TCP listener and its admin token's file), not from guessing
// at flags it was started with.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { minipodHome, paths } from '../../config.js';
import { pkiFiles } from '../../api/pki-files.js';
import { daemonLockFile, lockHeld } from '../../daemon/lock.js';
import { readDaemonStatus } from '../../daemon/status-file.js';
import { KubeconfigError, type MinipodEntry, kubeconfigText, mergeKubeconfig } from '../kubeconfig/config.js';
import { followSymlinks, kubeconfigPath, readKubeconfig, writeKubeconfig } from '../kubeconfig/file.js';
import { UsageError } from '../output.js';

export interface KubeconfigFlags {
  merge?: boolean;
  /** false with --no-switch: keep kubectl's current context. */
  switch?: boolean;
  server?: string;
  name?: string;
}

const RESTART = 'minipod daemon stop && minipod daemon start --listen 127.0.0.1:6443';
/** Whether a daemon runs; only looks (a missing home or lock file is not created). */
const running = () => lockHeld(daemonLockFile(minipodHome()), true);

export async function kubeconfig(flags: KubeconfigFlags): Promise<void> {
  const name = flags.name ?? 'minipod';
  if (!name.trim()) throw new UsageError('--name must not be empty');
  const listener = findListener(flags.server);
  const entry: MinipodEntry = { name, server: listener.server, caPem: readCa(), token: readToken(listener.tokenFile) };
  if (flags.server) warnIfNotNamed(flags.server);
  if (!flags.merge) {
    process.stdout.write(kubeconfigText(entry));
    return;
  }
  const shown = kubeconfigPath();
  const file = followSymlinks(shown);
  let merged;
  try {
    merged = mergeKubeconfig(readKubeconfig(file), entry, { switchContext: flags.switch !== false, file });
  } catch (err) {
    if (err instanceof KubeconfigError) throw new UsageError(err.message);
    throw err;
  }
  writeKubeconfig(file, merged.text);
  const where = file === shown ? shown : `${shown} (a link to ${file})`;
  console.log(`${merged.replaced ? 'Updated' : 'Added'} cluster, user and context "${name}" (${entry.server}) in ${where}`);
  if (flags.switch !== false) console.log(`Set kubectl context to "${name}"`);
  else console.log(`kubectl context left as ${merged.currentContext ? `"${merged.currentContext}"` : '(none)'}; use minipod with: kubectl --context ${name} …, or kubectl config use-context ${name}`);
}

/** The server URL and token file: --server, else the running daemon's TCP listener. */
function findListener(server: string | undefined): { server: string; tokenFile: string } {
  const status = liveStatus();
  if (server !== undefined) return { server: checkServer(server), tokenFile: status?.listen?.tokenFile ?? paths.token() };
  if (!running()) throw new UsageError(`the minipod daemon is not running on ${minipodHome()}: start it with: minipod daemon start --listen 127.0.0.1:6443`);
  if (!status) throw new UsageError(`the minipod daemon has not recorded where it listens (it is starting, or older than this CLI): try again, or restart it with: ${RESTART}`);
  if (!status.listen) throw new UsageError(`the minipod daemon (pid ${status.pid}) does not listen on TCP, which kubectl needs: restart it with --listen: ${RESTART}`);
  return status.listen;
}

/** daemon.json, if the daemon that wrote it is the one running (a kill -9 leaves a stale one). */
function liveStatus() {
  const s = readDaemonStatus();
  if (!s || !running()) return undefined;
  let pid: number | undefined;
  try {
    pid = Number(readFileSync(paths.pidFile(), 'utf8').trim()) || undefined;
  } catch {
    pid = undefined; // written a moment after daemon.json
  }
  if (pid !== undefined && pid !== s.pid) return undefined;
  try {
    process.kill(s.pid, 0);
    return s;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? s : undefined;
  }
}

function checkServer(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--server wants https://HOST:PORT, got "${text}"`);
  }
  // kubectl sends a bearer token only over TLS: an http:// kubeconfig would fail with a confusing 401.
  if (url.protocol !== 'https:' || !url.hostname) throw new UsageError(`--server wants https://HOST:PORT (kubectl sends the token only over TLS), got "${text}"`);
  return text.replace(/\/+$/, '');
}

function readCa(): string {
  const file = pkiFiles(minipodHome()).caCert;
  if (!existsSync(file)) throw new UsageError(`there is no cluster CA at ${file}: it is made when the daemon first starts with --listen`);
  return readFileSync(file, 'utf8');
}

/** The admin token; errors name the file, never the content. */
function readToken(file: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`cannot read the admin token file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!token) throw new UsageError(`the admin token file ${file} is empty`);
  return token;
}

/** kubectl checks the server's certificate against the URL's host: say so now rather than at its first request. */
function warnIfNotNamed(server: string): void {
  const host = new URL(server).hostname.replace(/^\[|\]$/g, '');
  const certFile = pkiFiles(minipodHome()).cert;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(certFile));
  } catch {
    return; // no certificate yet: the daemon issues one for its --listen host
  }
  const named = net.isIP(host) ? cert.checkIP(host) : cert.checkHost(host);
  if (named === undefined) {
    console.error(`warning: the API server's certificate ${certFile} does not name ${host}, so kubectl will refuse it: start the daemon with --listen ${host}:PORT (or 0.0.0.0:PORT for all of this machine's addresses)`);
  }
}
