// Where the cluster's certificates live under a home (see pki.ts), for the code
// that only reads them and need not load an X.509 library.
import { join } from 'node:path';

export interface PkiFiles {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

export const pkiFiles = (dir: string): PkiFiles => ({
  caCert: join(dir, 'ca.crt'),
  caKey: join(dir, 'ca.key'),
  cert: join(dir, 'tls.crt'),
  key: join(dir, 'tls.key'),
});
