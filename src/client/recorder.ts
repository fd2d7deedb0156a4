// Records Kubernetes Events through the API, as client-go's event recorder does:
// a repeat of the same event within ten minutes bumps its count instead of
// creating another object.
import type { Event, Pod } from '../api/types.js';
import type { Client } from './client.js';

const AGGREGATE_MS = 10 * 60_000;

export class EventRecorder {
  private recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();

  constructor(
    private client: Client,
    private component: string,
    private host?: string,
    private onError: (err: Error) => void = () => {},
  ) {}

  /** Fire and forget: an event that cannot be written must not stop the caller. */
  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void {
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
      await this.client.request('PATCH', `/api/v1/namespaces/${ns}/events/${seen.name}`, { count: seen.count, lastTimestamp: now }, 'application/merge-patch+json');
      return;
    }
    const ev: Event = {
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
    const created = await this.client.createEvent(ns, ev);
    this.recent.set(key, { name: created.metadata.name!, namespace: ns, count: 1, at: Date.now() });
    if (this.recent.size > 5000) this.recent.delete(this.recent.keys().next().value!);
  }
}
