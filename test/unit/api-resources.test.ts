// The resource model (src/api/api-resources.ts): how names resolve, the URLs and
// store keys it gives, that discovery and the routes follow it, and that a new
// resource needs only a declaration and a strategy.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  RESOURCES,
  type ResourceName,
  type ResourceType,
  type ServedResource,
  findResource,
  isServed,
  resourcePath,
  resourceType,
  servedResources,
} from '../../src/api/api-resources.js';
import { parseFieldSelector } from '../../src/api/fields.js';
import { discovery } from '../../src/apiserver/discovery.js';
import { Registry } from '../../src/apiserver/registry.js';
import { createApiServer, parsePath } from '../../src/apiserver/server.js';
import { strategyFor } from '../../src/apiserver/strategy.js';
import { annotate } from '../../src/cli/commands/annotate.js';
import { resourceOf } from '../../src/cli/commands/get.js';
import { label } from '../../src/cli/commands/label.js';
import { main } from '../../src/cli/main.js';
import { UsageError } from '../../src/cli/output.js';
import { Client } from '../../src/client/client.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { keyOf } from '../../src/store/store.js';

// A resource minipod does not have, with a strategy of its own: the strategy
// module answers for it; everything else must follow from its declaration.
const { WIDGET_STRATEGY } = vi.hoisted(() => ({
  WIDGET_STRATEGY: {
    validate: (o: { spec?: { size?: unknown } }) => (typeof o.spec?.size === 'number' ? [] : [{ path: 'spec.size', message: 'Required value' }]),
    prepareForCreate: (o: { status?: unknown }) => void (o.status = { phase: 'New' }),
    table: {
      columns: [
        { name: 'Name', type: 'string', format: 'name', description: 'the name', priority: 0 },
        { name: 'Size', type: 'integer', format: '', description: 'the size', priority: 0 },
      ],
      row: (o: { metadata: { name: string }; spec: { size: number } }) => ({ cells: [o.metadata.name, o.spec.size] }),
    },
  },
}));
vi.mock('../../src/apiserver/strategy.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/apiserver/strategy.js')>();
  return { ...real, strategyFor: (r: ServedResource) => ((r as string) === 'widgets' ? WIDGET_STRATEGY : real.strategyFor(r)) };
});

const WIDGET: ResourceType = {
  group: '', version: 'v1', kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget', shortNames: ['wd'], namespaced: true,
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [{ name: 'status', kind: 'Widget', verbs: ['get', 'patch', 'update'] }],
  selectableFields: ['metadata.name', 'metadata.namespace'],
};

/** Runs a CLI command in this process; what it wrote and the exit code it set. */
async function run(command: () => Promise<void>): Promise<{ stdout: string; stderr: string; code: number }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    await command();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { stdout, stderr, code };
}

// The command line as bin/minipod hands it over. (Vitest cannot follow main's
// variable import of label and annotate: those are called directly.)
const cli = (...args: string[]) => run(() => main(['node', 'minipod', ...args]));

describe('resource names, as kubectl resolves them', () => {
  it.each([
    ['pods', 'pods'], ['pod', 'pods'], ['po', 'pods'], ['Pod', 'pods'], ['PODS', 'pods'], ['pO', 'pods'],
    ['nodes', 'nodes'], ['node', 'nodes'], ['no', 'nodes'], ['Node', 'nodes'], ['NO', 'nodes'],
    ['events', 'events'], ['event', 'events'], ['ev', 'events'], ['Event', 'events'], ['EV', 'events'],
    ['namespaces', 'namespaces'], ['namespace', 'namespaces'], ['ns', 'namespaces'], ['Namespace', 'namespaces'], ['NS', 'namespaces'],
  ])('%s is %s', (arg, resource) => {
    expect(findResource(arg)).toBe(resource);
    expect(resourceOf(arg)).toEqual({ resource, name: undefined });
  });

  it.each([
    ['po/web', 'pods', 'web'],
    ['Node/n1', 'nodes', 'n1'],
    ['ns/dev', 'namespaces', 'dev'],
    ['events/a.b', 'events', 'a.b'],
  ])('%s is %s named %s', (arg, resource, name) => {
    expect(resourceOf(arg)).toEqual({ resource, name });
  });

  // Leases and node credentials are kept in the store, but no route serves them: to a client they do not exist.
  it.each(['x', 'leases', 'lease', 'nodecredentials', 'deployments', 'pod s', '', 'constructor', 'x/web'])('%j is unknown', (arg) => {
    const type = arg.split('/')[0];
    expect(findResource(type)).toBeUndefined();
    expect(() => resourceOf(arg)).toThrow(new UsageError(`the server doesn't have a resource type "${type}"`));
  });

  it.each([['get', 'x'], ['get', 'x/web', '-o', 'yaml'], ['describe', 'x', 'web'], ['logs', 'x/web']])('minipod %s %s answers as kubectl does', async (...args) => {
    const res = await cli(...args);
    expect(res).toEqual({ stdout: '', stderr: 'error: the server doesn\'t have a resource type "x"\n', code: 1 });
  });

  it('label and annotate answer so too', async () => {
    const unknown = new UsageError('the server doesn\'t have a resource type "x"');
    await expect(label(['x', 'web', 'a=b'], {})).rejects.toThrow(unknown);
    await expect(annotate(['x/web', 'a=b'], {})).rejects.toThrow(unknown);
  });
});

