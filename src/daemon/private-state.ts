// $MINIPOD_HOME holds the store, the token, the TLS key and the log: private to
// its owner whatever the umask was or what an older version left there. The home
// is forced to 0700 and every file directly in it to 0600 (the pods/ tree keeps
// the modes the kubelet gives volumes, which containers of any user must reach).
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function securePrivateState(home: string, files: string[] = []): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  chmodSync(home, 0o700);
  // Files that others create later (the log, by pino) are made here first, private.
  for (const f of files) closeSync(openSync(f, 'a', 0o600));
  for (const name of readdirSync(home)) {
    const path = join(home, name);
    const st = lstatSync(path);
    if (st.isFile() || st.isSocket()) chmodSync(path, 0o600);
  }
}
