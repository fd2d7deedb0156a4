// tcpSocket probe (pkg/probe/tcp): success when a connection to host:port opens
// within the timeout; the connection is closed at once.
import net from 'node:net';
import { dialError, type ProbeOutcome } from './types.js';

export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ result: 'failure', output: dialError(host, port, Object.assign(new Error('i/o timeout'), { code: 'ETIMEDOUT' })) });
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ result: 'success', output: '' });
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ result: 'failure', output: dialError(host, port, err) });
    });
  });
}
