// `minipod logs POD [CONTAINER] [-c C] [-f] [-p] [--tail N] [--timestamps] [--since D]`:
// the pods/log subresource, which the API server proxies to the pod's kubelet.
import type { Pod } from '../../api/types.js';
import { connect } from '../connect.js';
import { UsageError } from '../output.js';
import { parseDuration } from './apply.js';
import { resourceOf } from './get.js';

export interface LogsOptions {
  container?: string;
  follow?: boolean;
  previous?: boolean;
  tail?: string;
  timestamps?: boolean;
  since?: string;
  sinceTime?: string;
  limitBytes?: string;
  namespace?: string;
}

export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

/** kubectl's podcmd.AllContainerNames: "a, b, init1 (init)". */
export function allContainerNames(pod: Pod): string {
  return [...pod.spec.containers.map((c) => c.name), ...(pod.spec.initContainers ?? []).map((c) => `${c.name} (init)`)].join(', ');
}

/**
 * The container kubectl picks when none is given: the default-container
 * annotation, else the first one, saying so on stderr when there was a choice.
 */
export function defaultContainer(pod: Pod, quiet = false): string {
  const annotated = pod.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  const all = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
  if (annotated) {
    if (all.some((c) => c.name === annotated)) return annotated;
    if (!quiet) process.stderr.write(`Default container name "${annotated}" not found in pod ${pod.metadata.name}\n`);
  }
  const first = pod.spec.containers[0].name;
  if (!quiet && (pod.spec.containers.length > 1 || (pod.spec.initContainers ?? []).length > 0)) {
    process.stderr.write(`Defaulted container "${first}" out of: ${allContainerNames(pod)}\n`);
  }
  return first;
}

/** NAME or pod/NAME. */
export function podName(arg: string): string {
  if (!arg.includes('/')) return arg;
  const { resource, name } = resourceOf(arg);
  if (resource !== 'pods' || !name) throw new UsageError(`minipod works on pods, not ${resource}: use POD or pod/POD`);
  return name;
}

function integer(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n)) throw new UsageError(`invalid argument "${text}" for "${flag}" flag: strconv.ParseInt: parsing "${text}": invalid syntax`);
  return n;
}

export async function logs(podArg: string, containerArg: string | undefined, opts: LogsOptions): Promise<void> {
  const name = podName(podArg);
  if (containerArg && opts.container) throw new UsageError('only one of -c or an inline [CONTAINER] arg is allowed');
  const ns = opts.namespace ?? 'default';
  const tail = integer(opts.tail, '--tail') ?? -1;
  if (tail < -1) throw new UsageError('--tail must be greater than or equal to -1');
  const limitBytes = integer(opts.limitBytes, '--limit-bytes');
  if (limitBytes !== undefined && limitBytes < 1) throw new UsageError('--limit-bytes must be greater than 0');
  if (opts.since && opts.sinceTime) throw new UsageError('at most one of `sinceTime` or `sinceSeconds` may be specified');
  const sinceSeconds = opts.since ? Math.ceil(parseDuration(opts.since) / 1000) : undefined;
  if (opts.sinceTime && Number.isNaN(Date.parse(opts.sinceTime))) throw new UsageError(`--since-time only accepts times matching RFC3339, eg '2006-01-02T15:04:05Z'`);

  const client = connect();
  try {
    const pod = await client.getPod(ns, name);
    let container = containerArg ?? opts.container;
    if (container) {
      const all = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
      if (!all.some((c) => c.name === container)) throw new UsageError(`container ${container} is not valid for pod ${name}`);
    } else {
      container = defaultContainer(pod);
    }
    const res = await client.podLogs(ns, name, {
      container,
      follow: opts.follow || undefined,
      previous: opts.previous || undefined,
      timestamps: opts.timestamps || undefined,
      tailLines: tail >= 0 ? tail : undefined,
      sinceSeconds: sinceSeconds && sinceSeconds > 0 ? sinceSeconds : undefined,
      sinceTime: opts.sinceTime,
      limitBytes,
    });
    await new Promise<void>((resolve, reject) => {
      // `minipod logs x | head` closes our stdout early: that is not an error.
      process.stdout.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' ? (res.destroy(), resolve()) : reject(err)));
      res.on('end', resolve);
      res.on('aborted', () => reject(new Error('the log stream was cut off by the daemon')));
      res.on('error', reject);
      res.pipe(process.stdout, { end: false });
    });
  } finally {
    client.close();
  }
}
