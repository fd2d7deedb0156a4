// `minipod wait --for=condition=Ready|--for=delete|--for=jsonpath='{…}'=VALUE pod/NAME…`
// as kubectl wait: a watch per request, `pod/NAME condition met` for each pod.
import type { Pod } from '../../api/types.js';
import { connect } from '../connect.js';
import { UsageError } from '../output.js';
import { parseDuration } from './apply.js';
import { resourceOf } from './get.js';

export interface WaitOptions {
  for?: string;
  timeout?: string;
  namespace?: string;
  selector?: string;
  all?: boolean;
}

type Predicate = (pod: Pod | undefined) => boolean;

async function predicate(spec: string | undefined): Promise<Predicate> {
  if (!spec) throw new UsageError('--for must be set: delete, condition=NAME[=VALUE] or jsonpath={…}[=VALUE]');
  if (spec === 'delete') return (pod) => pod === undefined;
  const cond = /^condition=([^=]+)(?:=(.*))?$/.exec(spec);
  if (cond) {
    const want = (cond[2] ?? 'true').toLowerCase();
    return (pod) => pod?.status?.conditions?.some((c) => c.type.toLowerCase() === cond[1].toLowerCase() && c.status.toLowerCase() === want) ?? false;
  }
  const jp = /^jsonpath=(\{.*\})(?:=(.*))?$/.exec(spec);
  if (jp) {
    const { JsonPath } = await import('../jsonpath.js');
    const path = JsonPath.parse(jp[1]);
    const want = jp[2]?.replace(/^(['"])(.*)\1$/, '$2');
    return (pod) => {
      if (!pod) return false;
      const results = path.findResults(pod).flat();
      if (!results.length) return false;
      return want === undefined || results.some((r) => String(r) === want);
    };
  }
  throw new UsageError(`unrecognized condition: "${spec}"`);
}

export async function waitFor(args: string[], opts: WaitOptions): Promise<void> {
  const met = await predicate(opts.for);
  const ns = opts.namespace ?? 'default';
  // `pod/a pod/b`, or `pods a b`, or `pods -l SEL`.
  const names: string[] = [];
  const bare = args[0] && !args[0].includes('/') ? args.shift()! : undefined;
  if (bare && resourceOf(bare).resource !== 'pods') throw new UsageError('minipod waits on pods');
  for (const a of args) {
    const { resource, name } = a.includes('/') ? resourceOf(a) : { resource: 'pods', name: a };
    if (resource !== 'pods') throw new UsageError('minipod waits on pods');
    names.push(name!);
  }
  if (!names.length && !opts.selector && !opts.all) throw new UsageError('resource(s) were provided, but no name was specified');
  const timeoutMs = parseDuration(opts.timeout ?? '30s');
  const client = connect();
  try {
    const list = await client.listPods(ns, { labelSelector: opts.selector });
    const wanted = new Map<string, Pod | undefined>();
    if (names.length) {
      for (const n of names) wanted.set(n, list.items.find((p) => p.metadata.name === n));
      for (const [n, pod] of wanted) {
        if (!pod && opts.for !== 'delete') throw new UsageError(`pods "${n}" not found`);
      }
    } else {
      for (const p of list.items) wanted.set(p.metadata.name!, p);
      if (!wanted.size) throw new UsageError('no matching resources found');
    }
    const pending = new Set(wanted.keys());
    const settle = (name: string, pod: Pod | undefined) => {
      if (pending.has(name) && met(pod)) {
        pending.delete(name);
        console.log(`pod/${name} condition met`);
      }
    };
    for (const [n, p] of wanted) settle(n, p);
    if (!pending.size) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        w.stop();
        reject(new UsageError(`timed out waiting for the condition on ${[...pending].map((n) => `pods/${n}`).join(', ')}`));
      }, timeoutMs);
      const w = client.watch<Pod>('pods', ns, { resourceVersion: list.metadata.resourceVersion }, (e) => {
        const name = e.object.metadata?.name;
        if (!name || e.type === 'BOOKMARK' || e.type === 'ERROR') return;
        settle(name, e.type === 'DELETED' ? undefined : e.object);
        if (!pending.size) {
          clearTimeout(timer);
          w.stop();
          resolve();
        }
      });
      w.done.catch((err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  } finally {
    client.close();
  }
}
