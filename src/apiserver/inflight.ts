// Long-running requests held at once by one client: watches, and streams (exec,
// attach, port-forward). Each ties up a connection and a watcher or a tunnel for
// as long as the client likes, so one client may hold only so many; the next is
// answered 429 with the apiserver's max-in-flight text and Retry-After.
import type http from 'node:http';
import { ApiError } from './status.js';

export type LongRunning = 'watch' | 'stream';

export const MAX_PER_CLIENT: Record<LongRunning, number> = {
  watch: Number(process.env.MINIPOD_MAX_WATCHES_PER_CLIENT) || 1000,
  stream: Number(process.env.MINIPOD_MAX_STREAMS_PER_CLIENT) || 100,
};

const held = new Map<string, number>();

/** Who is asking: the credential presented (the unix socket's owner presents none). */
export function clientKey(req: http.IncomingMessage): string {
  return req.headers.authorization ?? '';
}

/**
 * Counts one more long-running request of `kind` for the client until `closed`
 * fires on `stream`; throws 429 when the client is at its limit.
 */
export function admitLongRunning(req: http.IncomingMessage, kind: LongRunning, stream: NodeJS.EventEmitter): void {
  const key = `${kind}\0${clientKey(req)}`;
  const now = held.get(key) ?? 0;
  if (now >= MAX_PER_CLIENT[kind]) throw tooMany();
  held.set(key, now + 1);
  stream.once('close', () => {
    const left = (held.get(key) ?? 1) - 1;
    if (left > 0) held.set(key, left);
    else held.delete(key);
  });
}

export function tooMany(): ApiError {
  return new ApiError(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: 1 });
}
