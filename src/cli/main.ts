// The minipod command line: kubectl's verbs and flags. Commands load their
// modules lazily so that `minipod get pods` starts fast.
import { Command, Option } from 'commander';
import { ApiStatusError, ConnectionError } from '../client/client.js';
import { paths } from '../config.js';
import { ManifestError } from './manifests.js';
import { UsageError } from './output.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

function program(): Command {
  const p = new Command('minipod')
    .description('Run Kubernetes pods on this machine\'s Docker Engine, with the kubelet\'s semantics.')
    .version('0.1.0')
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });

  const apply = (name: 'apply' | 'create') =>
    p
      .command(name)
      .description(name === 'apply' ? 'Create pods from manifests, or update their labels and annotations' : 'Create pods from manifests')
      .requiredOption('-f, --filename <path>', 'a file, a directory of .yaml/.yml/.json files, or - for stdin (repeatable)', collect)
      .addOption(new Option('--dry-run [mode]', 'validate only: "client" (no daemon needed) or "server"').preset('client'))
      .option('-n, --namespace <ns>', 'namespace for pods that do not name one')
      .addOption(new Option('--wait [condition]', 'wait until the pods are Running (or Ready)').preset('Running'))
      .option('--timeout <duration>', 'how long --wait waits', '120s')
      .addHelpText('after', `\nExamples:\n  minipod ${name} -f manifests/two-containers.yaml\n  minipod ${name} -f manifests/ --wait\n  minipod ${name} --dry-run=client -f pod.yaml`)
      .action(async (opts) => (await import('./commands/apply.js')).apply({ ...opts, create: name === 'create' }));
  apply('apply');
  apply('create');

  p.command('get')
    .description('List pods, nodes or events')
    .argument('<type>', 'pods, nodes or events (or pod/NAME)')
    .argument('[names...]')
    .option('-o, --output <format>', 'wide, yaml, json or name')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier in (a,b)')
    .option('--field-selector <selector>', 'field selector, e.g. status.phase=Running')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('--no-headers', 'omit the header row')
    .option('--show-labels', 'show labels as the last column')
    .addHelpText('after', '\nExamples:\n  minipod get pods\n  minipod get pods -o wide\n  minipod get pod web -o yaml\n  minipod get nodes')
    .action(async (type, names, opts) => (await import('./commands/get.js')).get(type, names, { ...opts, noHeaders: opts.headers === false }));

  p.command('delete')
    .description('Delete pods, gracefully: SIGTERM, then SIGKILL when the grace period ends')
    .argument('[args...]', 'pod NAME... (or pod/NAME)')
    .option('--grace-period <seconds>', "seconds to wait before SIGKILL; default: the pod's terminationGracePeriodSeconds")
    .option('--force', 'remove at once, without waiting for the containers to stop (with --grace-period=0)')
    .option('--now', 'same as --grace-period=1')
    .option('--wait', 'wait until the pods are gone (default)', true)
    .option('--no-wait', 'return as soon as the deletion is accepted')
    .option('--all', 'delete every pod in the namespace')
    .option('-l, --selector <selector>', 'delete the pods that match a label selector')
    .option('-f, --filename <path>', 'delete the pods named in manifests', collect)
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--timeout <duration>', 'how long to wait for the deletion', '10m')
    .option('--ignore-not-found', 'a missing pod is not an error')
    .addHelpText('after', '\nExamples:\n  minipod delete pod web\n  minipod delete pod web --grace-period 3\n  minipod delete pod web --grace-period=0 --force\n  minipod delete pods --all')
    .action(async (args, opts) => (await import('./commands/delete.js')).deletePods(args, opts));

  const daemon = p
    .command('daemon')
    .description('Run the minipod daemon (API server, scheduler, kubelet) in the foreground, or manage it in the background')
    .option('--node-name <name>', 'name of this node (default: $MINIPOD_NODE_NAME or the host name)')
    .option('--node-labels <k=v,...>', 'extra labels for this node')
    .option('--no-kubelet', 'serve the API and schedule, but run no pods here')
    .option('--docker-host <url>', 'Docker Engine to use (default: $DOCKER_HOST or unix:///var/run/docker.sock)')
    .option('--listen <host:port>', 'also serve the API on TCP, for kubectl, client libraries and node agents')
    .option('--token-file <path>', 'bearer token that TCP clients must send (default: $MINIPOD_HOME/token, created if missing)')
    .addHelpText('after', '\nExamples:\n  minipod daemon start\n  minipod daemon status\n  minipod daemon stop\n  minipod daemon --node-labels disk=ssd   # in the foreground')
    .action(async (opts) => (await import('./commands/daemon.js')).runForeground(opts));
  daemon
    .command('start')
    .description('Start the daemon in the background')
    .action(async (_o, cmd: Command) => (await import('./commands/daemon.js')).start(cmd.parent!.opts()));
  daemon
    .command('stop')
    .description('Stop the background daemon (pods keep running and are adopted on the next start)')
    .action(async () => (await import('./commands/daemon.js')).stop());
  daemon
    .command('status')
    .description('Say whether the daemon runs')
    .action(async () => (await import('./commands/daemon.js')).status());
  return p;
}

function fail(message: string): void {
  process.stderr.write(message.endsWith('\n') ? message : message + '\n');
  process.exitCode = 1;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    if (err instanceof ManifestError) fail(err.lines.join('\n'));
    else if (err instanceof ConnectionError) fail(`error: cannot reach the minipod daemon at ${paths.socket()} — start it with: minipod daemon start`);
    else if (err instanceof ApiStatusError) fail(`Error from server (${err.reason || err.code}): ${err.message}`);
    else if (err instanceof UsageError) fail(`error: ${err.message}`);
    else if ((err as { code?: string }).code?.startsWith('commander.')) process.exitCode = 1;
    else if (err instanceof Error && err.name === 'WaitError') fail(`error: ${err.message}`);
    else fail(`error: ${(err as Error).message ?? String(err)}`);
  }
}
