// `apply --wait`: one line per pod that moves through Scheduled → Pulling (bytes
// and percent) → Init N/M → ContainerCreating → Running → Ready, redrawn in place
// on a terminal and printed as plain lines otherwise; then each pod's time.
import { podStatusReason } from '../api/printers.js';
import type { Event, Pod } from '../api/types.js';
import type { Client } from '../client/client.js';
import { type WaitFor, WaitError, hopeless, reached } from './wait.js';

interface Tracked {
  key: string;
  name: string;
  pod?: Pod;
  pull?: string;
  stage: string;
  doneAt?: number;
}

/** What a person would call the pod's current step. */
export function stageOf(pod: Pod | undefined, pull: string | undefined): string {
  if (!pod) return 'Pending';
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  if (!pod.spec.nodeName) {
    const unsched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    return unsched ? `FailedScheduling: ${unsched.message}` : 'Pending';
  }
  const reason = podStatusReason(pod);
  if (pull && /^(Pending|ContainerCreating|PodInitializing|Init:\d+\/\d+)$/.test(reason)) return pull.replace(/^Pulling image/, 'Pulling');
  if (reason === 'Running' && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return 'Ready';
  if (reason === 'Pending' && !pod.status?.containerStatuses) return 'Scheduled';
  return reason;
}

export async function waitWithProgress(client: Client, pods: Pod[], target: WaitFor, timeoutMs: number, tty: boolean, out = process.stdout): Promise<void> {
  const started = Date.now();
  const tracked = new Map<string, Tracked>(
    pods.map((p) => {
      const key = `${p.metadata.namespace}/${p.metadata.name}`;
      return [key, { key, name: p.metadata.name!, stage: 'Pending' }];
    }),
  );
  const byUid = new Map<string, Tracked>();
  let drawn = 0;
  const elapsed = (t?: number) => `${(((t ?? Date.now()) - started) / 1000).toFixed(1)}s`;
  const draw = () => {
    if (!tty) return;
    const width = Math.max(...[...tracked.values()].map((t) => t.name.length)) + 4;
    const lines = [...tracked.values()].map((t) => `${`pod/${t.name}`.padEnd(width + 4)}${t.stage.padEnd(40)} ${elapsed(t.doneAt)}`);
    out.write((drawn ? `\x1b[${drawn}A` : '') + lines.map((l) => `\x1b[2K${l}\n`).join(''));
    drawn = lines.length;
  };
  const update = (t: Tracked) => {
    const stage = stageOf(t.pod, t.pull);
    if (stage === t.stage) return;
    t.stage = stage;
    if (!tty) out.write(`pod/${t.name}: ${stage} (${elapsed()})\n`);
  };
  const [podList, eventList] = await Promise.all([client.listPods(undefined), client.listEvents(undefined)]);
  let failure: string | undefined;
  const onPod = (pod: Pod) => {
    const t = tracked.get(`${pod.metadata.namespace}/${pod.metadata.name}`);
    if (!t) return;
    t.pod = pod;
    byUid.set(pod.metadata.uid!, t);
    update(t);
    if (!t.doneAt && reached(pod, target)) t.doneAt = Date.now();
    failure ??= t.doneAt ? undefined : hopeless(pod);
  };
  const onEvent = (e: Event) => {
    const t = byUid.get(e.involvedObject.uid ?? '');
    if (!t) return;
    if (e.reason === 'PullProgress' || e.reason === 'Pulling') t.pull = e.message;
    if (e.reason === 'Pulled' || e.reason === 'Failed') t.pull = undefined;
    update(t);
  };
  podList.items.forEach(onPod);
  eventList.items.filter((e) => Date.parse(e.lastTimestamp ?? '') >= started - 1000).forEach(onEvent);
  const finished = () => failure !== undefined || [...tracked.values()].every((t) => t.doneAt);
  const ticker = tty ? setInterval(draw, 100) : undefined;
  draw();
  try {
    if (!finished()) {
      await new Promise<void>((resolve, reject) => {
        const stopAll = () => {
          clearTimeout(timer);
          pw.stop();
          ew.stop();
        };
        const check = () => {
          if (finished()) {
            stopAll();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          stopAll();
          const late = [...tracked.values()].filter((t) => !t.doneAt).map((t) => `pod/${t.name} (${t.stage})`);
          reject(new WaitError(`timed out after ${timeoutMs / 1000}s waiting for ${late.join(', ')} to be ${target}`));
        }, timeoutMs);
        const pw = client.watch<Pod>('pods', undefined, { resourceVersion: podList.metadata.resourceVersion }, (e) => {
          if (e.type === 'ADDED' || e.type === 'MODIFIED') onPod(e.object);
          check();
        });
        const ew = client.watch<Event>('events', undefined, { resourceVersion: eventList.metadata.resourceVersion }, (e) => {
          if (e.type === 'ADDED' || e.type === 'MODIFIED') onEvent(e.object);
        });
        pw.done.catch(reject);
      });
    }
  } finally {
    if (ticker) clearInterval(ticker);
    draw();
  }
  if (failure) throw new WaitError(failure);
  for (const t of tracked.values()) out.write(`pod/${t.name} ${target === 'Ready' ? 'Ready' : t.stage === 'Ready' ? 'Running and Ready' : t.stage} in ${elapsed(t.doneAt)}\n`);
}