describe('the declarations', () => {
  const all = Object.entries(RESOURCES) as [ResourceName, ResourceType][];

  it.each(all)('%s is declared under its plural, with its list kind and the names of its selectable fields', (key, r) => {
    expect(r.plural).toBe(key);
    expect(r.listKind).toBe(`${r.kind}List`);
    expect(r.selectableFields).toContain('metadata.name');
    expect(r.selectableFields.includes('metadata.namespace')).toBe(r.namespaced);
  });

  it('gives every name to one resource only', () => {
    const names = servedResources().flatMap((n) => {
      const r = resourceType(n);
      return [r.plural, r.singular, ...r.shortNames];
    });
    expect(new Set(names).size).toBe(names.length);
  });

  it('serves pods, nodes, events and namespaces, each with a strategy; leases and node credentials stay in the store', () => {
    expect(servedResources()).toEqual(['events', 'namespaces', 'nodes', 'pods']);
    for (const r of servedResources()) expect(strategyFor(r).table.columns.length).toBeGreaterThan(0);
    expect(isServed('leases')).toBe(false);
    expect(isServed('nodecredentials')).toBe(false);
    expect(isServed('constructor')).toBe(false);
  });
});

describe('URLs and store keys', () => {
  it.each<[ResourceName, string | undefined, string | undefined, string | undefined, string]>([
    ['pods', 'default', 'web', undefined, '/api/v1/namespaces/default/pods/web'],
    ['pods', undefined, undefined, undefined, '/api/v1/pods'],
    ['pods', 'dev', undefined, undefined, '/api/v1/namespaces/dev/pods'],
    ['pods', 'default', 'web', 'status', '/api/v1/namespaces/default/pods/web/status'],
    ['pods', 'a b', 'x/y', 'log', '/api/v1/namespaces/a%20b/pods/x%2Fy/log'],
    ['nodes', 'default', 'n1', undefined, '/api/v1/nodes/n1'],
    ['nodes', undefined, undefined, undefined, '/api/v1/nodes'],
    ['namespaces', undefined, 'dev', 'status', '/api/v1/namespaces/dev/status'],
    ['events', 'kube-system', undefined, undefined, '/api/v1/namespaces/kube-system/events'],
    ['leases', 'kube-node-lease', 'n1', undefined, '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1'],
    ['nodecredentials', undefined, undefined, undefined, '/apis/minipod.io/v1/nodecredentials'],
  ])('%s in %s named %s (%s) is at %s', (resource, ns, name, sub, path) => {
    expect(resourcePath(resource, ns, name, sub)).toBe(path);
  });

  it.each<[string, ReturnType<typeof parsePath>]>([
    ['/api/v1/namespaces/default/pods/web', { resource: 'pods', namespace: 'default', name: 'web', subresource: undefined }],
    ['/api/v1/pods', { resource: 'pods', namespace: undefined, name: undefined, subresource: undefined }],
    ['/api/v1/namespaces/default/pods/web/binding', { resource: 'pods', namespace: 'default', name: 'web', subresource: 'binding' }],
    ['/api/v1/nodes/n1/status', { resource: 'nodes', namespace: undefined, name: 'n1', subresource: 'status' }],
    ['/api/v1/namespaces/dev', { resource: 'namespaces', namespace: undefined, name: 'dev', subresource: undefined }],
    ['/api/v1/namespaces/dev/status', { resource: 'namespaces', name: 'dev', subresource: 'status' }],
    ['/api/v1/namespaces/dev/events', { resource: 'events', namespace: 'dev', name: undefined, subresource: undefined }],
    ['/api/v1/leases', undefined],
    ['/api/v1/namespaces/kube-node-lease/leases/n1', undefined],
    ['/apis/minipod.io/v1/nodecredentials', undefined],
    ['/api/v1/deployments', undefined],
  ])('%s routes to %j', (path, route) => {
    expect(parsePath(path)).toEqual(route);
  });

  it('keeps cluster-scoped objects in no namespace', () => {
    expect(keyOf('nodes', 'default', 'n1')).toEqual({ resource: 'nodes', namespace: '', name: 'n1' });
    expect(keyOf('pods', 'default', 'web')).toEqual({ resource: 'pods', namespace: 'default', name: 'web' });
  });
});

