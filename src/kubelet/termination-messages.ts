// A container's last words (lastState.terminated.message): what it wrote to its
// terminationMessagePath, or with FallbackToLogsOnError the tail of its log after
// a failure. Read once per container and kept.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { Pod } from '../api/types.js';
import type { DockerRuntime, RuntimeContainer } from '../runtime/docker.js';
import { terminationLogFile } from './container-config.js';

// The kubelet's bounds: a container's message is at most the last 4 KiB of its
// file, and a pod's messages together at most 12 KiB, split evenly between its
// containers (each keeps the start of its message).
export const MAX_CONTAINER_MESSAGE_BYTES = 4096;
export const MAX_POD_MESSAGE_BYTES = 12 * 1024;
const FALLBACK_LOG_LINES = 80;
const FALLBACK_LOG_BYTES = 2048;

/** The last `max` bytes of `file`, read without reading the rest (the container may have written gigabytes). */
export function readMessage(file: string, max = MAX_CONTAINER_MESSAGE_BYTES): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return '';
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return ''; // a fifo or a device planted in its place is never read
    const length = Math.min(max, st.size);
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, st.size - length);
    return buf.subarray(0, n).toString('utf8');
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}

/** The share of the pod's 12 KiB that each container's message may keep. */
export function bytesPerContainer(pod: Pod): number {
  const containers = pod.spec.containers.length + (pod.spec.initContainers?.length ?? 0);
  return containers > 0 ? Math.floor(MAX_POD_MESSAGE_BYTES / containers) : MAX_POD_MESSAGE_BYTES;
}

export class TerminationMessages {
  private messages = new Map<string, string>(); // container id → message

  /** `dir`: the pod's folder of per-attempt termination-log files. */
  constructor(
    private runtime: DockerRuntime,
    private dir: string,
  ) {}

  /** Sets `message` on each exited container of the pod. */
  async fill(pod: Pod, containers: RuntimeContainer[]): Promise<void> {
    const specs = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
    for (const c of containers) {
      if (c.kind === 'sandbox' || c.state !== 'exited') continue;
      let message = this.messages.get(c.id);
      if (message === undefined) {
        const spec = specs.find((s) => s.name === c.name);
        message = readMessage(terminationLogFile(this.dir, c.name, c.attempt));
        if (!message && c.exitCode !== 0 && spec?.terminationMessagePolicy === 'FallbackToLogsOnError') {
          const tail = await this.runtime.tailLogs(c.id, FALLBACK_LOG_LINES).catch(() => '');
          message = tail.slice(-FALLBACK_LOG_BYTES);
        }
        this.messages.set(c.id, message);
      }
      if (message) c.message = truncateBytes(message, bytesPerContainer(pod));
    }
  }
}

/** The first `max` bytes of `text`, cut on a character boundary. */
function truncateBytes(text: string, max: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= max) return text;
  return new TextDecoder('utf-8').decode(buf.subarray(0, max)).replace(/\uFFFD$/, '');
}
