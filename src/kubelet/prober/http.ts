// httpGet probe (pkg/probe/http): GET scheme://host:port/path with the user's
// headers, `User-Agent: kube-probe/minipod` and `Accept: */*` unless set, no
// keep-alive, TLS without verification. 200–399 is success. Redirects to the
// same host are followed (at most 10); a redirect elsewhere ends the probe as a
// success with a warning. At most 10 KiB of the body is read. The timeout
// covers the whole exchange, redirects included (Go's Client.Timeout).
import http from 'node:http';
import https from 'node:https';
import { dialError, type ProbeOutcome } from './types.js';

export const USER_AGENT = 'kube-probe/minipod';
export const MAX_BODY_BYTES = 10 * 1024;
const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface HttpProbeRequest {
  scheme: string; // HTTP | HTTPS
  host: string;
  port: number;
  path: string;
  headers?: { name: string; value: string }[];
}

/** http.Header semantics: names case-insensitive, repeated names keep every value. */
export function probeHeaders(given: { name: string; value: string }[] = []): Record<string, string | string[]> {
  const byName = new Map<string, { name: string; values: string[] }>();
  for (const h of given) {
    const key = h.name.toLowerCase();
    const e = byName.get(key) ?? { name: h.name, values: [] };
    e.values.push(h.value);
    byName.set(key, e);
  }
  if (!byName.has('user-agent')) byName.set('user-agent', { name: 'User-Agent', values: [USER_AGENT] });
  const accept = byName.get('accept');
  if (!accept) byName.set('accept', { name: 'Accept', values: ['*/*'] });
  else if (accept.values[0] === '') byName.delete('accept'); // set but empty: sent without one
  const out: Record<string, string | string[]> = {};
  for (const { name, values } of byName.values()) out[name] = values.length === 1 ? values[0] : values;
  return out;
}

export function probeURL(r: HttpProbeRequest): URL {
  const host = r.host.includes(':') ? `[${r.host}]` : r.host;
  const path = r.path ? (r.path.startsWith('/') ? r.path : `/${r.path}`) : '/';
  return new URL(`${r.scheme.toLowerCase()}://${host}:${r.port}${path}`);
}

interface Answer {
  status: number;
  location?: string;
  body: string;
}

export async function httpProbe(r: HttpProbeRequest, timeoutMs: number): Promise<ProbeOutcome> {
  const first = probeURL(r);
  const headers = probeHeaders(r.headers);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let url = first;
  try {
    for (let redirects = 0; ; redirects++) {
      let answer: Answer;
      try {
        answer = await get(url, headers, abort.signal);
      } catch (err) {
        return { result: 'failure', output: `Get ${JSON.stringify(url.href)}: ${describe(err as NodeJS.ErrnoException, url, abort.signal.aborted)}` };
      }
      const next = REDIRECTS.has(answer.status) && answer.location ? new URL(answer.location, url) : undefined;
      if (next && next.hostname === first.hostname) {
        if (redirects + 1 >= MAX_REDIRECTS) return { result: 'failure', output: `Get ${JSON.stringify(next.href)}: stopped after ${MAX_REDIRECTS} redirects` };
        url = next;
        continue;
      }
      if (answer.status >= 200 && answer.status < 300) return { result: 'success', output: answer.body };
      if (answer.status >= 300 && answer.status < 400) return { result: 'warning', output: `Probe terminated redirects, Response body: ${answer.body}` };
      return { result: 'failure', output: `HTTP probe failed with statuscode: ${answer.status}` };
    }
  } finally {
    clearTimeout(timer);
  }
}

function get(url: URL, headers: Record<string, string | string[]>, signal: AbortSignal): Promise<Answer> {
  const secure = url.protocol === 'https:';
  const options: https.RequestOptions = {
    method: 'GET',
    headers,
    agent: false, // keep-alives off, as the kubelet's transport
    signal,
    ...(secure ? { rejectUnauthorized: false } : {}),
  };
  return new Promise<Answer>((resolve, reject) => {
    const req = (secure ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: Buffer.concat(chunks).toString('utf8') });
      };
      res.on('data', (chunk: Buffer) => {
        const room = MAX_BODY_BYTES - size;
        chunks.push(chunk.subarray(0, room));
        size += Math.min(chunk.length, room);
        if (size >= MAX_BODY_BYTES) done(); // read no further
      });
      res.once('end', done);
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}

function describe(err: NodeJS.ErrnoException, url: URL, timedOut: boolean): string {
  if (timedOut) return 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)';
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  if (err.code === 'ECONNRESET') return 'read: connection reset by peer';
  if (err.code && err.syscall === 'connect') return dialError(url.hostname.replace(/^\[|\]$/g, ''), port, err);
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return dialError(url.hostname, port, err);
  return err.message;
}