describe('a new resource is a declaration and a strategy', () => {
  let dir: string;
  let store: SqliteStore;
  let server: ReturnType<typeof createApiServer>;
  let client: Client;
  const home = process.env.MINIPOD_HOME;

  beforeAll(async () => {
    Object.assign(RESOURCES, { widgets: WIDGET }); // as if declared in src/api/api-resources.ts
    dir = mkdtempSync(join(os.tmpdir(), 'minipod-api-resources-'));
    process.env.MINIPOD_HOME = dir;
    store = new SqliteStore(join(dir, 'store.db'));
    server = createApiServer({ registry: new Registry(store), logger: pino({ level: 'silent' }) });
    await new Promise<void>((resolve) => server.listen(join(dir, 'minipod.sock'), resolve));
    client = new Client({ socketPath: join(dir, 'minipod.sock') });
  });
  afterAll(async () => {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    if (home === undefined) delete process.env.MINIPOD_HOME;
    else process.env.MINIPOD_HOME = home;
    delete (RESOURCES as Record<string, ResourceType>).widgets;
  });

  it('is in discovery, resolves by its short name, and is served, validated, stored, selected and printed', async () => {
    const widgets = 'widgets' as ServedResource;
    const list = discovery('/api/v1') as { resources: { name: string }[] };
    expect(list.resources.filter((r) => r.name.startsWith('widgets'))).toEqual([
      { name: 'widgets', singularName: 'widget', namespaced: true, kind: 'Widget', verbs: WIDGET.verbs, shortNames: ['wd'] },
      { name: 'widgets/status', singularName: '', namespaced: true, kind: 'Widget', verbs: ['get', 'patch', 'update'] },
    ]);
    expect(resourceOf('wd/w1')).toEqual({ resource: 'widgets', name: 'w1' });

    const refused = await client.request('POST', resourcePath(widgets, 'default'), { metadata: { name: 'w0' } }).catch((e: Error) => e.message);
    expect(refused).toBe('Widget "w0" is invalid: spec.size: Required value');
    const created = await client.request<{ apiVersion: string; kind: string; status: unknown }>('POST', resourcePath(widgets, 'default'), { metadata: { name: 'w1' }, spec: { size: 3 } });
    expect(created).toMatchObject({ apiVersion: 'v1', kind: 'Widget', status: { phase: 'New' } });
    expect(await store.get(keyOf(widgets, 'default', 'w1'))).toMatchObject({ spec: { size: 3 } });
    const all = await client.request<{ kind: string; items: unknown[] }>('GET', `${resourcePath(widgets)}?fieldSelector=metadata.name%3Dw1`);
    expect(all).toMatchObject({ kind: 'WidgetList', items: [{ metadata: { name: 'w1', namespace: 'default' } }] });
    expect(() => parseFieldSelector('spec.size=3', widgets)).toThrow('field label not supported: spec.size');

    expect(await cli('get', 'wd')).toMatchObject({ stdout: expect.stringMatching(/^NAME\s+SIZE\nw1\s+3\n$/), code: 0 });
    expect(await cli('get', 'Widget', 'w1', '-o', 'name')).toMatchObject({ stdout: 'widget/w1\n', code: 0 });
    expect(await run(() => label(['wd', 'w1', 'tier=gold'], {}))).toMatchObject({ stdout: 'widget/w1 labeled\n', code: 0 });
    expect(await cli('get', 'widgets', '-l', 'tier=gold', '-o', 'jsonpath={.items[*].spec.size}')).toMatchObject({ stdout: '3', code: 0 });
    expect(await cli('get', 'wd', 'nope')).toMatchObject({ stderr: 'Error from server (NotFound): widgets "nope" not found\n', code: 1 });
  });
});
