// The raw Docker floor: the same pause + app containers a pod needs, created and
// started through the Docker API from an already-running Node process, with the
// same namespace sharing the kubelet sets up. Every container carries the raw
// label, so that a crashed run's leftovers can be found and removed. The benchmarks
// and the reliability tests both measure minipod against it, in the same run.
import Docker from 'dockerode';

export const RAW_LABEL = 'minipod.io/bench-raw';
export const PAUSE_IMAGE = 'minipod/pause:1';
export const APP_IMAGE = 'minipod/testbox:1';

export interface RawPod {
  pause: string;
  app: string;
}

export interface RawApp {
  image: string;
  cmd: string[];
}

const defaultEngine = new Docker();

/** pause (shareable IPC, the pod's hostname) + one app container joined to it. */
export async function rawPodStart(run: string, name: string, app: RawApp = { image: APP_IMAGE, cmd: ['sleep', '3600'] }, docker: Docker = defaultEngine): Promise<RawPod> {
  const labels = { [RAW_LABEL]: run };
  const pause = await docker.createContainer({
    name: `${run}_${name}_POD`,
    Image: PAUSE_IMAGE,
    Hostname: name,
    Labels: labels,
    HostConfig: { IpcMode: 'shareable', NetworkMode: 'bridge', RestartPolicy: { Name: 'no' } },
  });
  await pause.start();
  const join = `container:${pause.id}`;
  const container = await docker.createContainer({
    name: `${run}_${name}_app`,
    Image: app.image,
    Cmd: app.cmd,
    Labels: labels,
    HostConfig: { NetworkMode: join, IpcMode: join, RestartPolicy: { Name: 'no' } },
  });
  await container.start();
  return { pause: pause.id, app: container.id };
}

/** `docker rm -f`, app before pause. */
export async function rawPodRemove(p: RawPod, docker: Docker = defaultEngine): Promise<void> {
  await docker.getContainer(p.app).remove({ force: true });
  await docker.getContainer(p.pause).remove({ force: true });
}

/** What a graceful pod deletion asks of Docker: stop the app (SIGTERM, then SIGKILL after the grace period), stop the pause container, remove both. */
export async function rawPodStop(p: RawPod, graceSeconds: number, docker: Docker = defaultEngine): Promise<void> {
  await docker.getContainer(p.app).stop({ t: graceSeconds });
  await docker.getContainer(p.pause).stop({ t: 0 });
  await docker.getContainer(p.app).remove();
  await docker.getContainer(p.pause).remove();
}

/** Runs `fn` over `items` with at most `concurrency` at a time. */
export async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/** Removes every raw container of this run (or of any run). */
export async function rawCleanup(run?: string, docker: Docker = defaultEngine): Promise<void> {
  const label = run ? `${RAW_LABEL}=${run}` : RAW_LABEL;
  const list: Docker.ContainerInfo[] = await docker.listContainers({ all: true, filters: { label: [label] } });
  await pool(list, 4, (c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined));
}
