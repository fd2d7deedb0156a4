// The container runtime: a CRI-like surface over Docker Engine. This is the only
// module that talks to Docker. Every object it creates carries the labels below,
// so that the kubelet can rebuild its whole state from Docker after a restart.
import Docker from 'dockerode';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { type Duplex, PassThrough, type Readable, Writable, pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type ContainerKind, LABEL, type NodeClaim, type Owner, type PodRef, claimFromLabels, claimLabels, claimVolumeName, ownContainer, ownEvent, podContainerFilter, podContainerLabels } from './labels.js';

export const PAUSE_IMAGE = 'minipod/pause:1';

export { LABEL };
export type { ContainerKind, PodRef };

/** What the kubelet knows of one Docker container, from its labels and state. */
export interface RuntimeContainer {
  id: string;
  name: string; // the pod's container name ("POD" for the sandbox)
  kind: ContainerKind;
  pod: PodRef;
  attempt: number;
  hash: string;
  sandboxId: string; // the pause container this one joined ('' for a sandbox)
  image: string;
  imageID: string;
  state: 'created' | 'running' | 'exited' | 'unknown';
  exitCode: number;
  oomKilled: boolean;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  ip?: string;
  error?: string;
  /** The termination message, filled in by the kubelet from terminationMessagePath or the logs. */
  message?: string;
}

export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
}

export interface ContainerConfig {
  name: string;
  kind: ContainerKind;
  attempt: number;
  hash: string;
  image: string;
  entrypoint?: string[];
  cmd?: string[];
  env: string[];
  workingDir?: string;
  mounts: Mount[];
  user?: string;
  readOnlyRootfs?: boolean;
  /** cgroup settings, as the kubelet computes them (src/kubelet/resources.ts). */
  cpuShares?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  memoryBytes?: number;
  memorySwapBytes?: number;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  noNewPrivileges?: boolean;
  /** Unset or RuntimeDefault: Docker's default profile; Localhost carries the profile's JSON text. */
  seccomp?: SeccompConfig;
  tty?: boolean;
  stdin?: boolean;
  groupAdd?: string[];
}

export type SeccompConfig = { type: 'RuntimeDefault' } | { type: 'Unconfined' } | { type: 'Localhost'; json: string };

/**
 * HostConfig.SecurityOpt of a container. Docker's API takes a seccomp profile's
 * content, not its path. A privileged container gets no seccomp option: Docker runs
 * it unconfined anyway (and newer Docker would apply a custom profile, which the
 * kubelet's runtimes never do for privileged containers).
 */
export function securityOpts(cfg: Pick<ContainerConfig, 'noNewPrivileges' | 'privileged' | 'seccomp'>): string[] | undefined {
  const opts: string[] = [];
  if (cfg.noNewPrivileges) opts.push('no-new-privileges');
  if (!cfg.privileged && cfg.seccomp?.type === 'Unconfined') opts.push('seccomp=unconfined');
  if (!cfg.privileged && cfg.seccomp?.type === 'Localhost') opts.push(`seccomp=${cfg.seccomp.json}`);
  return opts.length ? opts : undefined;
}

export interface SandboxConfig {
  hostname: string;
  hostNetwork: boolean;
  ports: { containerPort: number; hostPort: number; hostIP: string; protocol: string }[];
  attempt: number;
}

export interface ContainerEvent {
  action: string; // die, start, oom, destroy
  id: string;
  podUid: string;
  container: string;
  exitCode?: number;
}

export interface PullProgress {
  current: number; // bytes downloaded so far, over all layers
  total: number; // bytes to download, over the layers known so far
}

export interface ExecResult {
  exitCode: number;
  output: string;
  timedOut: boolean;
}

export class ImageError extends Error {
  constructor(
    readonly reason: 'ErrImagePull' | 'ErrImageNeverPull' | 'InvalidImageName',
    message: string,
  ) {
    super(message);
  }
}

const exec = promisify(execFile);

export class DockerRuntime {
  readonly docker: Docker;
  /**
   * Inspections of running and exited containers, reused while Docker's list shows
   * the same state and no event of the container came: what an inspect tells of
   * them does not change until then. Only while an event stream is live (watchEvents):
   * Docker sends "die" before its list shows the exit, so the event must drop the
   * entry. (A created container is inspected every time: a failed start leaves it
   * "created" with an exit code and an error.) Saves an inspect per container on
   * every pod sync.
   */
  private inspected = new Map<string, { state: string; info: RuntimeContainer }>();
  private liveEventStreams = 0;
  private eventsSeen = 0; // an inspect answered across an event is not kept

