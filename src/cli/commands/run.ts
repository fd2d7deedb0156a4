// `minipod run NAME --image IMG [--restart Never] [--env K=V] [--port N] [-l k=v] [-- CMD ARGS…]`:
// a quick pod, as `kubectl run` makes it.
import type { Pod } from '../../api/types.js';
import { connect } from '../connect.js';
import { UsageError } from '../output.js';
import { waitForPods } from '../wait.js';
import { parseDuration } from './apply.js';
import { parseKeyValues } from './daemon.js';

export interface RunOptions {
  image?: string;
  restart?: string;
  env?: string[];
  port?: string;
  labels?: string;
  command?: boolean;
  namespace?: string;
  dryRun?: string;
  output?: string;
  imagePullPolicy?: string;
  wait?: boolean;
  timeout?: string;
}

export function runPod(name: string, args: string[], opts: RunOptions): Pod {
  if (!opts.image) throw new UsageError('required flag(s) "image" not set');
  const restart = opts.restart ?? 'Always';
  if (!['Always', 'OnFailure', 'Never'].includes(restart)) throw new UsageError(`invalid restart policy: ${restart}`);
  const env = (opts.env ?? []).map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid env: ${kv}`);
    return { name: kv.slice(0, eq), value: kv.slice(eq + 1) };
  });
  const port = opts.port !== undefined ? Number(opts.port) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new UsageError(`invalid port: ${opts.port}`);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: opts.namespace ?? 'default', labels: opts.labels ? parseKeyValues(opts.labels, '--labels') : { run: name } },
    spec: {
      restartPolicy: restart as 'Always',
      containers: [
        {
          name,
          image: opts.image,
          ...(opts.imagePullPolicy ? { imagePullPolicy: opts.imagePullPolicy as 'Always' } : {}),
          ...(args.length ? (opts.command ? { command: args } : { args }) : {}),
          ...(env.length ? { env } : {}),
          ...(port !== undefined ? { ports: [{ containerPort: port }] } : {}),
        },
      ],
    },
  };
}

export async function run(name: string, args: string[], opts: RunOptions): Promise<void> {
  const pod = runPod(name, args, opts);
  const { validatePod } = await import('../../api/validate.js');
  const problems = validatePod(pod);
  if (problems.length) throw new UsageError(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  if (opts.dryRun === 'client') {
    if (opts.output === 'yaml' || opts.output === 'json') return (await import('../output.js')).printObjects([pod], opts.output, false);
    console.log(`pod/${name} created (dry run)`);
    return;
  }
  const client = connect();
  try {
    await client.createPod(pod.metadata.namespace!, pod);
    console.log(`pod/${name} created`);
    if (opts.wait) await waitForPods(client, [pod], 'Running', parseDuration(opts.timeout ?? '120s'));
  } finally {
    client.close();
  }
}
