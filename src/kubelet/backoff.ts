// Crash-loop and image-pull back-off, as client-go's flowcontrol.Backoff:
// 10 s doubling to 300 s; an entry older than twice the maximum (10 minutes
// without trouble) starts again from 10 s.
import { type Clock, realClock } from './clock.js';

export const INITIAL_BACKOFF_MS = 10_000;
export const MAX_BACKOFF_MS = 300_000;

interface Entry {
  delayMs: number;
  lastUpdate: number;
}

export class Backoff {
  private entries = new Map<string, Entry>();

  constructor(
    private clock: Clock = realClock,
    private initialMs = INITIAL_BACKOFF_MS,
    private maxMs = MAX_BACKOFF_MS,
  ) {}

  /** The current delay for `key` (0 if none). */
  get(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  /** When the last failure was recorded (ms), or undefined. */
  lastUpdate(key: string): number | undefined {
    return this.entries.get(key)?.lastUpdate;
  }

  /** Records one more failure: the next delay doubles, up to the maximum. */
  next(key: string): void {
    const now = this.clock.now();
    const e = this.entries.get(key);
    if (!e || now - e.lastUpdate > 2 * this.maxMs) {
      this.entries.set(key, { delayMs: this.initialMs, lastUpdate: now });
    } else {
      this.entries.set(key, { delayMs: Math.min(e.delayMs * 2, this.maxMs), lastUpdate: now });
    }
  }

  /** True while less than the current delay has passed since `eventTime` (ms). */
  isInBackOffSince(key: string, eventTime: number): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    if (this.clock.now() - e.lastUpdate > 2 * this.maxMs) return false;
    return this.clock.now() - eventTime < e.delayMs;
  }

  /** Milliseconds until the back-off for `key` that started at `eventTime` ends. */
  remaining(key: string, eventTime: number): number {
    const e = this.entries.get(key);
    return e ? Math.max(0, e.delayMs - (this.clock.now() - eventTime)) : 0;
  }

  /** Forgets entries of a pod (key prefix) once it is gone. */
  forget(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
