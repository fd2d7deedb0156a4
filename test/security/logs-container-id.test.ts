// pods/log reads the container that the pod's status names, and a pod's status is
// writable through the API: a forged containerID must never open another pod's
// (or a user's own) container. The kubelet opens only a container that Docker
// lists with this pod's labels on this node.
import http from 'node:http';
import { join } from 'node:path';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import type { Client } from '../../src/client/client.js';
import { KubeletServer } from '../../src/kubelet/server.js';
import type { DockerRuntime, RuntimeContainer } from '../../src/runtime/docker.js';
import { Readable } from 'node:stream';

const pod = (containerID: string): Pod =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'uid-p' },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] },
    status: { containerStatuses: [{ name: 'c', ready: true, restartCount: 0, image: 'busybox', imageID: '', containerID, state: { running: { startedAt: '' } } }] },
  }) as unknown as Pod;

describe('the logs of a container named by a forged status', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'minipod-logs-'));
  let current = pod('docker://own');
  const opened: string[] = [];
  const ownContainer = { id: 'own', name: 'c', kind: 'container', pod: { uid: 'uid-p' } } as unknown as RuntimeContainer;
  const runtime = {
    listContainers: async (uid?: string) => (uid === 'uid-p' ? [ownContainer] : []),
    containerLogs: async (id: string) => {
      opened.push(id);
      return Readable.from([`log of ${id}\n`]);
    },
  } as unknown as DockerRuntime;
  const client = { getPod: async () => current } as unknown as Client;
  const kubelet = new KubeletServer({ nodeName: 'n1', client, runtime, logger: pino({ level: 'silent' }), socketPath: join(dir, 'k.sock') });
  beforeAll(() => kubelet.start());
  afterAll(async () => {
    await kubelet.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const logs = () =>
    new Promise<{ code: number; body: string }>((resolve, reject) => {
      http
        .get({ socketPath: join(dir, 'k.sock'), path: '/containerLogs/default/p/c' }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });

  it("opens the pod's own container", async () => {
    expect(await logs()).toEqual({ code: 200, body: 'log of own\n' });
  });

  it("refuses another container's ID written into the status, without opening it", async () => {
    opened.length = 0;
    current = pod('docker://someone-elses-container');
    expect(await logs()).toEqual({ code: 400, body: 'container "c" in pod "p" is not available' });
    expect(opened).toEqual([]);
  });
});