  /**
   * The cluster this runtime works for (the kubelet learns it from the API before
   * it touches Docker): its objects carry it, and only its objects are listed.
   */
  cluster?: string;

  constructor(
    readonly nodeName: string,
    dockerHost?: string,
  ) {
    this.docker = new Docker(dockerOptions(dockerHost));
  }

  private get owner(): Owner {
    if (!this.cluster) throw new Error('the runtime does not know its cluster yet');
    return { cluster: this.cluster, node: this.nodeName };
  }

  async ping(): Promise<void> {
    await this.docker.ping();
  }

  async version(): Promise<string> {
    return (await this.docker.version()).Version;
  }

  private podLabels(pod: PodRef, name: string, kind: ContainerKind, attempt: number, hash: string): Record<string, string> {
    return podContainerLabels(this.owner, pod, name, kind, attempt, hash);
  }

  /**
   * Creates and starts the pause container that holds the pod's namespaces.
   * `whileStarting` runs during its start: work that needs the sandbox to exist,
   * not to run, such as creating the containers that join it.
   */
  async runSandbox(pod: PodRef, cfg: SandboxConfig, whileStarting?: (sandboxId: string) => Promise<void>): Promise<RuntimeContainer> {
    await this.ensurePauseImage();
    const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    const exposed: Record<string, object> = {};
    for (const p of cfg.ports) {
      const key = `${p.containerPort}/${p.protocol.toLowerCase()}`;
      exposed[key] = {};
      (portBindings[key] ??= []).push({ HostIp: p.hostIP, HostPort: String(p.hostPort) });
    }
    const container = await this.docker.createContainer({
      name: dockerName(pod, 'POD', cfg.attempt),
      Image: PAUSE_IMAGE,
      Hostname: cfg.hostNetwork ? undefined : cfg.hostname,
      Labels: this.podLabels(pod, 'POD', 'sandbox', cfg.attempt, ''),
      ExposedPorts: exposed,
      HostConfig: {
        IpcMode: 'shareable',
        NetworkMode: cfg.hostNetwork ? 'host' : 'bridge',
        PortBindings: portBindings,
        RestartPolicy: { Name: 'no' },
      },
    });
    const [started, other] = await Promise.allSettled([container.start(), whileStarting?.(container.id)]);
    if (started.status === 'rejected') throw started.reason;
    if (other.status === 'rejected') throw other.reason;
    return this.inspectAndKeep(container.id, 'running');
  }

  /** Creates (does not start) a container joined to the sandbox's namespaces. */
  async createContainer(pod: PodRef, sandbox: RuntimeContainer, cfg: ContainerConfig, shareProcessNamespace: boolean): Promise<string> {
    const join = `container:${sandbox.id}`;
    const c = await this.docker.createContainer({
      name: dockerName(pod, cfg.name, cfg.attempt),
      Image: cfg.image,
      Entrypoint: cfg.entrypoint,
      Cmd: cfg.cmd,
      Env: cfg.env,
      WorkingDir: cfg.workingDir,
      User: cfg.user,
      Tty: cfg.tty,
      OpenStdin: cfg.stdin,
      StdinOnce: false,
      Labels: { ...this.podLabels(pod, cfg.name, cfg.kind, cfg.attempt, cfg.hash), [LABEL.sandbox]: sandbox.id },
      HostConfig: {
        NetworkMode: join,
        IpcMode: join,
        PidMode: shareProcessNamespace ? join : undefined,
        Binds: cfg.mounts.map((m) => `${m.hostPath}:${m.containerPath}${m.readOnly ? ':ro' : ''}`),
        ReadonlyRootfs: cfg.readOnlyRootfs,
        CpuShares: cfg.cpuShares,
        CpuPeriod: cfg.cpuPeriod,
        CpuQuota: cfg.cpuQuota,
        Memory: cfg.memoryBytes,
        MemorySwap: cfg.memorySwapBytes,
        CapAdd: cfg.capAdd,
        CapDrop: cfg.capDrop,
        Privileged: cfg.privileged,
        SecurityOpt: securityOpts(cfg),
        GroupAdd: cfg.groupAdd,
        RestartPolicy: { Name: 'no' },
      },
    });
    return c.id;
  }

