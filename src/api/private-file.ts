// Secrets on disk (keys, tokens, certificates): mode 0600 from birth, and written
// by rename, so that a reader (a daemon reloading its certificate) never sees half a file.
import { chmodSync, renameSync, writeFileSync } from 'node:fs';

export function writePrivateFile(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
