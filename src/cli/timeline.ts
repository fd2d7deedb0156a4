// A pod's lifecycle as a timeline: spans (scheduling, pulls, init containers,
// container runs, back-off waits, readiness, termination) built from the pod's
// status and events, drawn as bars on a shared time axis. Pure: no I/O here.
import type { ContainerStatus, Event, Pod } from '../api/types.js';

export interface Span {
  at: number; // ms since the pod was created
  end?: number; // undefined: an instant, or still going at `now`
  label: string;
  kind: 'info' | 'ok' | 'wait' | 'warn';
  open?: boolean; // still going
}

const t = (s: string | undefined) => (s ? Date.parse(s) : NaN);

function eventTime(e: Event): number {
  return t(e.firstTimestamp ?? e.metadata.creationTimestamp);
}

/** The container named in an event's fieldPath, e.g. spec.containers{web} → web. */
function containerOf(e: Event): string | undefined {
  return /\{(.+)\}$/.exec(e.involvedObject.fieldPath ?? '')?.[1];
}

function runSpans(s: ContainerStatus, kind: 'init' | 'app', origin: number, now: number): Span[] {
  const spans: Span[] = [];
  const who = kind === 'init' ? `init ${s.name}` : s.name;
  const last = s.lastState.terminated;
  if (last?.startedAt) {
    spans.push({ at: t(last.startedAt) - origin, end: t(last.finishedAt) - origin, label: `${who} ran, exited ${last.exitCode} (${last.reason ?? ''})`, kind: last.exitCode === 0 ? 'ok' : 'warn' });
  }
  const st = s.state;
  if (st.running?.startedAt) {
    spans.push({ at: t(st.running.startedAt) - origin, end: now - origin, open: true, label: `${who} running${s.restartCount ? ` (restart ${s.restartCount})` : ''}`, kind: 'ok' });
  } else if (st.terminated?.startedAt) {
    const x = st.terminated;
    spans.push({ at: t(x.startedAt) - origin, end: t(x.finishedAt) - origin, label: `${who} ran, exited ${x.exitCode} (${x.reason ?? ''})`, kind: x.exitCode === 0 ? 'ok' : 'warn' });
  } else if (st.waiting && last?.finishedAt) {
    spans.push({ at: t(last.finishedAt) - origin, end: now - origin, open: true, label: `${who} waiting: ${st.waiting.reason}`, kind: 'wait' });
  }
  return spans;
}

export function buildTimeline(pod: Pod, events: Event[], now = Date.now()): Span[] {
  const origin = t(pod.metadata.creationTimestamp);
  const spans: Span[] = [{ at: 0, label: 'created', kind: 'info' }];
  const sorted = [...events].sort((a, b) => eventTime(a) - eventTime(b));
  const pulling = new Map<string, number>();
  for (const e of sorted) {
    const at = eventTime(e) - origin;
    const c = containerOf(e);
    switch (e.reason) {
      case 'Scheduled':
        spans.push({ at, label: e.message.replace(/^Successfully assigned \S+ to /, 'scheduled to '), kind: 'info' });
        break;
      case 'FailedScheduling':
        spans.push({ at, label: `FailedScheduling: ${e.message}`, kind: 'warn' });
        break;
      case 'Pulling':
        pulling.set(c ?? '', at);
        break;
      case 'Pulled': {
        const from = pulling.get(c ?? '');
        pulling.delete(c ?? '');
        const image = /image "([^"]+)"/.exec(e.message)?.[1] ?? '';
        spans.push(from !== undefined ? { at: from, end: at, label: `pull ${image}`, kind: 'info' } : { at, label: `${image} already present`, kind: 'info' });
        break;
      }
      case 'BackOff':
      case 'Unhealthy':
      case 'FailedPostStartHook':
      case 'FailedPreStopHook':
      case 'Failed':
      case 'DeadlineExceeded':
      case 'SandboxChanged':
        spans.push({ at, label: `${e.reason}${e.count && e.count > 1 ? ` ×${e.count}` : ''}: ${e.message}`, kind: 'warn' });
        break;
      case 'Killing':
        spans.push({ at, label: `${e.message} (SIGTERM)`, kind: 'info' });
        break;
      case 'Started':
        if (e.count && e.count > 1) spans.push({ at, label: `${c} started ${e.count} times (last ${((eventTime({ ...e, firstTimestamp: e.lastTimestamp }) - origin) / 1000).toFixed(1)}s)`, kind: 'info' });
        break;
    }
  }
  for (const s of pod.status?.initContainerStatuses ?? []) spans.push(...runSpans(s, 'init', origin, now));
  for (const s of pod.status?.containerStatuses ?? []) spans.push(...runSpans(s, 'app', origin, now));
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
  if (ready?.lastTransitionTime) spans.push({ at: t(ready.lastTransitionTime) - origin, label: 'Ready', kind: 'ok' });
  if (pod.metadata.deletionTimestamp) {
    const deadline = t(pod.metadata.deletionTimestamp) - origin;
    const grace = (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
    spans.push({ at: deadline - grace, end: deadline, label: `terminating: grace period ${grace / 1000}s, then SIGKILL`, kind: 'wait' });
  }
  return spans.filter((s) => Number.isFinite(s.at)).sort((a, b) => a.at - b.at);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
}

/** Draws the spans as rows: offset, a bar on a shared axis, duration, label. */
export function renderTimeline(spans: Span[], width = 40, color = (s: string, _k: Span['kind']) => s): string {
  const total = Math.max(1, ...spans.map((s) => s.end ?? s.at));
  const col = (ms: number) => Math.min(width - 1, Math.round((ms / total) * (width - 1)));
  return spans
    .map((s) => {
      const from = col(Math.max(0, s.at));
      const bar =
        s.end === undefined
          ? ' '.repeat(from) + '│' + ' '.repeat(width - from - 1)
          : ' '.repeat(from) + '█'.repeat(Math.max(1, col(s.end) - from)) + ' '.repeat(Math.max(0, width - Math.max(1, col(s.end) - from) - from));
      const dur = s.end === undefined ? '' : `${seconds(Math.max(0, s.end - s.at))}${s.open ? '+' : ''}`;
      return `${seconds(s.at).padStart(8)}  ${color(bar, s.kind)}  ${dur.padStart(8)}  ${s.label}`;
    })
    .join('\n');
}
