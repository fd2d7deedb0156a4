// `minipod apply|create -f`: validate everything first, then create each pod,
// or update its labels and annotations ("configured"), or leave it ("unchanged").
import { applyPodDefaults } from '../../api/defaults.js';
import type { Pod } from '../../api/types.js';
import { ApiStatusError, type Client } from '../../client/client.js';
import { connect } from '../connect.js';
import { readManifests } from '../manifests.js';
import { UsageError } from '../output.js';
import type { WaitFor } from '../wait.js';

export interface ApplyOptions {
  filename?: string[];
  dryRun?: string;
  namespace?: string;
  wait?: string | boolean;
  timeout?: string;
  create?: boolean; // `create`: an existing pod is an error
}

export async function apply(opts: ApplyOptions): Promise<void> {
  const dryRun = opts.dryRun === undefined || opts.dryRun === 'none' ? 'none' : opts.dryRun;
  if (!['none', 'client', 'server'].includes(dryRun)) {
    throw new UsageError(`Invalid dry-run value (${dryRun}). Must be "none", "server", or "client".`);
  }
  const pods = await readManifests(opts.filename ?? []); // `create` without -f: kubectl's "must specify one of -f and -k"
  for (const { pod } of pods) {
    if (opts.namespace && pod.metadata.namespace && pod.metadata.namespace !== opts.namespace) {
      throw new UsageError(
        `the namespace from the provided object "${pod.metadata.namespace}" does not match the namespace "${opts.namespace}". You must pass '--namespace=${pod.metadata.namespace}' to perform this operation.`,
      );
    }
    pod.metadata.namespace ??= opts.namespace ?? 'default';
  }
  if (dryRun === 'client') {
    for (const { pod } of pods) console.log(`pod/${pod.metadata.name} created (dry run)`);
    return;
  }
  const client = connect();
  try {
    let failed = false;
    for (const { pod } of pods) {
      try {
        const verb = await applyOne(client, pod, dryRun === 'server', !!opts.create);
        console.log(`pod/${pod.metadata.name} ${verb}${dryRun === 'server' ? ' (server dry run)' : ''}`);
      } catch (err) {
        if (!(err instanceof ApiStatusError) || pods.length === 1) throw err;
        // Like kubectl: report this one, go on with the others, fail at the end.
        process.stderr.write(`Error from server (${err.reason}): ${err.message}\n`);
        failed = true;
      }
    }
    if (opts.wait !== undefined && opts.wait !== false && dryRun === 'none') {
      const target: WaitFor = opts.wait === 'Ready' ? 'Ready' : 'Running';
      const { waitWithProgress } = await import('../progress.js');
      await waitWithProgress(client, pods.map((p) => p.pod), target, parseDuration(opts.timeout ?? '120s'), !!process.stdout.isTTY);
    }
    if (failed) process.exitCode = 1;
  } finally {
    client.close();
  }
}

async function applyOne(client: Client, pod: Pod, dryRun: boolean, createOnly: boolean): Promise<string> {
  const ns = pod.metadata.namespace!;
  const name = pod.metadata.name;
  let existing: Pod | undefined;
  if (name && !createOnly) {
    try {
      existing = await client.getPod(ns, name);
    } catch (err) {
      if (!(err instanceof ApiStatusError && err.code === 404)) throw err;
    }
  }
  if (!existing) {
    await client.createPod(ns, pod, dryRun);
    return 'created';
  }
  const desired = applyPodDefaults(structuredClone(pod));
  desired.spec.nodeName ??= existing.spec.nodeName;
  const { sortKeys } = await import('../../apiserver/registry.js'); // only to compare with an existing pod
  const same = (a: unknown, b: unknown) => JSON.stringify(sortKeys(a ?? {})) === JSON.stringify(sortKeys(b ?? {}));
  if (
    same(desired.spec, existing.spec) &&
    same(desired.metadata.labels, existing.metadata.labels) &&
    same(desired.metadata.annotations, existing.metadata.annotations)
  ) {
    return 'unchanged';
  }
  if (dryRun) return 'configured';
  const update: Pod = {
    ...desired,
    metadata: { ...existing.metadata, labels: desired.metadata.labels, annotations: desired.metadata.annotations },
  };
  await client.updatePod(update);
  return 'configured';
}

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`invalid duration "${text}": use e.g. 30s, 2m, 1h`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!;
}
