// `minipod delete pod NAME...|-l SEL|--all|-f FILE [--grace-period N] [--force] [--wait]`
import type { Pod } from '../../api/types.js';
import { ApiStatusError } from '../../client/client.js';
import { connect } from '../connect.js';
import { readManifests } from '../manifests.js';
import { UsageError } from '../output.js';
import { waitForDeletion } from '../wait.js';
import { parseDuration } from './apply.js';
import { resourceOf } from './get.js';

export interface DeleteOptions {
  gracePeriod?: string;
  force?: boolean;
  now?: boolean;
  wait?: boolean;
  all?: boolean;
  selector?: string;
  filename?: string[];
  namespace?: string;
  timeout?: string;
  ignoreNotFound?: boolean;
}

export async function deletePods(args: string[], opts: DeleteOptions): Promise<void> {
  const targets: { namespace: string; name: string }[] = [];
  const ns = opts.namespace ?? 'default';
  if (opts.filename?.length) {
    for (const { pod } of await readManifests(opts.filename)) targets.push({ namespace: pod.metadata.namespace ?? ns, name: pod.metadata.name! });
  } else {
    if (!args.length) throw new UsageError('You must provide one or more resources by argument or filename.');
    const [first, ...rest] = args;
    const { resource, name } = resourceOf(first);
    if (resource !== 'pods') throw new UsageError(`deleting ${resource} is not supported; minipod deletes pods`);
    const names = name ? [name, ...rest] : rest;
    if (!names.length && !opts.all && !opts.selector) {
      throw new UsageError('resource(s) were provided, but no name was specified');
    }
    if (names.length && (opts.all || opts.selector)) throw new UsageError('name cannot be provided when a selector or --all is specified');
    targets.push(...names.map((n) => ({ namespace: ns, name: n })));
  }
  let grace = opts.gracePeriod !== undefined ? Number(opts.gracePeriod) : -1;
  if (!Number.isInteger(grace)) throw new UsageError(`invalid argument "${opts.gracePeriod}" for "--grace-period" flag`);
  if (opts.now) {
    if (grace >= 0) throw new UsageError('--now and --grace-period cannot be specified together');
    grace = 1;
  }
  if (opts.force) {
    process.stderr.write('Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n');
    if (grace < 0) grace = 0;
  } else if (grace === 0) {
    grace = 1; // as kubectl: a zero grace period without --force means "as fast as possible, but graceful"
  }
  const client = connect();
  try {
    if (opts.all || opts.selector) {
      const list = await client.listPods(ns, { labelSelector: opts.selector });
      targets.push(...list.items.map((p) => ({ namespace: ns, name: p.metadata.name! })));
      if (!targets.length) {
        process.stderr.write(`No resources found in ${ns} namespace.\n`);
        return;
      }
    }
    const deleted: { namespace: string; name: string; uid?: string }[] = [];
    let failed = false;
    for (const t of targets) {
      try {
        const pod: Pod = await client.deletePod(t.namespace, t.name, grace >= 0 ? { gracePeriodSeconds: grace } : {});
        deleted.push({ ...t, uid: pod.metadata?.uid });
        console.log(`pod "${t.name}" ${opts.force ? 'force deleted' : 'deleted'}`);
      } catch (err) {
        if (err instanceof ApiStatusError && err.code === 404 && opts.ignoreNotFound) continue;
        if (!(err instanceof ApiStatusError)) throw err;
        process.stderr.write(`Error from server (${err.reason}): ${err.message}\n`);
        failed = true;
      }
    }
    if (opts.wait !== false && deleted.length) {
      await waitForDeletion(client, deleted, parseDuration(opts.timeout ?? '10m'));
    }
    if (failed) process.exitCode = 1;
  } finally {
    client.close();
  }
}
