// The kubelet's side of pods/portforward (cri/streaming/portforward/websocket.go):
// for each requested port, one TCP connection to the pod, bridged to that port's
// channels of the WebSocket (protocol in client/portforward.ts). The pod is reached
// at its IP on the node's bridge — the same network namespace its containers
// listen in — or at 127.0.0.1 for a hostNetwork pod.
import net from 'node:net';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { CLOSE_CHANNEL, channelToSocket, dataChannel, errorChannel, frame, socketToChannel } from '../client/portforward.js';
import { STREAM_PROTOCOL_V5 } from '../client/remotecommand.js';

/** The `port` query parameters as the kubelet reads them (NewV4Options); a message on error. */
export function parsePortForwardPorts(q: URLSearchParams): number[] {
  const values = q.getAll('port');
  if (!values.length) throw new Error('query parameter "port" is required');
  const ports: number[] = [];
  for (const value of values) {
    if (!value) throw new Error('query parameter "port" cannot be empty');
    for (const p of value.split(',')) {
      if (!/^\d+$/.test(p)) throw new Error(`unable to parse "${p}" as a port: strconv.ParseUint: parsing "${p}": invalid syntax`);
      const port = Number(p);
      if (port > 65535) throw new Error(`unable to parse "${p}" as a port: strconv.ParseUint: parsing "${p}": value out of range`);
      if (port < 1) throw new Error(`port "${value}" must be > 0`);
      ports.push(port);
    }
  }
  return ports;
}

export interface PortForwardTarget {
  /** Where the pod listens: its IP, or 127.0.0.1 for hostNetwork. */
  host: string;
  ports: number[];
  /** name_namespace, as the kubelet names a pod in its errors. */
  podFullName: string;
  uid: string;
}

/** Go's wording of a failed dial or a broken connection. */
function netError(host: string, port: number, err: NodeJS.ErrnoException): string {
  const addr = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const what: Record<string, string> = {
    ECONNREFUSED: `dial tcp ${addr}: connect: connection refused`,
    EHOSTUNREACH: `dial tcp ${addr}: connect: no route to host`,
    ENETUNREACH: `dial tcp ${addr}: connect: network is unreachable`,
    ETIMEDOUT: `dial tcp ${addr}: i/o timeout`,
    ECONNRESET: `read tcp ${addr}: read: connection reset by peer`,
    EPIPE: `write tcp ${addr}: write: broken pipe`,
  };
  return what[err.code ?? ''] ?? `${addr}: ${err.message}`;
}

/** Serves one port-forward WebSocket; close() ends it (the kubelet is stopping). */
export function servePortForward(ws: WebSocket, target: PortForwardTarget, log: Logger): { close(): void } {
  const v5 = ws.protocol === STREAM_PROTOCOL_V5;
  const sockets: net.Socket[] = [];
  let open = target.ports.length;
  const portDone = () => {
    if (--open === 0 && ws.readyState === WebSocket.OPEN) ws.close(1000);
  };

  target.ports.forEach((port, i) => {
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(port);
    ws.send(frame(dataChannel(i), portBytes));
    ws.send(frame(errorChannel(i), portBytes));

    const socket = net.connect({ host: target.host, port, allowHalfOpen: true });
    sockets[i] = socket;
    socketToChannel(socket, ws, dataChannel(i));
    socket.on('end', () => {
      // The pod will send no more. v5 can say so and keep the other way open; v4 cannot.
      if (v5 && ws.readyState === WebSocket.OPEN) ws.send(frame(CLOSE_CHANNEL, [dataChannel(i)]));
      else socket.end();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const message = `error forwarding port ${port} to pod ${target.podFullName}, uid ${target.uid}: ${netError(target.host, port, err)}`;
      log.info({ pod: target.podFullName, port, err: err.message }, 'port forwarding failed');
      if (ws.readyState === WebSocket.OPEN) ws.send(frame(errorChannel(i), Buffer.from(message)));
    });
    socket.on('close', portDone);
  });

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length === 0) return;
    const channel = data[0];
    if (channel === CLOSE_CHANNEL) {
      const socket = data[1] % 2 === 0 ? sockets[data[1] / 2] : undefined;
      if (v5 && socket && !socket.destroyed) socket.end(); // the client's FIN, passed on
      return;
    }
    const socket = channel % 2 === 0 ? sockets[channel / 2] : undefined; // clients write only data channels
    if (socket) channelToSocket(ws, socket, data.subarray(1));
  });
  const close = () => {
    for (const s of sockets) s.destroy();
  };
  ws.on('close', close);
  ws.on('error', close);
  return {
    close: () => {
      close();
      ws.terminate();
    },
  };
}
