// Image pulls under the container's imagePullPolicy, with the kubelet's reasons
// (pkg/kubelet/images): ErrImageNeverPull, ErrImagePull, then ImagePullBackOff
// while the pull back-off (10 s doubling to 300 s) runs.
import type { Container, Pod } from '../api/types.js';
import type { EventRecorder } from '../client/recorder.js';
import type { DockerRuntime } from '../runtime/docker.js';
import type { Backoff } from './backoff.js';
import type { Waiting } from './status.js';

export type PullResult = { ok: true } | { ok: false; waiting: Waiting; retryInMs?: number };

interface Deps {
  runtime: DockerRuntime;
  recorder: EventRecorder;
  imageBackoff: Backoff;
}

export async function pullImageIfNeeded(deps: Deps, pod: Pod, spec: Container, fieldPath: string): Promise<PullResult> {
  const { runtime, recorder, imageBackoff } = deps;
  const image = spec.image;
  const policy = spec.imagePullPolicy ?? 'IfNotPresent';
  if (policy !== 'Always') {
    const present = await runtime.imagePresent(image);
    if (present) {
      recorder.event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`, fieldPath);
      return { ok: true };
    }
    if (policy === 'Never') {
      const message = `Container image "${image}" is not present with pull policy of Never`;
      recorder.event(pod, 'Warning', 'ErrImageNeverPull', message, fieldPath);
      return { ok: false, waiting: { reason: 'ErrImageNeverPull', message }, retryInMs: 10_000 };
    }
  }
  const key = `${pod.metadata.uid}/${image}`;
  const failedAt = imageBackoff.lastUpdate(key);
  if (failedAt !== undefined && imageBackoff.isInBackOffSince(key, failedAt)) {
    const message = `Back-off pulling image "${image}"`;
    recorder.event(pod, 'Normal', 'BackOff', message, fieldPath);
    return { ok: false, waiting: { reason: 'ImagePullBackOff', message }, retryInMs: imageBackoff.remaining(key, failedAt) + 50 };
  }
  recorder.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`, fieldPath);
  const started = Date.now();
  try {
    const report = recorder.progress(pod, 'PullProgress', fieldPath);
    const pulled = await runtime.pullImage(image, (p) => {
      if (p.total) report(`Pulling image "${image}": ${mb(p.current)} of ${mb(p.total)} (${Math.floor((100 * p.current) / p.total)}%)`);
    });
    const secs = ((Date.now() - started) / 1000).toFixed(3);
    recorder.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${secs}s. Image size: ${pulled.size} bytes.`, fieldPath);
    return { ok: true };
  } catch (err) {
    imageBackoff.next(key);
    const message = (err as Error).message;
    recorder.event(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${message}`, fieldPath);
    recorder.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull', fieldPath);
    return { ok: false, waiting: { reason: 'ErrImagePull', message }, retryInMs: imageBackoff.get(key) + 50 };
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