  async startContainer(id: string): Promise<void> {
    await this.docker.getContainer(id).start();
  }

  /** SIGTERM (or the image's stop signal), then SIGKILL after `graceSeconds`. */
  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.round(graceSeconds)) });
    } catch (err) {
      if (!isGone(err) && !isNotModified(err)) throw err;
    }
  }

  async removeContainer(id: string): Promise<void> {
    this.inspected.delete(id);
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      if (!isGone(err) && !isRemovalInProgress(err)) throw err;
    }
  }

  /**
   * Runs a command inside a running container (hooks, exec probes). Output is
   * capped at `maxOutput` bytes; at the timeout the result is { timedOut: true }
   * and the exec's processes are killed (see killExec), so hung probes do not pile up.
   */
  async execIn(id: string, cmd: string[], timeoutMs: number, maxOutput = 10 * 1024): Promise<ExecResult> {
    const exec = await this.docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false });
    const stream = await exec.start({ hijack: true, stdin: false });
    let output = '';
    const collect = (chunk: Buffer) => {
      if (output.length < maxOutput) output += chunk.toString('utf8').slice(0, maxOutput - output.length);
    };
    const sink = { write: (c: Buffer) => (collect(c), true) } as unknown as NodeJS.WritableStream;
    this.docker.modem.demuxStream(stream, sink, sink);
    const ended = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      ended.then(() => false),
      // Capped at 2^31-1 ms: beyond that Node fires the timer after 1 ms.
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), Math.min(timeoutMs, 2 ** 31 - 1)))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      (stream as unknown as { destroy(): void }).destroy();
      await killExec(id, exec);
      return { exitCode: -1, output, timedOut: true };
    }
    const info = await exec.inspect();
    return { exitCode: info.ExitCode ?? -1, output, timedOut: false };
  }

  /** The last `lines` lines of a container's output (for FallbackToLogsOnError). */
  async tailLogs(id: string, lines: number): Promise<string> {
    const buf = (await this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    // Without a TTY the stream is multiplexed: 8-byte frame headers before each chunk.
    const out: Buffer[] = [];
    for (let i = 0; i + 8 <= buf.length; ) {
      const size = buf.readUInt32BE(i + 4);
      out.push(buf.subarray(i + 8, i + 8 + size));
      i += 8 + size;
    }
    return Buffer.concat(out).toString('utf8');
  }

  async inspect(id: string): Promise<RuntimeContainer> {
    return fromInspect(await this.docker.getContainer(id).inspect());
  }

  /**
   * Every container of this cluster's node (or of one pod), newest attempt last.
   * An older minipod's container (no cluster label) is listed only with its pod's
   * uid, which the caller got from the API: it is adopted, never taken for an orphan.
   */
  async listContainers(podUid?: string): Promise<RuntimeContainer[]> {
    const owner = this.owner;
    const all = await this.docker.listContainers({ all: true, filters: { label: podContainerFilter(this.nodeName, podUid) } });
    const list = all.filter((c) => ownContainer(c.Labels, owner, podUid ? (uid) => uid === podUid : undefined));
    const listed = new Set(list.map((c) => c.Id));
    for (const [id, e] of this.inspected) if (!listed.has(id) && (!podUid || e.info.pod.uid === podUid)) this.inspected.delete(id);
    const out = await Promise.all(
      list.map((c) => {
        const kept = this.liveEventStreams > 0 ? this.inspected.get(c.Id) : undefined;
        if (kept && kept.state === c.State) return { ...kept.info, pod: { ...kept.info.pod } };
        return this.inspectAndKeep(c.Id, c.State).catch((err) => {
          if (isGone(err)) return undefined;
          throw err;
        });
      }),
    );
    return out.filter((c): c is RuntimeContainer => !!c).sort((a, b) => a.attempt - b.attempt);
  }

  /** inspect(), kept for later lists when it agrees with the state Docker listed. */
  private async inspectAndKeep(id: string, listedState: string): Promise<RuntimeContainer> {
    const events = this.eventsSeen;
    const info = await this.docker.getContainer(id).inspect();
    const c = fromInspect(info);
    if (this.liveEventStreams > 0 && events === this.eventsSeen && info.State.Status === listedState && (listedState === 'running' || listedState === 'exited')) {
      this.inspected.set(id, { state: listedState, info: { ...c, pod: { ...c.pod } } });
    }
    return c;
  }

  async imagePresent(image: string): Promise<{ id: string; size: number } | undefined> {
    try {
      const info = await this.docker.getImage(image).inspect();
      return { id: info.Id, size: info.Size };
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
  }

  /** The user an image runs as (its config's User: "", a name or uid, maybe ":group"). */
  async imageUser(image: string): Promise<string> {
    const info = await this.docker.getImage(image).inspect();
    return info.Config?.User ?? '';
  }

  /** Pulls an image; resolves with the pulled image's id and size. */
  async pullImage(image: string, onProgress?: (p: PullProgress) => void): Promise<{ id: string; size: number }> {
    const ref = image.includes(':') || image.includes('@') ? image : `${image}:latest`;
    const layers = new Map<string, { current: number; total: number }>();
    const progress = (e: { id?: string; status?: string; progressDetail?: { current?: number; total?: number } }) => {
      if (!onProgress || !e.id) return;
      const d = e.progressDetail ?? {};
      const layer = layers.get(e.id) ?? { current: 0, total: 0 };
      if (e.status === 'Downloading' && d.total) layers.set(e.id, { current: d.current ?? 0, total: d.total });
      else if ((e.status === 'Download complete' || e.status === 'Pull complete' || e.status === 'Already exists') && layer.total) layers.set(e.id, { current: layer.total, total: layer.total });
      else return;
      let current = 0;
      let total = 0;
      for (const l of layers.values()) {
        current += l.current;
        total += l.total;
      }
      onProgress({ current, total });
    };
    try {
      const stream = await this.docker.pull(ref);
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (err: Error | null, output: { error?: string }[]) => {
            const failed = err ?? output.find((o) => o.error);
            if (failed) reject(new Error(err ? err.message : (failed as { error: string }).error));
            else resolve();
          },
          progress,
        );
      });
    } catch (err) {
      throw new ImageError('ErrImagePull', `failed to pull image "${image}": ${dockerMessage(err)}`);
    }
    const present = await this.imagePresent(ref);
    if (!present) throw new ImageError('ErrImagePull', `image "${image}" is missing after its pull`);
    return present;
  }

  /** Builds the pause image from images/pause/pause.c when it is missing. */
  async ensurePauseImage(): Promise<void> {
    if (await this.imagePresent(PAUSE_IMAGE)) return;
    const script = fileURLToPath(new URL('../../scripts/build-images.sh', import.meta.url));
    await exec('bash', [script, 'pause'], { env: { ...process.env, DOCKER_HOST: this.dockerHostEnv() } });
  }

  private dockerHostEnv(): string {
    const o = this.docker.modem as unknown as { socketPath?: string; host?: string; port?: number };
    return o.socketPath ? `unix://${o.socketPath}` : `tcp://${o.host}:${o.port}`;
  }

  /**
   * Follows Docker's event stream for this node's containers and calls `onEvent`
   * for each die/start/oom/destroy. Reconnects when the stream breaks (e.g. dockerd
   * restarts); `onReconnect` lets the caller resync what it may have missed.
   */
  watchEvents(onEvent: (e: ContainerEvent) => void, onReconnect: () => void): { stop(): void } {
    let stopped = false;
    let current: NodeJS.ReadableStream | undefined;
    const owner = this.owner;
    const connect = async (first: boolean) => {
      while (!stopped) {
        try {
          const stream = (await this.docker.getEvents({
            filters: { type: ['container'], label: podContainerFilter(this.nodeName), event: ['die', 'start', 'oom', 'destroy'] },
          })) as NodeJS.ReadableStream;
          current = stream;
          this.inspected.clear(); // events may have been missed while no stream ran
          this.liveEventStreams++;
          if (!first) onReconnect();
          first = false;
          let buf = '';
          stream.on('data', (chunk: Buffer) => {
            buf += chunk.toString('utf8');
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              if (!line.trim()) continue;
              const ev = JSON.parse(line) as { Action: string; id: string; Actor: { Attributes: Record<string, string> } };
              const attrs = ev.Actor?.Attributes ?? {};
              this.inspected.delete(ev.id); // its state changes: inspect it again
              this.eventsSeen++;
              if (!ownEvent(attrs, owner)) continue; // another cluster's container on a node of the same name
              onEvent({
                action: ev.Action,
                id: ev.id,
                podUid: attrs[LABEL.podUid] ?? '',
                container: attrs[LABEL.container] ?? '',
                exitCode: attrs.exitCode !== undefined ? Number(attrs.exitCode) : undefined,
              });
            }
          });
          await new Promise<void>((resolve) => {
            stream.on('end', resolve);
            stream.on('error', resolve);
            stream.on('close', resolve);
          });
          this.liveEventStreams--;
          this.inspected.clear();
        } catch {
          // Docker is unreachable: try again shortly.
        }
        if (!stopped) await new Promise((r) => setTimeout(r, 500));
      }
    };
    void connect(true);
    return {
      stop: () => {
        stopped = true;
        (current as unknown as { destroy?: () => void })?.destroy?.();
      },
    };
  }

  // --- node claims (src/kubelet/node-claim.ts decides; these only keep them in Docker)

  /** The claim on a node name on this engine, if any. */
  async getClaim(node: string): Promise<NodeClaim | undefined> {
    try {
      const info = await this.docker.getVolume(claimVolumeName(node)).inspect();
      return claimFromLabels(info.Labels ?? undefined);
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
  }

  /**
   * Creates the claim unless one exists, and answers the claim Docker now holds:
   * Docker's volume create returns an existing volume of that name unchanged, so of
   * two claimants exactly one finds its own labels.
   */
  async createClaim(claim: NodeClaim): Promise<NodeClaim | undefined> {
    const vol = await this.docker.createVolume({ Name: claimVolumeName(claim.node), Labels: claimLabels(claim) });
    return claimFromLabels(((await vol.inspect()) as { Labels?: Record<string, string> }).Labels);
  }

  async removeClaim(node: string): Promise<void> {
    try {
      await this.docker.getVolume(claimVolumeName(node)).remove();
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }

  /**
   * A container's log (`kubectl logs`): stdout and stderr as one stream, in the
   * order Docker recorded them. With `follow` it stays open until the container stops.
   * Always streamed (dockerode buffers the whole log when not following).
   */
  async containerLogs(id: string, opts: ContainerLogOptions): Promise<Readable> {
    const info = await this.docker.getContainer(id).inspect();
    const since = opts.sinceTime !== undefined ? opts.sinceTime / 1000 : 0;
    const raw = await new Promise<Readable>((resolve, reject) => {
      this.docker.modem.dial(
        {
          path: `/containers/${id}/logs?`,
          method: 'GET',
          isStream: true,
          statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
          options: { stdout: true, stderr: true, follow: !!opts.follow, timestamps: !!opts.timestamps, tail: opts.tailLines ?? 'all', since },
        },
        (err: Error | null, data: unknown) => (err ? reject(err) : resolve(data as Readable)),
      );
    });
    if (info.Config.Tty) return raw; // a TTY's output is not multiplexed
    const out = new PassThrough();
    const demux = new DockerStreamDemuxer(out, out);
    pipeline(raw, demux, (err) => (err ? out.destroy(err) : out.end()));
    out.on('close', () => raw.destroy()); // the reader went away: stop following
    return out;
  }

  /**
   * Starts a command in a running container with its streams attached
   * (`kubectl exec`). Unlike `execIn`, nothing is buffered and stdin can be fed.
   */
  async execStream(id: string, opts: ExecStreamOptions): Promise<ExecSession> {
    const exec = await this.docker.getContainer(id).exec({
      Cmd: opts.command,
      AttachStdin: opts.stdin,
      AttachStdout: opts.stdout,
      AttachStderr: opts.stderr,
      Tty: opts.tty,
    });
    const stream = (await exec.start({ hijack: true, stdin: opts.stdin, Tty: opts.tty })) as unknown as Duplex;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    if (opts.tty) {
      stream.pipe(stdout);
      stderr.end();
    } else {
      pipeline(stream, new DockerStreamDemuxer(stdout, stderr), () => {
        stdout.end();
        stderr.end();
      });
    }
    const ended = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    return {
      stdin: opts.stdin ? stream : undefined,
      stdout,
      stderr,
      resize: async (width, height) => {
        await exec.resize({ w: width, h: height });
      },
      exitCode: async () => {
        await ended;
        // The stream can end a moment before Docker records the exit code.
        for (let i = 0; ; i++) {
          const info = await exec.inspect();
          if (!info.Running || i >= 50) return info.ExitCode ?? -1;
          await new Promise((r) => setTimeout(r, 20));
        }
      },
      close: () => stream.destroy(),
    };
  }
}

function dockerOptions(host?: string): Docker.DockerOptions {
  const h = host ?? process.env.DOCKER_HOST;
  if (!h || h.startsWith('unix://')) return { socketPath: h ? h.slice('unix://'.length) : '/var/run/docker.sock' };
  const u = new URL(h.replace(/^tcp:/, 'http:'));
  return { host: u.hostname, port: Number(u.port || 2375) };
}

/** Docker names are unique per engine: the pod uid keeps runs and pods apart. */
export function dockerName(pod: PodRef, container: string, attempt: number): string {
  return `minipod_${container}_${pod.name}_${pod.namespace}_${pod.uid}_${attempt}`;
}

function fromInspect(info: Docker.ContainerInspectInfo): RuntimeContainer {
  const l = info.Config.Labels ?? {};
  const s = info.State;
  const zero = (t?: string) => (!t || t.startsWith('0001-') ? undefined : t);
  const state = s.Running ? 'running' : s.Status === 'created' ? 'created' : s.Status === 'exited' || s.Status === 'dead' ? 'exited' : 'unknown';
  const ip = (info.NetworkSettings as { IPAddress?: string } | undefined)?.IPAddress || Object.values(info.NetworkSettings?.Networks ?? {})[0]?.IPAddress || undefined;
  return {
    id: info.Id,
    name: l[LABEL.container] ?? '',
    kind: (l[LABEL.kind] ?? 'app') as ContainerKind,
    pod: { uid: l[LABEL.podUid] ?? '', name: l[LABEL.podName] ?? '', namespace: l[LABEL.podNamespace] ?? '' },
    attempt: Number(l[LABEL.attempt] ?? 0),
    hash: l[LABEL.hash] ?? '',
    sandboxId: l[LABEL.sandbox] ?? '',
    image: info.Config.Image,
    imageID: info.Image,
    state,
    exitCode: s.ExitCode,
    oomKilled: s.OOMKilled,
    createdAt: info.Created,
    startedAt: zero(s.StartedAt),
    finishedAt: state === 'exited' ? zero(s.FinishedAt) : undefined,
    ip,
    error: s.Error || undefined,
  };
}

/**
 * Docker has no API to end an exec. Its process leads its own session and process
 * group, so kill the group from the host — only after /proc shows that the PID is
 * in this container's cgroup (Docker may be remote, or the PID reused). Without
 * that right or that view the process is left to end by itself.
 */
async function killExec(containerId: string, exec: Docker.Exec): Promise<void> {
  try {
    const { Pid, Running } = await exec.inspect();
    if (!Running || !Pid) return;
    if (!(await readFile(`/proc/${Pid}/cgroup`, 'utf8')).includes(containerId)) return;
    process.kill(-Pid, 'SIGKILL');
  } catch {
    // Already gone, not on this host, or not ours to kill.
  }
}

export function isGone(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}
function isNotModified(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 304;
}
function isRemovalInProgress(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 409 && /already in progress/.test(dockerMessage(err));
}

export function dockerMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; reason?: string; message?: string };
  return (e.json?.message ?? e.message ?? String(err)).replace(/^\(HTTP code \d+\) [a-z ]+ - /, '').trim();
}

