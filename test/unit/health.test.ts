// Health endpoints answer as the apiserver's do: a plain-text `ok` (scripts and
// load balancers compare the body), not the JSON string "ok".
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Registry } from '../../src/apiserver/registry.js';
import { createApiServer } from '../../src/apiserver/server.js';
import { SqliteStore } from '../../src/store/sqlite.js';

let dir: string;
let store: SqliteStore;
let server: ReturnType<typeof createApiServer>;
beforeAll(async () => {
  dir = mkdtempSync(join(os.tmpdir(), 'minipod-health-'));
  store = new SqliteStore(join(dir, 'store.db'));
  server = createApiServer({ registry: new Registry(store), logger: pino({ level: 'silent' }) });
  await new Promise<void>((resolve) => server.listen(join(dir, 'minipod.sock'), resolve));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: join(dir, 'minipod.sock'), path }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      })
      .on('error', reject);
  });
}

it.each(['/healthz', '/readyz', '/livez'])('%s answers a plain ok', async (path) => {
  expect(await get(path)).toEqual({ status: 200, type: 'text/plain; charset=utf-8', body: 'ok' });
});
