// TLS on the TCP listener, next to plain HTTP on the same port. kubectl (client-go)
// sends a bearer token only over TLS (kubernetes/kubectl#744), so the listener
// must speak it; clients that already use http:// keep working. The first byte
// of a connection decides: 0x16 opens a TLS handshake, anything else is HTTP.
// The certificate is the serving leaf that src/api/pki.ts issues from the cluster
// CA ($MINIPOD_HOME/tls.crt, signed by ca.crt); it is sent with the CA, so that a
// node joining with --ca-cert-hash can find the CA it pins in the handshake.
// kubectl trusts it with `certificate-authority: $MINIPOD_HOME/ca.crt`.
import { statSync, readFileSync } from 'node:fs';
import type http from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import { deadline, listenerLimits, type ListenerLimits } from '../api/listener.js';
import { pkiFiles } from '../api/pki-files.js';

/**
 * The serving context from the files under `dir`, read again whenever tls.crt
 * changes (`minipod daemon rotate-certs` takes effect without a restart). A pair
 * caught half-rotated keeps the previous context until the next connection.
 */
export function servingContext(dir: string): () => tls.SecureContext {
  const files = pkiFiles(dir);
  let loadedAt = -1;
  let context: tls.SecureContext | undefined;
  return () => {
    const mtime = statSync(files.cert, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (mtime !== loadedAt || !context) {
      try {
        const chain = readFileSync(files.cert, 'utf8') + readFileSync(files.caCert, 'utf8');
        context = tls.createSecureContext({ cert: chain, key: readFileSync(files.key, 'utf8') });
        loadedAt = mtime;
      } catch (err) {
        if (!context) throw err;
      }
    }
    return context;
  };
}

/**
 * Makes an HTTP server answer TLS too, on the same port: a connection whose
 * first byte opens a TLS handshake is wrapped in a TLS socket before HTTP sees it.
 */
export function acceptTls(server: http.Server, dir: string, limits: ListenerLimits = listenerLimits()): void {
  const context = servingContext(dir);
  context(); // fails here, at start, when the files are missing
  const httpListeners = server.listeners('connection') as ((s: net.Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: net.Socket) => {
    // Until the HTTP parser owns the connection, this deadline is the only one.
    const handedOver = deadline(socket, limits);
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first); // a TLS socket takes over what is buffered; HTTP reads it on resume
      if (first[0] === 0x16) {
        const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context(), ALPNProtocols: ['http/1.1'] });
        secure.on('error', () => secure.destroy()); // a failed handshake ends only that connection
        secure.once('secure', handedOver);
        for (const l of httpListeners) l.call(server, secure);
      } else {
        handedOver();
        for (const l of httpListeners) l.call(server, socket);
        process.nextTick(() => socket.resume());
      }
    });
    socket.on('error', () => socket.destroy());
  });
}
