// Records Kubernetes Events through the API, as client-go's event recorder does:
// a repeat of the same event within ten minutes bumps its count instead of
// creating another object. Each event is also one structured log line (pod, uid,
// container, reason), so that the daemon log tells the same story as the events.
import type { Logger } from 'pino';
import type { Event, Pod } from '../api/types.js';
import { resourcePath } from '../api/api-resources.js';
import type { Client } from './client.js';

const AGGREGATE_MS = 10 * 60_000;

export class EventRecorder {
  private recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();

  constructor(
    private client: Client,
    private component: string,
    private host?: string,
    private log?: Logger,
  ) {}

  private onError(err: Error): void {
    this.log?.warn({ err }, 'event not recorded');
  }

  private logEvent(pod: Pod, level: 'info' | 'warn' | 'debug', reason: string, message: string, fieldPath?: string): void {
    if (!this.log?.isLevelEnabled(level)) return;
    const container = /^spec\.(?:initContainers|containers|ephemeralContainers)\{(.+)\}$/.exec(fieldPath ?? '')?.[1];
    this.log[level]({ pod: `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`, uid: pod.metadata.uid, ...(container ? { container } : {}), reason }, message);
  }

  /**
   * An event whose message is rewritten as work goes on (pull progress): created
   * once, then patched, at most every `everyMs`. Returns a function to call with
   * each new message.
   */
  progress(pod: Pod, reason: string, fieldPath: string | undefined, everyMs = 500): (message: string) => void {
    let name: Promise<string | undefined> | undefined;
    let last = 0;
    return (message: string) => {
      const now = Date.now();
      if (now - last < everyMs) return;
      last = now;
      this.logEvent(pod, 'debug', reason, message, fieldPath);
      const ns = pod.metadata.namespace ?? 'default';
      if (!name) {
        name = this.client
          .createEvent(ns, this.build(pod, 'Normal', reason, message, fieldPath))
          .then((e) => e.metadata.name, (err: Error) => (this.onError(err), undefined));
        return;
      }
      void name.then((n) => {
        if (!n) return;
        return this.client
          .request('PATCH', resourcePath('events', ns, n), { message, lastTimestamp: new Date().toISOString() }, 'application/merge-patch+json')
          .catch((err: Error) => this.onError(err));
      });
    };
  }

  /** Fire and forget: an event that cannot be written must not stop the caller. */
  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void {
    this.logEvent(pod, type === 'Warning' ? 'warn' : 'info', reason, message, fieldPath);
    void this.record(pod, type, reason, message, fieldPath).catch((err: Error) => this.onError(err));
  }

  private async record(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string) {
    const ns = pod.metadata.namespace ?? 'default';
    const key = `${pod.metadata.uid}|${fieldPath ?? ''}|${reason}|${message}`;
    const now = new Date().toISOString();
    const seen = this.recent.get(key);
    if (seen && Date.now() - seen.at < AGGREGATE_MS) {
      seen.count++;
      seen.at = Date.now();
      await this.client.request('PATCH', resourcePath('events', ns, seen.name), { count: seen.count, lastTimestamp: now }, 'application/merge-patch+json');
      return;
    }
    const created = await this.client.createEvent(ns, this.build(pod, type, reason, message, fieldPath));
    this.recent.set(key, { name: created.metadata.name!, namespace: ns, count: 1, at: Date.now() });
    if (this.recent.size > 5000) this.recent.delete(this.recent.keys().next().value!);
  }

  private build(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): Event {
    const ns = pod.metadata.namespace ?? 'default';
    const now = new Date().toISOString();
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${pod.metadata.name}.`, namespace: ns },
      involvedObject: {
        kind: 'Pod',
        namespace: ns,
        name: pod.metadata.name,
        uid: pod.metadata.uid,
        apiVersion: 'v1',
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      type,
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
  }
}
