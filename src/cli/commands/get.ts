// `minipod get TYPE [NAME...] [-w]`: the API server prints (a
// meta.k8s.io Table, the same one kubectl gets), and this command lays it out as
// kubectl's table printer does: upper-case headers, a tabwriter with remembered
// widths, NAMESPACE and LABELS columns added from the row metadata, and for
// watches one new row per change (with an EVENT column on request).
import { escapeFieldValue } from '../../api/fields.js';
import { type ServedResource, findResource, groupKind, resourcePath, resourceType } from '../../api/api-resources.js';
import type { Event, Node, Pod, Status, WatchEvent } from '../../api/types.js';
import { ApiStatusError, type Client } from '../../client/client.js';
import { connect } from '../connect.js';
import { UsageError, colorStatus, printObjects } from '../output.js';

export interface GetOptions {
  output?: string;
  selector?: string;
  fieldSelector?: string;
  namespace?: string;
  allNamespaces?: boolean;
  noHeaders?: boolean;
  showLabels?: boolean;
  watch?: boolean;
  watchOnly?: boolean;
  outputWatchEvents?: boolean;
}

/** TYPE or TYPE/NAME: the type by plural, singular, short name or kind (src/api/api-resources.ts). */
export function resourceOf(arg: string): { resource: ServedResource; name?: string } {
  const [type, name] = arg.includes('/') ? arg.split('/', 2) : [arg, undefined];
  const resource = findResource(type);
  if (!resource) throw new UsageError(`the server doesn't have a resource type "${type}"`);
  return { resource, name };
}

/** Cluster-scoped resources (nodes, namespaces) belong to no namespace. */
export const clusterScoped = (r: ServedResource) => !resourceType(r).namespaced;

/** kubectl's name printer: "pod/web". */
export const objectName = (r: ServedResource, name: string | undefined) => `${groupKind(resourceType(r)).toLowerCase()}/${name}`;

const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

export interface ColumnDefinition {
  name: string;
  priority: number;
}
interface Row {
  cells: unknown[];
  object?: { metadata?: { namespace?: string; labels?: Record<string, string> }; [field: string]: unknown };
}
export interface Table {
  kind: 'Table';
  metadata: { resourceVersion?: string };
  columnDefinitions: ColumnDefinition[];
  rows: Row[];
}

