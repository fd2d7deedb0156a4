// The CLI's API client: the daemon's socket under $MINIPOD_HOME.
import { Client } from '../client/client.js';
import { paths } from '../config.js';

const warned = new Set<string>();

/** As kubectl: each distinct warning the API server sends, once, on stderr. */
export function printWarning(text: string): void {
  if (warned.has(text)) return;
  warned.add(text);
  process.stderr.write(`Warning: ${text}\n`);
}

export function connect(): Client {
  return new Client({ socketPath: paths.socket(), onWarning: printWarning });
}
