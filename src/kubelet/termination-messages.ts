// A container's last words (lastState.terminated.message): what it wrote to its
// terminationMessagePath, or with FallbackToLogsOnError the tail of its log after
// a failure. Read once per container and kept.
import { readFileSync } from 'node:fs';
import type { Pod } from '../api/types.js';
import type { DockerRuntime, RuntimeContainer } from '../runtime/docker.js';
import { terminationLogFile } from './container-config.js';

const MAX_MESSAGE_BYTES = 4096;
const FALLBACK_LOG_LINES = 80;
const FALLBACK_LOG_BYTES = 2048;

function readMessage(file: string): string {
  try {
    return readFileSync(file).subarray(0, MAX_MESSAGE_BYTES).toString('utf8');
  } catch {
    return '';
  }
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
      if (message) c.message = message;
    }
  }
}
