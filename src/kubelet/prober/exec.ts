// exec probe (pkg/probe/exec): the command runs inside the container through the
// runtime; exit 0 is success, any other exit a failure with its output, and a
// command still running at timeoutSeconds a failure (the runtime ends it).
import type { ExecResult } from '../../runtime/docker.js';
import type { ProbeOutcome } from './types.js';

export interface ExecRunner {
  execIn(id: string, cmd: string[], timeoutMs: number): Promise<ExecResult>;
}

export async function execProbe(runtime: ExecRunner, containerId: string, command: string[], timeoutMs: number): Promise<ProbeOutcome> {
  let res: ExecResult;
  try {
    res = await runtime.execIn(containerId, command, timeoutMs);
  } catch (err) {
    // The runtime could not run it (container gone, not running): a prober error.
    return { result: 'unknown', output: (err as Error).message };
  }
  if (res.timedOut) return { result: 'failure', output: `command ${JSON.stringify(command.join(' '))} timed out` };
  return { result: res.exitCode === 0 ? 'success' : 'failure', output: res.output };
}
