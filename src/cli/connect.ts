// The CLI's API client: the daemon's socket under $MINIPOD_HOME.
import { Client } from '../client/client.js';
import { paths } from '../config.js';

export function connect(): Client {
  return new Client({ socketPath: paths.socket() });
}
