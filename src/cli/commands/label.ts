// `minipod label TYPE NAME k=v ... [k-] [--overwrite]` as kubectl's label
// command (kubectl/pkg/cmd/label/label.go) does it: the object is read, the
// change computed and checked against --overwrite, then sent as a JSON merge
// patch; the server validates keys and values. `annotate` shares the machinery.
import type { ObjectMeta } from '../../api/types.js';
import { labelValueErrors } from '../../api/labels.js';
import { type ServedResource, resourcePath, resourceType } from '../../api/api-resources.js';
import { type Client } from '../../client/client.js';
import { connect } from '../connect.js';
import { UsageError } from '../output.js';
import { clusterScoped, objectName, resourceOf } from './get.js';

export interface MetadataEditOptions {
  overwrite?: boolean;
  all?: boolean;
  selector?: string;
  fieldSelector?: string;
  namespace?: string;
  list?: boolean;
  resourceVersion?: string;
  dryRun?: string | boolean;
}

/** cmdutil.GetResourcesAndPairs: resources first, then the key=value / key- pairs. */
export function splitResourcesAndPairs(args: string[], pairType: string): { resources: string[]; pairs: string[] } {
  const resources: string[] = [];
  const pairs: string[] = [];
  for (const s of args) {
    const isPair = (s.includes('=') && s[0] !== '=') || (s.endsWith('-') && s !== '-');
    if (isPair) pairs.push(s);
    else if (pairs.length) throw new UsageError(`all resources must be specified before ${pairType} changes: ${s}`);
    else resources.push(s);
  }
  return { resources, pairs };
}

/** label.go parseLabels: values are checked here, keys by the server. */
export function parseLabelArgs(specs: string[]): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const spec of specs) {
    if (spec.includes('=')) {
      const parts = spec.split('=');
      if (parts.length !== 2) throw new UsageError(`invalid label spec: ${spec}`);
      const errs = labelValueErrors(parts[1]);
      if (errs.length) throw new UsageError(`invalid label value: ${JSON.stringify(spec)}: ${errs.join(';')}`);
      set[parts[0]] = parts[1];
    } else if (spec.endsWith('-')) {
      remove.push(spec.slice(0, -1));
    } else {
      throw new UsageError(`unknown label spec: ${spec}`);
    }
  }
  if (remove.some((k) => k in set)) throw new UsageError('can not both modify and remove a label in the same command');
  return { set, remove };
}

export interface Target {
  resource: ServedResource;
  namespace?: string;
  name: string;
}

/** TYPE NAME..., TYPE/NAME..., or TYPE with --all / -l / --field-selector. */
export async function resolveTargets(client: Client, resources: string[], opts: MetadataEditOptions): Promise<Target[]> {
  if (!resources.length) throw new UsageError('one or more resources must be specified as <resource> <name> or <resource>/<name>');
  if (opts.all && opts.selector) throw new UsageError('cannot set --all and --selector at the same time');
  if (opts.all && opts.fieldSelector) throw new UsageError('cannot set --all and --field-selector at the same time');
  const ns = opts.namespace ?? 'default';
  const nsOf = (resource: ServedResource) => (clusterScoped(resource) ? undefined : ns);
  if (resources[0].includes('/')) {
    return resources.map((arg) => {
      const { resource, name } = resourceOf(arg);
      if (!name) throw new UsageError(`arguments in resource/name form must have a single resource and name`);
      return { resource, namespace: nsOf(resource), name };
    });
  }
  const [type, ...names] = resources;
  const { resource } = resourceOf(type);
  if (resource === 'events') throw new UsageError('minipod labels and annotates pods, nodes and namespaces');
  const selecting = opts.all || opts.selector || opts.fieldSelector;
  if (names.length && selecting) throw new UsageError('name cannot be provided when a selector is specified');
  if (!names.length && !selecting) throw new UsageError(`resource(s) were provided, but no name was specified`);
  if (names.length) return names.map((name) => ({ resource, namespace: nsOf(resource), name }));
  const q = new URLSearchParams();
  if (opts.selector) q.set('labelSelector', opts.selector);
  if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
  const list = await client.request<{ items: { metadata: ObjectMeta }[] }>('GET', `${resourcePath(resource, ns)}?${q}`);
  if (!list.items.length) {
    process.stderr.write(clusterScoped(resource) ? 'No resources found\n' : `No resources found in ${ns} namespace.\n`);
  }
  return list.items.map((o) => ({ resource, namespace: nsOf(resource), name: o.metadata.name! }));
}

export function objectPath(t: Target): string {
  return resourcePath(t.resource, t.namespace ?? 'default', t.name);
}

