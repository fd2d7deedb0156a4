// Port forwarding over a WebSocket: the pods/portforward subresource, as
// Kubernetes serves it to WebSocket clients (the kubelet's
// cri/streaming/portforward/websocket.go; what the JavaScript client's
// PortForward speaks). The CLI opens it on the API server, which tunnels it to the
// kubelet of the pod's node; the kubelet connects to the pod.
//
//   API server: GET /api/v1/namespaces/{ns}/pods/{name}/portforward?ports=8080[&ports=…]
//   kubelet:    GET /portForward/{ns}/{name}?port=8080[&port=…]
//   Upgrade: websocket, Sec-WebSocket-Protocol: v5.channel.k8s.io or v4.channel.k8s.io
//
// Each requested port i has two channels: 2i carries the connection's bytes both
// ways, 2i+1 carries an error message from the kubelet (e.g. the pod refused the
// connection). Every binary message starts with its channel byte. The kubelet's
// first message on each channel is the port as a little-endian uint16. There is one
// TCP connection to the pod per port per WebSocket: a client opens one WebSocket
// per accepted connection, as kubectl opens one stream pair per connection.
// With v5 either side may send [255, channel]: it will send no more bytes on that
// channel (a TCP half-close, FIN); v4 has no such message, so there the end of
// the pod's connection ends the WebSocket. The kubelet closes the WebSocket
// (1000) once every port's connection to the pod has closed.
import type http from 'node:http';
import type net from 'node:net';
import WebSocket from 'ws';
import type { Status } from '../api/types.js';
import { ApiStatusError, type Client, ConnectionError, resourcePath } from './client.js';
import { STREAM_PROTOCOLS, STREAM_PROTOCOL_V5, UpgradeError } from './remotecommand.js';

export const PORT_FORWARD_PROTOCOLS = STREAM_PROTOCOLS;
/** v5's "this channel is done" message: [CLOSE_CHANNEL, channel]. */
export const CLOSE_CHANNEL = 255;
/** Pause a reader while this much is queued on the WebSocket. */
export const MAX_BUFFERED = 1 << 20;

export const dataChannel = (portIndex: number) => 2 * portIndex;
export const errorChannel = (portIndex: number) => 2 * portIndex + 1;

export function frame(channel: number, data: Buffer | number[] = []): Buffer {
  return Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(data) ? data : Buffer.from(data)]);
}

/**
 * Copies a TCP socket's bytes onto a channel of the WebSocket. The socket is
 * paused while the WebSocket is more than MAX_BUFFERED behind, so a fast sender
 * cannot fill the memory of a slow path.
 */
export function socketToChannel(socket: net.Socket, ws: WebSocket, channel: number): void {
  socket.on('data', (chunk: Buffer) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(frame(channel, chunk), () => {
      if (socket.isPaused() && ws.bufferedAmount < MAX_BUFFERED / 2) socket.resume();
    });
    if (ws.bufferedAmount > MAX_BUFFERED) socket.pause();
  });
}

/** Writes a channel's payload to the socket; the WebSocket is paused while the socket is behind. */
export function channelToSocket(ws: WebSocket, socket: net.Socket, payload: Buffer): void {
  if (!payload.length || socket.destroyed || socket.writableEnded) return;
  if (!socket.write(payload) && !ws.isPaused) {
    ws.pause();
    const resume = () => {
      socket.off('drain', resume);
      socket.off('close', resume);
      ws.resume();
    };
    socket.on('drain', resume);
    socket.on('close', resume);
  }
}

/** What the kubelet said on the error channel: the connection to the pod failed. */
export class PortForwardError extends Error {}

/**
 * Forwards one accepted local connection to `port` of a pod through the API
 * server. Resolves when the connection is over; rejects when the tunnel could not
 * be opened (ApiStatusError, UpgradeError, ConnectionError) or the kubelet
 * reported an error (PortForwardError). The local socket should be created with
 * allowHalfOpen, so that a client's FIN can travel to the pod while the answer
 * comes back.
 */
export function forwardConnection(client: Client, namespace: string, pod: string, port: number, conn: net.Socket): Promise<void> {
  const path = `${resourcePath('pods', namespace, pod, 'portforward')}?ports=${port}`;
  const { server, socketPath, token } = client.opts;
  const url = server ? `${server.replace(/^http/, 'ws')}${path}` : `ws+unix://${socketPath}:${path}`;
  conn.pause(); // keep the client's first bytes until the tunnel is up
  const ws = new WebSocket(url, PORT_FORWARD_PROTOCOLS, { headers: token ? { Authorization: `Bearer ${token}` } : {} });

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let errorText = '';
    const portPrefix = [true, true]; // the first message on each channel starts with the port
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err) {
        ws.terminate();
        conn.destroy();
        reject(err);
        return;
      }
      if (errorText) {
        conn.destroy();
        reject(new PortForwardError(errorText));
        return;
      }
      // The pod's side is over: flush what it sent, then let the client go.
      if (!conn.destroyed) conn.end(() => conn.destroy());
      resolve();
    };

    ws.on('unexpected-response', (_req, res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8').trim();
        try {
          const status = JSON.parse(text) as Status;
          if (status.kind === 'Status') return finish(new ApiStatusError(status));
        } catch {
          // not a Status: the kubelet's plain-text answer
        }
        finish(new UpgradeError(`unable to upgrade connection: ${text || res.statusMessage}`));
      });
    });
    let abandoned = false; // the client left before the tunnel was up
    conn.on('error', () => {}); // its 'close' follows, and says all there is to say
    conn.on('close', () => {
      if (ws.readyState === WebSocket.CONNECTING) {
        abandoned = true;
        ws.terminate();
      } else ws.close(1000);
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      if (abandoned) return finish();
      const unreachable = ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EACCES', 'ENOTSOCK'].includes(err.code ?? '');
      finish(unreachable ? new ConnectionError(client.endpoint, err) : err);
    });
    ws.on('open', () => {
      const v5 = ws.protocol === STREAM_PROTOCOL_V5;
      socketToChannel(conn, ws, dataChannel(0));
      conn.on('end', () => {
        // The client will send no more: tell the pod (v5), or, with no way to say
        // it (v4), end the client's connection too once the pod's answer is in.
        if (v5 && ws.readyState === WebSocket.OPEN) ws.send(frame(CLOSE_CHANNEL, [dataChannel(0)]));
      });
      conn.resume();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary || data.length === 0) return;
      const channel = data[0];
      let payload = data.subarray(1);
      if (channel === dataChannel(0) || channel === errorChannel(0)) {
        if (portPrefix[channel]) {
          portPrefix[channel] = false;
          payload = payload.subarray(2);
        }
        if (channel === dataChannel(0)) channelToSocket(ws, conn, payload);
        else errorText += payload.toString('utf8');
      } else if (channel === CLOSE_CHANNEL && payload[0] === dataChannel(0)) {
        if (!conn.destroyed) conn.end(); // the pod closed its side
      }
    });
    ws.on('close', () => finish());
  });
}