/** labels.FormatLabels: sorted k=v pairs, or <none>. */
function formatLabels(labels?: Record<string, string>): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${labels![k]}`).join(',') : '<none>';
}

const EVENT_TYPE: Record<string, string> = { ADDED: 'ADDED   ', MODIFIED: 'MODIFIED', DELETED: 'DELETED ', ERROR: 'ERROR   ' };

export interface PrintOptions {
  wide: boolean;
  noHeaders?: boolean;
  withNamespace?: boolean;
  showLabels?: boolean;
  hidden?: readonly string[];
}

/**
 * kubectl's HumanReadablePrinter over a tabwriter (minwidth 6, padding 3,
 * RememberWidths): headers once per column set and only with rows to show;
 * column widths only grow, so the rows of a watch stay aligned.
 */
export class TablePrinter {
  private lastColumns?: ColumnDefinition[];
  private printedHeaders = false;
  private widths: number[] = [];

  constructor(private opts: PrintOptions) {}

  print(table: Table, eventType?: string): string {
    let noHeaders = !!this.opts.noHeaders;
    const same = this.lastColumns && JSON.stringify(table.columnDefinitions) === JSON.stringify(this.lastColumns);
    if (this.printedHeaders && (!table.columnDefinitions.length || same)) noHeaders = true;
    let columns = table.columnDefinitions;
    if (!columns.length) columns = this.lastColumns ?? [];
    else if (!same) {
      this.lastColumns = columns;
      this.printedHeaders = false;
      this.widths = [];
    }
    if (table.rows.length) this.printedHeaders = true;

    const visible = columns
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => (c.priority === 0 || this.opts.wide) && !(this.opts.wide && this.opts.hidden?.includes(c.name)));
    const headers = [
      ...(eventType ? ['EVENT'] : []),
      ...(this.opts.withNamespace ? ['NAMESPACE'] : []),
      ...visible.map(({ c }) => c.name.toUpperCase()),
      ...(this.opts.showLabels ? ['LABELS'] : []),
    ];
    const statusAt = headers.indexOf('STATUS');
    const lines = table.rows.map((r) => [
      ...(eventType ? [EVENT_TYPE[eventType] ?? eventType] : []),
      ...(this.opts.withNamespace ? [r.object?.metadata?.namespace ?? ''] : []),
      ...visible.map(({ i }) => cellText(r.cells[i])),
      ...(this.opts.showLabels ? [formatLabels(r.object?.metadata?.labels)] : []),
    ]);
    if (!lines.length) return '';
    const all = noHeaders ? lines : [headers, ...lines];
    for (const line of all) {
      line.slice(0, -1).forEach((cell, j) => (this.widths[j] = Math.max(this.widths[j] ?? 0, cell.length + 3, 6)));
    }
    return all
      .map((line, n) =>
        line
          .map((cell, j) => {
            const shown = j === statusAt && (noHeaders || n > 0) ? colorStatus(cell) : cell;
            return j === line.length - 1 ? shown : shown + ' '.repeat(this.widths[j] - cell.length);
          })
          .join(''),
      )
      .join('\n') + '\n';
  }
}

/** Cells as Go's fmt prints them; a line break cuts the cell short with "...". */
function cellText(v: unknown): string {
  const s = v === null || v === undefined ? '<nil>' : String(v);
  const cut = s.search(/[\n\r\f]/);
  return cut >= 0 ? s.slice(0, cut) + '...' : s;
}

export async function get(type: string, names: string[], opts: GetOptions): Promise<void> {
  const { resource, name } = resourceOf(type);
  if (name) names = [name, ...names];
  // `-o=FORMAT` arrives as "=FORMAT": commander keeps the "=" of a short flag, kubectl's pflag drops it.
  const output = (opts.output ?? '').replace(/^=/, '');
  const jsonpath = output.startsWith('jsonpath') ? (await import('../jsonpath.js')).jsonPathPrinter(output) : undefined;
  if (!jsonpath && !['', 'wide', 'json', 'yaml', 'name'].includes(output)) {
    throw new UsageError(`unable to match a printer suitable for the output format "${output}", allowed formats are: json,jsonpath,jsonpath-as-json,name,wide,yaml`);
  }
  const watching = !!(opts.watch || opts.watchOnly);
  if (watching && names.length > 1) throw new UsageError('watch is only supported on individual resources and resource collections, but 2 resources were found');
  if (names.length && opts.selector) throw new UsageError('name cannot be provided when a selector is specified');
  const ns = opts.allNamespaces || clusterScoped(resource) ? undefined : (opts.namespace ?? 'default');
  const client = connect();
  try {
    if (jsonpath) {
      await getObjects(client, resource, ns, names, opts, jsonpath, watching);
    } else if (output === 'json' || output === 'yaml' || output === 'name') {
      await getObjects(client, resource, ns, names, opts, output, watching);
    } else {
      await getTable(client, resource, ns, names, opts, output === 'wide', watching);
    }
  } finally {
    client.close();
  }
}

const objectPath = (resource: ServedResource, ns: string | undefined, name: string) => resourcePath(resource, ns ?? 'default', name);

function listQuery(opts: GetOptions, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  if (opts.selector) q.set('labelSelector', opts.selector);
  if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** cli-runtime's wording for a list the server refused (resource/selector.go). */
function explainListError(err: unknown, resource: ServedResource, opts: GetOptions): unknown {
  if (!(err instanceof ApiStatusError) || (err.code !== 400 && err.code !== 404)) return err;
  const { group, version, plural } = resourceType(resource);
  const gvr = `"${group}/${version}, Resource=${plural}"`;
  const message =
    opts.selector || opts.fieldSelector
      ? `Unable to find ${gvr} that match label selector "${opts.selector ?? ''}", field selector "${opts.fieldSelector ?? ''}": ${err.message}`
      : `Unable to list ${gvr}: ${err.message}`;
  return new ApiStatusError({ ...err.status, message } as Status);
}

function noResources(ns: string | undefined): void {
  process.stderr.write(ns ? `No resources found in ${ns} namespace.\n` : 'No resources found\n');
}

async function getTable(client: Client, resource: ServedResource, ns: string | undefined, names: string[], opts: GetOptions, wide: boolean, watching: boolean): Promise<void> {
  const { print } = resourceType(resource);
  const printer = new TablePrinter({
    wide,
    noHeaders: opts.noHeaders,
    withNamespace: !!opts.allNamespaces && !clusterScoped(resource),
    showLabels: opts.showLabels,
    hidden: print?.hiddenWideColumns,
  });
  const headers = { Accept: TABLE_ACCEPT };
  // Sorting reads the rows' objects.
  const include: Record<string, string> = print?.sortBy ? { includeObject: 'Object' } : {};
  let table: Table;
  let failed = false;
  if (names.length) {
    const rows: Row[] = [];
    let columns: ColumnDefinition[] = [];
    let rv: string | undefined;
    for (const n of names) {
      try {
        const t = await client.request<Table>('GET', objectPath(resource, ns, n) + listQuery({}, include), undefined, undefined, headers);
        rows.push(...t.rows);
        columns = t.columnDefinitions;
        rv = t.metadata.resourceVersion;
      } catch (err) {
        if (!(err instanceof ApiStatusError)) throw err;
        if (watching) throw err;
        process.stderr.write(`Error from server (${err.reason || err.code}): ${err.message}\n`);
        failed = true;
      }
    }
    table = { kind: 'Table', metadata: { resourceVersion: rv }, columnDefinitions: columns, rows };
  } else {
    try {
      table = await client.request<Table>('GET', resourcePath(resource, ns) + listQuery(opts, include), undefined, undefined, headers);
    } catch (err) {
      throw explainListError(err, resource, opts);
    }
    const sortBy = print?.sortBy;
    if (sortBy) table.rows.sort((a, b) => String(a.object?.[sortBy] ?? '').localeCompare(String(b.object?.[sortBy] ?? '')));
  }
  if (!opts.watchOnly) {
    const text = printer.print(table, opts.outputWatchEvents && watching ? 'ADDED' : undefined);
    if (text) process.stdout.write(text);
    else if (!watching && !names.length) noResources(ns);
  }
  if (failed) process.exitCode = 1;
  if (!watching) return;
  await follow(client, resource, ns, names[0], opts, table.metadata.resourceVersion ?? '0', headers, (e) => {
    if (e.type === 'ERROR') throw new ApiStatusError(e.object as unknown as Status);
    const text = printer.print(e.object as unknown as Table, opts.outputWatchEvents ? e.type : undefined);
    if (text) process.stdout.write(text);
  });
}

async function getObjects(
  client: Client,
  resource: ServedResource,
  ns: string | undefined,
  names: string[],
  opts: GetOptions,
  output: 'json' | 'yaml' | 'name' | ((obj: unknown) => string), // a function: -o jsonpath=…
  watching: boolean,
): Promise<void> {
  type Obj = Pod | Node | Event;
  let items: Obj[];
  let rv = '0';
  let failed = false;
  if (names.length) {
    items = [];
    for (const n of names) {
      try {
        const o = await client.request<Obj>('GET', objectPath(resource, ns, n));
        items.push(o);
        rv = o.metadata.resourceVersion ?? rv;
      } catch (err) {
        if (!(err instanceof ApiStatusError) || watching) throw err;
        process.stderr.write(`Error from server (${err.reason || err.code}): ${err.message}\n`);
        failed = true;
      }
    }
  } else {
    let list: { items: Obj[]; metadata: { resourceVersion: string } };
    try {
      list = await client.request('GET', resourcePath(resource, ns) + listQuery(opts));
    } catch (err) {
      throw explainListError(err, resource, opts);
    }
    items = list.items;
    rv = list.metadata.resourceVersion;
  }
  const print = async (objs: Obj[], asList: boolean, eventType?: string) => {
    if (output === 'name') {
      for (const o of objs) process.stdout.write(`${objectName(resource, o.metadata.name)}\n`);
    } else if (typeof output === 'function') {
      // As kubectl: the template sees the object, a List for several, or the watch event.
      if (eventType) for (const object of objs) process.stdout.write(output({ type: eventType, object }));
      else if (asList) process.stdout.write(output({ apiVersion: 'v1', kind: 'List', items: objs, metadata: { resourceVersion: '' } }));
      else for (const o of objs) process.stdout.write(output(o));
    } else if (eventType) {
      for (const o of objs) await printObjects([{ type: eventType, object: o }], output, false);
    } else {
      await printObjects(objs, output, asList);
    }
  };
  if (!opts.watchOnly) {
    if (!items.length && !names.length && !watching) {
      if (output === 'name') noResources(ns);
      else await print([], true);
    } else if (watching) {
      for (const o of items) await print([o], false, opts.outputWatchEvents ? 'ADDED' : undefined);
    } else {
      await print(items, names.length !== 1);
    }
  }
  if (failed) process.exitCode = 1;
  if (!watching) return;
  await follow(client, resource, ns, names[0], opts, rv, {}, async (e) => {
    if (e.type === 'ERROR') throw new ApiStatusError(e.object as unknown as Status);
    await print([e.object as Obj], false, opts.outputWatchEvents ? e.type : undefined);
  });
}

/**
 * Watches from `rv` until interrupted. A stream the server ends is resumed from
 * the last version seen, so a long `get -w` neither stops nor repeats rows.
 */
async function follow(
  client: Client,
  resource: ServedResource,
  ns: string | undefined,
  name: string | undefined,
  opts: GetOptions,
  rv: string,
  headers: Record<string, string>,
  onEvent: (e: WatchEvent) => void | Promise<void>,
): Promise<never> {
  const fieldSelector = name ? `metadata.name=${escapeFieldValue(name)}` : opts.fieldSelector;
  let queue = Promise.resolve();
  let failure: unknown;
  for (;;) {
    const w = client.watch(
      resource,
      clusterScoped(resource) ? undefined : ns,
      { labelSelector: opts.selector, fieldSelector, resourceVersion: rv },
      (e) => {
        if (e.type !== 'ERROR' && e.type !== 'BOOKMARK') rv = (e.object as { metadata: { resourceVersion?: string } }).metadata.resourceVersion ?? rv;
        if (e.type === 'BOOKMARK') return;
        // Print in order even when printing is asynchronous (YAML).
        queue = queue.then(() => onEvent(e as WatchEvent)).catch((err) => {
          failure = err;
          w.stop();
        });
      },
      headers,
    );
    await w.done;
    await queue;
    if (failure) throw failure;
  }
}