/** Go's json.Marshal of a string map: keys sorted. */
function mapJSON(m: Record<string, string> | undefined): string {
  if (m === undefined) return '';
  return JSON.stringify(Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]])));
}

export interface MetadataEdit {
  field: 'labels' | 'annotations';
  set: Record<string, string>;
  remove: string[];
  /** Throws when --overwrite is false and a key already has a value. */
  checkOverwrite(current: Record<string, string>): void;
  /** The word after "pod/x": labeled, unlabeled, not labeled, annotated. */
  message(before: Record<string, string> | undefined, after: Record<string, string>): string;
  /** Say so when a key to remove is not there (label does, annotate does not). */
  notFound?(key: string): string;
}

/** Reads each object, applies the edit, and patches it; prints kubectl's line per object. */
export async function editMetadata(args: string[], opts: MetadataEditOptions, edit: (pairs: string[]) => MetadataEdit, pairType: string): Promise<void> {
  const { resources, pairs } = splitResourcesAndPairs(args, pairType);
  const e = edit(pairs);
  const client = connect();
  try {
    const targets = await resolveTargets(client, resources, opts);
    if (!opts.list && !Object.keys(e.set).length && !e.remove.length) throw new UsageError(`at least one ${pairType} update is required`);
    if (opts.resourceVersion && targets.length !== 1) throw new UsageError('--resource-version may only be used with a single resource');
    for (const t of targets) {
      const obj = await client.request<{ metadata: ObjectMeta }>('GET', objectPath(t));
      const before = obj.metadata[e.field];
      if (opts.list) {
        const entries = Object.entries(before ?? {}).sort(([a], [b]) => a.localeCompare(b));
        const { kind, group } = resourceType(t.resource); // kubectl prints Kind.group/name: "Pod./web" in the core group
        if (targets.length > 1) process.stdout.write(`Listing ${e.field} for ${kind}.${group}/${t.name}:\n`);
        for (const [k, v] of entries) process.stdout.write(`${targets.length > 1 ? ' ' : ''}${k}=${v}\n`);
        continue;
      }
      if (!opts.overwrite) e.checkOverwrite(before ?? {});
      for (const k of e.remove) if (!(k in (before ?? {})) && e.notFound) process.stdout.write(e.notFound(k));
      const after: Record<string, string> = { ...before, ...e.set };
      for (const k of e.remove) delete after[k];
      const patch: Record<string, string | null> = {};
      for (const [k, v] of Object.entries(e.set)) if (before?.[k] !== v) patch[k] = v;
      for (const k of e.remove) if (before && k in before) patch[k] = null;
      const meta: Record<string, unknown> = {};
      if (Object.keys(patch).length) meta[e.field] = patch;
      if (opts.resourceVersion) meta.resourceVersion = opts.resourceVersion;
      const dryRun = opts.dryRun === true || opts.dryRun === 'client' ? 'client' : opts.dryRun === 'server' ? 'server' : undefined;
      if (dryRun !== 'client') {
        const q = dryRun === 'server' ? '?dryRun=All' : '';
        await client.request('PATCH', objectPath(t) + q, Object.keys(meta).length ? { metadata: meta } : {}, 'application/merge-patch+json');
      }
      const suffix = dryRun ? ` (${dryRun} dry run)` : '';
      process.stdout.write(`${objectName(t.resource, t.name)} ${e.message(before, after)}${suffix}\n`);
    }
  } finally {
    client.close();
  }
}

/** Go's utilerrors aggregate: one message as is, several in brackets. */
export function aggregate(messages: string[]): string {
  return messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`;
}

export async function label(args: string[], opts: MetadataEditOptions): Promise<void> {
  await editMetadata(
    args,
    opts,
    (pairs) => {
      const { set, remove } = parseLabelArgs(pairs);
      return {
        field: 'labels',
        set,
        remove,
        checkOverwrite(current) {
          const errs = Object.keys(set)
            .sort()
            .filter((k) => k in current)
            .map((k) => `'${k}' already has a value (${current[k]}), and --overwrite is false`);
          if (errs.length) throw new UsageError(aggregate(errs));
        },
        message(before, after) {
          const was = mapJSON(before);
          const now = mapJSON(after);
          if (was === now) return 'not labeled';
          // label.go compares the object's JSON: shorter without --overwrite means a label went away.
          const len = (s: string) => (s ? s.length + ',"labels":'.length : 0);
          return !opts.overwrite && len(now) < len(was) ? 'unlabeled' : 'labeled';
        },
        notFound: (key) => `label ${JSON.stringify(key)} not found.\n`,
      };
    },
    'label',
  );
}
