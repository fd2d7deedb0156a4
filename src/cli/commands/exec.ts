// `minipod exec POD [-c C] [-i] [-t] -- CMD [ARG...]`: the pods/exec subresource,
// a WebSocket through the API server to the pod's kubelet, which runs the command
// with `docker exec`. Exits with the command's exit code, as kubectl does.
import { execInPod } from '../../client/remotecommand.js';
import { connect } from '../connect.js';
import { UsageError } from '../output.js';
import { allContainerNames, defaultContainer, podName } from './logs.js';

export interface ExecOptions {
  container?: string;
  stdin?: boolean;
  tty?: boolean;
  quiet?: boolean;
  namespace?: string;
}

export async function exec(podArg: string | undefined, command: string[], opts: ExecOptions, argv = process.argv): Promise<void> {
  if (!podArg) throw new UsageError("expected 'exec POD_NAME COMMAND [ARG1] [ARG2] ... [ARGN]'.\nPOD_NAME and COMMAND are required arguments for the exec command");
  if (!command.length) throw new UsageError('you must specify at least one command for the container');
  if (!argv.includes('--')) throw new UsageError('exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead');
  const name = podName(podArg);
  const ns = opts.namespace ?? 'default';
  const stdin = !!opts.stdin;
  let tty = !!opts.tty && stdin;
  if (tty && !process.stdin.isTTY) {
    if (!opts.quiet) process.stderr.write('Unable to use a TTY - input is not a terminal or the right kind of file\n');
    tty = false;
  }

  const client = connect();
  try {
    const pod = await client.getPod(ns, name);
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      throw new UsageError(`cannot exec into a container in a completed pod; current phase is ${phase}`);
    }
    let container = opts.container;
    if (container) {
      const all = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
      if (!all.some((c) => c.name === container)) throw new UsageError(`container ${container} is not valid for pod ${name} out of: ${allContainerNames(pod)}`);
    } else {
      container = defaultContainer(pod, opts.quiet);
    }

    const raw = tty && process.stdin.isTTY;
    if (raw) process.stdin.setRawMode(true);
    let onResize: (() => void) | undefined;
    let exitCode: number;
    try {
      exitCode = await execInPod(client, ns, name, {
        container,
        command,
        stdin: stdin ? process.stdin : undefined,
        stdout: process.stdout,
        stderr: process.stderr,
        tty,
        onOpen: (resize) => {
          if (!tty) return;
          onResize = () => resize(process.stdout.columns || 80, process.stdout.rows || 24);
          onResize();
          process.stdout.on('resize', onResize);
        },
      });
    } finally {
      if (onResize) process.stdout.off('resize', onResize);
      if (raw) process.stdin.setRawMode(false);
      if (stdin) process.stdin.destroy(); // an open stdin would keep us running
    }
    if (exitCode !== 0) {
      process.stderr.write(`command terminated with exit code ${exitCode}\n`);
      process.exitCode = exitCode;
    }
  } finally {
    client.close();
  }
}
