// One pod start, as a timeline: the CLI's spawn, each Docker event of the pod's
// containers, and each change of the pod in the API, in ms from the spawn.
// usage (against a running daemon): MINIPOD_HOME=… MINIPOD_NODE_NAME=… node bench/tools/timeline.mjs [name]
import { spawn } from 'node:child_process';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';

const docker = new Docker();
const home = process.env.MINIPOD_HOME;
const node = process.env.MINIPOD_NODE_NAME;
const name = process.argv[2] ?? `tl-${Date.now().toString(36)}`;
const file = join(home, `${name}.yaml`);
writeFileSync(file, `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n  - name: app\n    image: minipod/testbox:1\n    command: ["sleep", "3600"]\n`);
const lines = [];
let t0;
const at = (what) => lines.push([performance.now() - t0, what]);

const events = await docker.getEvents({ filters: { type: ['container'], label: [`minipod.io/node=${node}`] } });
events.on('data', (b) => {
  for (const l of b.toString().split('\n').filter(Boolean)) {
    const e = JSON.parse(l);
    if (e.Actor.Attributes['io.kubernetes.pod.name'] === name) at(`docker ${e.Action} ${e.Actor.Attributes['io.kubernetes.container.name']}`);
  }
});
const watch = http.get({ socketPath: join(home, 'minipod.sock'), path: `/api/v1/namespaces/default/pods?watch=true&fieldSelector=metadata.name%3D${name}`, agent: false }, (res) => {
  let buf = '';
  res.on('data', (c) => {
    buf += c;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const e = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      at(`api ${e.type} rv=${e.object.metadata.resourceVersion} node=${e.object.spec?.nodeName ?? '-'} phase=${e.object.status?.phase ?? '-'}`);
    }
  });
});
await new Promise((r) => setTimeout(r, 200));
t0 = performance.now();
const cli = spawn(process.execPath, ['bin/minipod', 'apply', '-f', file, '--wait'], { stdio: 'ignore' });
await new Promise((r) => cli.on('exit', r));
at('cli exit');
await new Promise((r) => setTimeout(r, 300));
for (const [ms, what] of lines.sort((a, b) => a[0] - b[0])) console.log(`${ms.toFixed(1).padStart(8)} ms  ${what}`);
watch.destroy();
events.destroy();
spawn(process.execPath, ['bin/minipod', 'delete', 'pod', name, '--grace-period=0', '--force'], { stdio: 'ignore' });
