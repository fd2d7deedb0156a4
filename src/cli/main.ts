// The minipod command line: kubectl's verbs and flags. Commands load their
// modules lazily so that `minipod get pods` starts fast.
import type { Command } from 'commander';
import { ApiStatusError, ConnectionError } from '../client/client.js';
import { paths } from '../config.js';
import { parseFast } from './fast-args.js';
import { ManifestError } from './manifests.js';
import { UsageError } from './output.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

// commander loads only when a command line needs it (see fast-args.ts).
async function program(): Promise<Command> {
  const { Command, Option } = await import('commander');
  const p = new Command('minipod')
    .description('Run Kubernetes pods on this machine\'s Docker Engine, with the kubelet\'s semantics.')
    .version('0.1.0')
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nExamples:\n  minipod daemon start\n  minipod apply -f manifests/two-containers.yaml --wait\n  minipod get pods -o wide\n  minipod port-forward pod/web 8080:80\n  minipod COMMAND --help     # each command\'s flags and examples',
    )
    .configureOutput({ outputError: (str, write) => write(str) });

  // The plain forms of apply/create skip commander (fast-args.ts): keep its tables in step.
  const apply = (name: 'apply' | 'create') =>
    p
      .command(name)
      .description(name === 'apply' ? 'Create pods from manifests, or update their labels and annotations' : 'Create pods from manifests, or a namespace')
      // `create` has a subcommand (namespace), which a required -f of its parent would block: apply() asks for -f then.
      .addOption(new Option('-f, --filename <path>', 'a file, a directory of .yaml/.yml/.json files, or - for stdin (repeatable)').argParser(collect).makeOptionMandatory(name === 'apply'))
      .addOption(new Option('--dry-run [mode]', 'validate only: "client" (no daemon needed) or "server"').preset('client'))
      .option('-n, --namespace <ns>', 'namespace for pods that do not name one')
      .addOption(new Option('--wait [condition]', 'wait until the pods are Running (or Ready)').preset('Running'))
      .option('--timeout <duration>', 'how long --wait waits', '120s')
      .addHelpText('after', `\nExamples:\n  minipod ${name} -f manifests/two-containers.yaml\n  minipod ${name} -f manifests/ --wait\n  minipod ${name} --dry-run=client -f pod.yaml${name === 'create' ? '\n  minipod create namespace dev' : ''}`)
      .action(async (opts) => (await import('./commands/apply.js')).apply({ ...opts, create: name === 'create' }));
  apply('apply');
  apply('create')
    .command('namespace')
    .description('Create a namespace (for example, to give it its own Pod Security labels)')
    .argument('<name>')
    .addHelpText('after', '\nExamples:\n  minipod create namespace dev\n  minipod label namespace dev pod-security.kubernetes.io/enforce=restricted')
    .action(async (name) => (await import('./commands/create.js')).createNamespace(name));

  // The plain forms of `get` skip commander (fast-args.ts): keep its tables in step.
  p.command('get')
    .description('List pods, nodes or events')
    .argument('<type>', 'pods, nodes or events (or pod/NAME)')
    .argument('[names...]')
    .option('-o, --output <format>', 'wide, yaml, json, name, jsonpath=TEMPLATE or jsonpath-as-json=TEMPLATE')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier in (a,b)')
    .option('--field-selector <selector>', 'field selector, e.g. status.phase=Running')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('--no-headers', 'omit the header row')
    .option('--show-labels', 'show labels as the last column')
    .option('-w, --watch', 'after listing, print a new row for every change')
    .option('--watch-only', 'print a row for every change, without the list first')
    .option('--output-watch-events', 'with --watch: add an EVENT column (ADDED, MODIFIED, DELETED)')
    .addHelpText(
      'after',
      `\nExamples:\n  minipod get pods\n  minipod get pods -o wide\n  minipod get pod web -o yaml\n  minipod get pods -l app=web,tier!=db\n  minipod get pods -w --output-watch-events\n  minipod get nodes --show-labels\n  minipod get pods -o jsonpath='{.items[*].metadata.name}'\n  minipod get pod web -o jsonpath='{.status.podIP}'\n  minipod get pods -o jsonpath='{range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}'`,
    )
    .action(async (type, names, opts) => (await import('./commands/get.js')).get(type, names, { ...opts, noHeaders: opts.headers === false }));

  const metadataCommand = (name: 'label' | 'annotate', pair: string) =>
    p
      .command(name)
      .description(name === 'label' ? 'Add, change (--overwrite) or remove (KEY-) labels of pods, nodes and namespaces' : 'Add, change (--overwrite) or remove (KEY-) annotations of pods, nodes and namespaces')
      .argument('<args...>', `TYPE NAME... (or TYPE/NAME...) then ${pair}=VALUE... and ${pair}-...`)
      .option('--overwrite', `allow changing a ${pair} that already has a value`)
      .option('--all', 'every object of the type in the namespace')
      .option('-l, --selector <selector>', 'the objects that match a label selector')
      .option('--field-selector <selector>', 'the objects that match a field selector')
      .option('-n, --namespace <ns>', 'namespace', 'default')
      .option('--list', `print the ${pair}s instead of changing them`)
      .option('--resource-version <rv>', 'change only if the object is still at this resourceVersion')
      .addOption(new Option('--dry-run [mode]', '"client" (change nothing) or "server" (validate only)').preset('client'))
      .addHelpText(
        'after',
        name === 'label'
          ? '\nExamples:\n  minipod label pod web tier=frontend\n  minipod label pod web tier=backend --overwrite\n  minipod label pod web tier-\n  minipod label node $(hostname) disktype=ssd\n  minipod label pods --all env=dev\n  minipod label namespace dev pod-security.kubernetes.io/enforce=privileged --overwrite'
          : "\nExamples:\n  minipod annotate pod web description='my web server'\n  minipod annotate pod web description='v2' --overwrite\n  minipod annotate pod web description-",
      )
      .action(async (args, opts) => (await import(`./commands/${name}.js`))[name](args, opts));
  metadataCommand('label', 'KEY');
  metadataCommand('annotate', 'KEY');

  p.command('describe')
    .description('Show a pod in detail: containers with their state and last state, conditions, volumes and events')
    .argument('<type>', 'pod (or pod/NAME)')
    .argument('[names...]')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-l, --selector <selector>', 'describe the pods that match a label selector')
    .option('--show-events', 'show the events (default)', true)
    .option('--no-show-events', 'do not show the events')
    .addHelpText('after', '\nExamples:\n  minipod describe pod web\n  minipod describe pod/web\n  minipod describe pods -l app=web')
    .action(async (type, names, opts) => (await import('./commands/describe.js')).describe(type, names, opts));

  p.command('logs')
    .description("Print a container's log, as its pod's kubelet keeps it (the current or, with -p, the previous attempt)")
    .argument('<pod>', 'pod NAME (or pod/NAME)')
    .argument('[container]', 'the container (same as -c)')
    .option('-c, --container <name>', 'the container; default: the kubectl.kubernetes.io/default-container annotation, else the first')
    .option('-f, --follow', 'keep streaming new output until the container stops')
    .option('-p, --previous', 'the previous attempt of the container: the one that crashed')
    .option('--tail <lines>', 'only the last N lines (-1: all)', '-1')
    .option('--timestamps', 'prefix each line with its RFC3339 timestamp')
    .option('--since <duration>', 'only lines newer than this, e.g. 10s, 5m, 1h')
    .option('--since-time <time>', 'only lines written at or after this RFC3339 time')
    .option('--limit-bytes <n>', 'stop after this many bytes')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .addHelpText('after', '\nExamples:\n  minipod logs web\n  minipod logs web -c sidecar -f\n  minipod logs crashy --previous\n  minipod logs web --tail 20 --timestamps')
    .action(async (pod, container, opts) => (await import('./commands/logs.js')).logs(pod, container, opts));

  p.command('exec')
    .description('Run a command in a running container and exit with its exit code; -it for an interactive shell')
    .argument('[pod]', 'pod NAME (or pod/NAME)')
    .argument('[command...]', 'the command and its arguments, after --')
    .option('-c, --container <name>', 'the container; default: the kubectl.kubernetes.io/default-container annotation, else the first')
    .option('-i, --stdin', "pass this terminal's stdin to the command")
    .option('-t, --tty', 'give the command a terminal (with -i)')
    .option('-q, --quiet', 'print only what the command prints')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .addHelpText('after', '\nExamples:\n  minipod exec web -- cat /etc/hostname\n  minipod exec web -c sidecar -- sh -c \'echo $HOSTNAME\'\n  minipod exec -it web -- sh\n  echo hello | minipod exec -i web -- cat')
    .action(async (pod, command, opts) => (await import('./commands/exec.js')).exec(pod, command, opts));

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

  p.command('port-forward')
    .description("Forward local ports to a pod's ports, through the API server and the pod's kubelet, until Ctrl-C")
    .argument('[args...]', 'pod/NAME (or NAME), then one or more [LOCAL:]REMOTE ports; REMOTE may be a container port\'s name')
    .option('--address <addresses>', 'addresses to listen on, comma separated: IPs, or localhost for 127.0.0.1 and ::1 (default localhost)', collect)
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .addHelpText(
      'after',
      '\nExamples:\n  minipod port-forward pod/web 8080:80      # localhost:8080 to port 80 of the pod\n  minipod port-forward pod/web 8080          # the same port here and there\n  minipod port-forward pod/web :80           # a random local port\n  minipod port-forward pod/web 8080:http     # a named container port\n  minipod port-forward pod/web 5000 6000:6001\n  minipod port-forward --address 0.0.0.0 pod/web 8080:80',
    )
    .action(async (args, opts) => (await import('./commands/port-forward.js')).portForward(args, opts));

  p.command('run')
    .description('Create and run a pod with one container')
    .argument('<name>')
    .argument('[args...]', 'arguments for the container (after --), or the command with --command')
    .requiredOption('--image <image>', 'the container image')
    .option('--restart <policy>', 'Always, OnFailure or Never', 'Always')
    .option('--env <K=V>', 'an environment variable (repeatable)', collect)
    .option('--port <port>', 'the port the container exposes')
    .option('-l, --labels <k=v,...>', 'labels (default run=NAME)')
    .option('--command', 'treat the arguments as the command, not as args')
    .option('--image-pull-policy <policy>', 'Always, IfNotPresent or Never')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .addOption(new Option('--dry-run [mode]', 'only print what would be created').preset('client'))
    .option('-o, --output <format>', 'yaml or json, with --dry-run')
    .option('--wait', 'wait until the pod is Running')
    .option('--timeout <duration>', 'how long --wait waits', '120s')
    .addHelpText('after', '\nExamples:\n  minipod run web --image busybox:1.36 -- httpd -f -p 8080\n  minipod run once --image busybox:1.36 --restart Never --command -- sh -c "echo hi"\n  minipod run web --image busybox:1.36 --dry-run -o yaml')
    .action(async (name, args, opts) => (await import('./commands/run.js')).run(name, args, opts));

  p.command('wait')
    .description('Wait until pods meet a condition: Ready, deleted, or a JSONPath value')
    .argument('<args...>', 'pod/NAME..., or pods NAME... / pods -l SEL / pods --all')
    .requiredOption('--for <condition>', 'delete, condition=NAME[=VALUE] or jsonpath={…}[=VALUE]')
    .option('--timeout <duration>', 'how long to wait', '30s')
    .option('-l, --selector <selector>', 'the pods that match a label selector')
    .option('--all', 'every pod in the namespace')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .addHelpText('after', "\nExamples:\n  minipod wait --for=condition=Ready pod/web\n  minipod wait --for=delete pod/web --timeout=60s\n  minipod wait --for=jsonpath='{.status.phase}'=Succeeded pod/job")
    .action(async (args, opts) => (await import('./commands/wait.js')).waitFor(args, opts));

  p.command('trace')
    .description("Show a pod's lifecycle as a timeline: scheduling, pulls, init containers, starts, restarts, readiness, termination")
    .argument('<args...>', 'pod NAME (or pod/NAME)')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .addHelpText('after', '\nExamples:\n  minipod trace pod web\n  minipod trace pod/web')
    .action(async (args, opts) => (await import('./commands/trace.js')).trace(args, opts));

  p.command('completion')
    .description('Print a shell completion script')
    .argument('<shell>', 'bash or zsh')
    .addHelpText('after', '\nExamples:\n  source <(minipod completion bash)\n  minipod completion zsh > "${fpath[1]}/_minipod"')
    .action(async (shell) => {
      process.stdout.write((await import('./commands/completion.js')).completionScript(shell, p));
    });

  p.command('kubeconfig')
    .description("Print a kubeconfig for the daemon's TCP listener (--listen), or merge it into kubectl's with --merge")
    .option('--merge', 'add (or replace) the cluster, user and context in $KUBECONFIG (its first file) or ~/.kube/config')
    .option('--no-switch', "with --merge: keep kubectl's current context instead of switching to minipod's")
    .option('--server <url>', 'the API server address to write, https://HOST:PORT (default: where the running daemon listens), e.g. for another machine')
    .option('--name <name>', 'the name of the cluster, user and context', 'minipod')
    .addHelpText('after', '\nExamples:\n  minipod daemon start --listen 127.0.0.1:6443\n  minipod kubeconfig --merge && kubectl get pods\n  minipod kubeconfig --merge --no-switch && kubectl --context minipod get nodes\n  minipod kubeconfig --server https://10.0.0.5:6443 > minipod.kubeconfig   # for another machine (daemon --listen 0.0.0.0:6443)')
    .action(async (opts) => (await import('./commands/kubeconfig.js')).kubeconfig(opts));

  const daemon = p
    .command('daemon')
    .description('Run the minipod daemon (API server, scheduler, kubelet) in the foreground, or manage it in the background')
    .option('--node-name <name>', 'name of this node (default: $MINIPOD_NODE_NAME or the host name)')
    .option('--node-labels <k=v,...>', 'extra labels for this node')
    .option('--no-kubelet', 'serve the API and schedule, but run no pods here')
    .option('--docker-host <url>', 'Docker Engine to use (default: $DOCKER_HOST or unix:///var/run/docker.sock)')
    .option('--listen <[host:]port>', 'also serve the API on TCP (on 127.0.0.1 unless a host is given), for kubectl, client libraries and node agents')
    .option('--token-file <path>', 'the admin bearer token for TCP clients (default: $MINIPOD_HOME/token, created if missing); nodes join with $MINIPOD_HOME/join-token')
    .addOption(new Option('--pod-security <level>', 'Pod Security level for namespaces without pod-security.kubernetes.io labels: privileged, baseline or restricted (enforce, audit and warn)').default('baseline'))
    .addOption(new Option('--allow-privileged', 'removed: use --pod-security privileged or a namespace label').hideHelp())
    .option('--allow-host-path <prefix>', 'admit hostPath volumes under this prefix, in namespaces whose Pod Security level allows hostPath (repeatable; none by default)', collect)
    .option('--store <url>', 'where objects are kept: "sqlite" ($MINIPOD_HOME/store.db, the default), etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (plain HTTP) or etcds://... (TLS)')
    .option('--etcd-cafile <path>', 'with etcds://: the CA that signed etcd\'s certificate (default: $MINIPOD_ETCD_CAFILE, else the system\'s CAs)')
    .option('--etcd-certfile <path>', 'with etcds://: the client certificate to show etcd; etcd holds every object, so it should want one (--client-cert-auth) (default: $MINIPOD_ETCD_CERTFILE)')
    .option('--etcd-keyfile <path>', 'with etcds://: the key of --etcd-certfile (default: $MINIPOD_ETCD_KEYFILE)')
    .option('--leader-elect-lease-duration <duration>', 'with etcd: how long the control-plane lease holds before a standby daemon takes over (default 15s, or $MINIPOD_LEADER_ELECT_LEASE_DURATION)')
    .option('--node-monitor-grace-period <duration>', "heartbeat silence after which a node's Ready condition is Unknown (default 40s, or $MINIPOD_NODE_MONITOR_GRACE_PERIOD)")
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace (default: $MINIPOD_LOG_LEVEL, else info)')
    .option('--log-max-size <size>', 'rotate $MINIPOD_HOME/daemon.log past this size, keeping 3 older files (default 10Mi)')
    .addHelpText('after', '\nExamples:\n  minipod daemon start\n  minipod daemon status\n  minipod daemon stop\n  minipod daemon --node-labels disk=ssd   # in the foreground\n  minipod daemon start --pod-security restricted\n  minipod daemon --store etcds://10.0.0.5:2379 --etcd-cafile ca.crt --etcd-certfile client.crt --etcd-keyfile client.key --listen 0.0.0.0:6443')
    .action(async (opts) => (await import('./commands/daemon.js')).runForeground(opts));
  daemon
    .command('start')
    .description('Start the daemon in the background')
    .addHelpText('after', '\nExamples:\n  minipod daemon start\n  minipod daemon start --node-labels disk=ssd\n  minipod daemon start --store etcds://127.0.0.1:2379 --etcd-cafile ca.crt --etcd-certfile client.crt --etcd-keyfile client.key --listen 0.0.0.0:6443')
    .action(async (_o, cmd: Command) => (await import('./commands/daemon.js')).start(cmd.parent!.opts()));
  daemon
    .command('stop')
    .description('Stop the background daemon (pods keep running and are adopted on the next start)')
    .addHelpText('after', '\nExamples:\n  minipod daemon stop')
    .action(async () => (await import('./commands/daemon.js')).stop());
  daemon
    .command('status')
    .description('Say whether the daemon runs')
    .addHelpText('after', '\nExamples:\n  minipod daemon status')
    .action(async () => (await import('./commands/daemon.js')).status());
  daemon
    .command('logs')
    .description("Print the daemon's log readably: time, level, component, message and the line's keys (pod, uid, container, reason, …)")
    .option('-f, --follow', 'keep printing new lines (across log rotations)')
    .option('--tail <lines>', 'print only the last N lines first (-1: all)', '-1')
    .option('--level <level>', 'only lines at this level or above: trace, debug, info, warn, error, fatal')
    .option('-o, --output <format>', 'json: the lines as the daemon wrote them')
    .addHelpText('after', '\nExamples:\n  minipod daemon logs --tail 20\n  minipod daemon logs -f --level warn\n  minipod daemon logs -o json | jq \'select(.pod == "default/web")\'')
    .action(async (opts) => (await import('./commands/daemon-logs.js')).daemonLogs(opts));
  daemon
    .command('ca-hash')
    .description("Print the cluster CA's public key hash, which `node join --ca-cert-hash` pins")
    .addHelpText('after', '\nExamples:\n  minipod daemon ca-hash\n  minipod node join --server https://10.0.0.5:6443 --token-file ./join-token --ca-cert-hash "$(minipod daemon ca-hash)" --name worker-2')
    .action(async () => (await import('./commands/daemon.js')).caHash());
  daemon
    .command('rotate-certs')
    .description("Issue a new serving certificate for the API server's TCP listener (a running daemon uses it at once); --ca makes a new cluster CA too")
    .option('--ca', 'also make a new cluster CA: every joined node must join again with the new hash, and kubectl must trust the new ca.crt')
    .addHelpText('after', '\nExamples:\n  minipod daemon rotate-certs\n  minipod daemon rotate-certs --ca')
    .action(async (opts) => (await import('./commands/daemon.js')).rotateCerts(opts));

  const node = p
    .command('node')
    .description('Run this machine as an extra node of a minipod cluster')
    .addHelpText('after', '\nExamples:\n  minipod node join --server https://10.0.0.5:6443 --token-file ./join-token --ca-cert-hash sha256:<hex> --name worker-2');
  node
    .command('join')
    .description('Run only a kubelet here, against a remote API server: register this node and run the pods bound to it')
    .requiredOption('--server <url>', 'the API server, https://HOST:PORT (a `minipod daemon --listen`)')
    .option('--token-file <path>', "a copy of the daemon's join token ($MINIPOD_HOME/join-token on its machine), exchanged once for this node's own credentials")
    .option('--ca-cert-hash <sha256:hex>', "the cluster CA's public key hash that `minipod daemon` prints (or `minipod daemon ca-hash`): the server must present that CA")
    .option('--certificate-authority <file>', "instead of --ca-cert-hash: a copy of the daemon's $MINIPOD_HOME/ca.crt")
    .requiredOption('--name <name>', 'name of this node')
    .option('--node-labels <k=v,...>', 'labels for this node, e.g. for nodeSelector')
    .option('--docker-host <url>', 'Docker Engine to use (default: $DOCKER_HOST or unix:///var/run/docker.sock)')
    .option('--kubelet-listen <host:port>', "serve logs and exec for the API server on TCP (HTTPS, the API server's credential only); default: a unix socket in $MINIPOD_HOME")
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace (default: $MINIPOD_LOG_LEVEL, else info)')
    .option('--log-max-size <size>', 'rotate the agent\'s log past this size, keeping 3 older files (default 10Mi)')
    .addHelpText(
      'after',
      '\nExamples:\n  minipod node join --server https://10.0.0.5:6443 --token-file ./join-token --ca-cert-hash sha256:<hex> --name worker-2 --node-labels disk=ssd --kubelet-listen 0.0.0.0:10250\n  minipod node join --server https://127.0.0.1:6443 --token-file ~/.minipod/join-token --certificate-authority ~/.minipod/ca.crt --name two --docker-host unix:///run/docker-two.sock',
    )
    .action(async (opts) => (await import('./commands/node.js')).join(opts));
  return p;
}

function fail(message: string): void {
  process.stderr.write(message.endsWith('\n') ? message : message + '\n');
  process.exitCode = 1;
}

export async function main(argv: string[]): Promise<void> {
  try {
    const fast = parseFast(argv.slice(2));
    if (fast?.command === 'get') await (await import('./commands/get.js')).get(fast.type, fast.names, fast.opts);
    else if (fast?.command === 'apply') await (await import('./commands/apply.js')).apply(fast.opts);
    else await (await program()).parseAsync(argv);
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