export interface ContainerLogOptions {
  follow?: boolean;
  timestamps?: boolean;
  tailLines?: number;
  /** only lines written at or after this time (ms since the epoch) */
  sinceTime?: number;
}

export interface ExecStreamOptions {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** A running `docker exec` with its streams: end `stdin` to close the command's input. */
export interface ExecSession {
  stdin?: NodeJS.WritableStream;
  stdout: Readable;
  stderr: Readable;
  resize(width: number, height: number): Promise<void>;
  /** Resolves once the command has ended. */
  exitCode(): Promise<number>;
  /** Detaches (Docker cannot kill an exec; a TTY's shell gets SIGHUP). */
  close(): void;
}

/**
 * Splits Docker's multiplexed stream (8-byte frame headers: stream type, then
 * the payload's length) into stdout and stderr, with back-pressure.
 */
class DockerStreamDemuxer extends Writable {
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    private stdout: NodeJS.WritableStream,
    private stderr: NodeJS.WritableStream,
  ) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let waitFor: NodeJS.WritableStream | undefined;
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      const target = this.buf[0] === 2 ? this.stderr : this.stdout;
      if (!target.write(this.buf.subarray(8, 8 + size))) waitFor = target;
      this.buf = this.buf.subarray(8 + size);
    }
    if (waitFor) waitFor.once('drain', () => done());
    else done();
  }
}
