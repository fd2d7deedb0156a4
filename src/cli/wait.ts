// Waiting on pods through a watch (never by sleeping): until they run, are ready,
// or are gone; with a deadline and the reason when they cannot get there.
import type { Pod } from '../api/types.js';
import { podStatusReason } from '../api/printers.js';
import type { Client } from '../client/client.js';

export type WaitFor = 'Running' | 'Ready';

const HOPELESS = /^(Init:)?(ErrImagePull|ImagePullBackOff|ErrImageNeverPull|CrashLoopBackOff|CreateContainerError|InvalidImageName)$/;

export class WaitError extends Error {
  name = "WaitError";
}

export function reached(pod: Pod, target: WaitFor): boolean {
  const phase = pod.status?.phase;
  // Running means what STATUS says: every container runs (a pod whose container
  // crashed is in phase Running too, while it waits to restart).
  if (target === 'Running') return phase === 'Succeeded' || (phase === 'Running' && (pod.status?.containerStatuses ?? []).every((s) => s.state.running));
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function hopeless(pod: Pod): string | undefined {
  if (pod.status?.phase === 'Failed') return `pod/${pod.metadata.name} failed: ${podStatusReason(pod)}`;
  const reason = podStatusReason(pod);
  if (HOPELESS.test(reason)) return `pod/${pod.metadata.name} cannot start: ${reason}`;
  const unsched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unsched) return `pod/${pod.metadata.name} cannot be scheduled (FailedScheduling): ${unsched.message ?? ''}`;
  return undefined;
}

/** Resolves when every pod reached `target`; rejects with the first reason it never will. */
export async function waitForPods(client: Client, pods: Pod[], target: WaitFor, timeoutMs: number): Promise<void> {
  const pending = new Map(pods.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
  const list = await client.listPods(undefined);
  const check = (pod: Pod): string | undefined => {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (!pending.has(key)) return undefined;
    if (reached(pod, target)) pending.delete(key);
    else return hopeless(pod);
    return undefined;
  };
  for (const p of list.items) {
    const why = check(p);
    if (why) throw new WaitError(why);
  }
  if (!pending.size) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      w.stop();
      reject(new WaitError(`timed out after ${timeoutMs / 1000}s waiting for ${[...pending.keys()].map((k) => 'pod/' + k.split('/')[1]).join(', ')} to be ${target}`));
    }, timeoutMs);
    const w = client.watch<Pod>('pods', undefined, { resourceVersion: list.metadata.resourceVersion }, (e) => {
      if (e.type === 'DELETED' || e.type === 'ERROR' || e.type === 'BOOKMARK') return;
      const why = check(e.object);
      if (why || !pending.size) {
        clearTimeout(timer);
        w.stop();
        if (why) reject(new WaitError(why));
        else resolve();
      }
    });
    w.done.catch((err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Resolves when each (namespace, name, uid) is gone from the API. */
export async function waitForDeletion(client: Client, pods: { namespace: string; name: string; uid?: string }[], timeoutMs: number): Promise<void> {
  const key = (ns: string, name: string) => `${ns}/${name}`;
  const pending = new Map(pods.map((p) => [key(p.namespace, p.name), p.uid]));
  const list = await client.listPods(undefined);
  const present = new Set(list.items.filter((p) => {
    const uid = pending.get(key(p.metadata.namespace!, p.metadata.name!));
    return uid !== undefined && (!uid || uid === p.metadata.uid);
  }).map((p) => key(p.metadata.namespace!, p.metadata.name!)));
  for (const k of [...pending.keys()]) if (!present.has(k)) pending.delete(k);
  if (!pending.size) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      w.stop();
      reject(new WaitError(`timed out waiting for the deletion of ${[...pending.keys()].map((k) => 'pod/' + k.split('/')[1]).join(', ')}`));
    }, timeoutMs);
    const w = client.watch<Pod>('pods', undefined, { resourceVersion: list.metadata.resourceVersion }, (e) => {
      if (e.type !== 'DELETED') return;
      const k = key(e.object.metadata.namespace!, e.object.metadata.name!);
      const uid = pending.get(k);
      if (uid === undefined || (uid && uid !== e.object.metadata.uid)) return;
      pending.delete(k);
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
}
