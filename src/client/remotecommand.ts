// Kubernetes' remote command protocol over a WebSocket (v5.channel.k8s.io, and
// v4 for older clients), used by the pods/exec subresource end to end: the CLI
// opens it on the API server, which tunnels it to the kubelet of the pod's node.
//
// Every binary message starts with a channel byte:
//   0 stdin (client → kubelet), 1 stdout, 2 stderr (kubelet → client),
//   3 error: one JSON Status when the command has ended (exit code in
//     details.causes[reason=ExitCode]), then the kubelet closes the socket,
//   4 resize (client → kubelet): JSON {"Width":80,"Height":24},
//   255 close (v5 only): [255, 0] = the client's stdin has ended.
// This is the protocol kubectl ≥ 1.30 and the JavaScript client speak.
import type http from 'node:http';
import WebSocket from 'ws';
import type { Status } from '../api/types.js';
import { ApiStatusError, type Client, ConnectionError, resourcePath } from './client.js';

export const STREAM_PROTOCOL_V5 = 'v5.channel.k8s.io';
export const STREAM_PROTOCOL_V4 = 'v4.channel.k8s.io';
export const STREAM_PROTOCOLS = [STREAM_PROTOCOL_V5, STREAM_PROTOCOL_V4];

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** The Status sent on the error channel: success, or the command's exit code. */
export function exitStatus(exitCode: number, command: string[]): Omit<Status, 'kind' | 'apiVersion' | 'code'> & { code?: number } {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** What the error channel said: an exit code, or an error that is not the command's. */
export function decodeExitStatus(text: string): number {
  const status = JSON.parse(text) as Partial<Status>;
  if (status.status === 'Success') return 0;
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    if (cause) return Number(cause.message);
  }
  throw new Error(status.message ?? 'error stream protocol error: unknown error');
}

export interface ExecRequest {
  container: string;
  command: string[];
  stdin?: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  tty?: boolean;
  /** Called once connected: lets the caller send the terminal's size now and on changes. */
  onOpen?(resize: (width: number, height: number) => void): void;
}

/** The upgrade failed with something other than a Status: kubectl's "unable to upgrade connection". */
export class UpgradeError extends Error {}

/** Runs `command` in a pod's container through the API server; resolves with its exit code. */
export function execInPod(client: Client, namespace: string, pod: string, req: ExecRequest): Promise<number> {
  const q = new URLSearchParams();
  for (const c of req.command) q.append('command', c);
  q.set('container', req.container);
  q.set('stdin', String(!!req.stdin));
  q.set('stdout', 'true');
  q.set('stderr', String(!req.tty));
  q.set('tty', String(!!req.tty));
  const path = `${resourcePath('pods', namespace, pod, 'exec')}?${q}`;
  const { server, socketPath, token } = client.opts;
  const url = server ? `${server.replace(/^http/, 'ws')}${path}` : `ws+unix://${socketPath}:${path}`;
  const ws = new WebSocket(url, STREAM_PROTOCOLS, { headers: token ? { Authorization: `Bearer ${token}` } : {} });

  return new Promise<number>((resolve, reject) => {
    let errorText = '';
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      ws.terminate();
      reject(err);
    };
    ws.on('unexpected-response', (_req, res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8').trim();
        try {
          const status = JSON.parse(text) as Status;
          if (status.kind === 'Status') return fail(new ApiStatusError(status));
        } catch {
          // not a Status: the kubelet's plain-text answer
        }
        fail(new UpgradeError(`unable to upgrade connection: ${text || res.statusMessage}`));
      });
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      const unreachable = ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EACCES', 'ENOTSOCK'].includes(err.code ?? '');
      fail(unreachable ? new ConnectionError(client.endpoint, err) : err);
    });
    ws.on('open', () => {
      const v5 = ws.protocol === STREAM_PROTOCOL_V5;
      const send = (channel: number, data: Buffer | string) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
      };
      req.onOpen?.((width, height) => send(CHANNEL.resize, JSON.stringify({ Width: width, Height: height })));
      if (req.stdin) {
        req.stdin.on('data', (chunk: Buffer | string) => send(CHANNEL.stdin, chunk));
        req.stdin.on('end', () => {
          if (v5 && ws.readyState === WebSocket.OPEN) ws.send(Buffer.from([CHANNEL.close, CHANNEL.stdin]));
        });
      }
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary || data.length === 0) return;
      const payload = data.subarray(1);
      if (data[0] === CHANNEL.stdout) req.stdout.write(payload);
      else if (data[0] === CHANNEL.stderr) req.stderr.write(payload);
      else if (data[0] === CHANNEL.error) errorText += payload.toString('utf8');
    });
    ws.on('close', () => {
      if (settled) return;
      settled = true;
      req.stdin?.removeAllListeners('data');
      if (!errorText) return reject(new Error('the exec stream ended without an exit status'));
      try {
        resolve(decodeExitStatus(errorText));
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}
