// The kubeconfig entries for minipod's TCP listener, and merging them into an
// existing kubeconfig as `kind export kubeconfig` does. Pure text in, text out
// (file.ts does the disk), so the merge is tested without a daemon.
// The merge edits the parsed YAML document in place rather than re-serializing a
// plain object: the other clusters, users, contexts, preferences, extensions and
// even comments come out as they went in.
import type { Document, YAMLMap } from 'yaml';
import { loadYaml } from '../../api/yaml-lib.js';

export interface MinipodEntry {
  /** The cluster's, the user's and the context's name. */
  name: string;
  server: string;
  /** PEM of the cluster CA: kubeconfig wants it base64'd. */
  caPem: string;
  token: string;
}

/** A kubeconfig that is not one we can safely edit: nothing is written. */
export class KubeconfigError extends Error {}

const yaml = () => loadYaml(); // bundled at build: see yaml-lib.ts

const clusterEntry = (e: MinipodEntry) => ({ name: e.name, cluster: { server: e.server, 'certificate-authority-data': Buffer.from(e.caPem).toString('base64') } });
const userEntry = (e: MinipodEntry) => ({ name: e.name, user: { token: e.token } });
const contextEntry = (e: MinipodEntry, namespace?: unknown) => ({ name: e.name, context: { cluster: e.name, user: e.name, ...(namespace ? { namespace } : {}) } });

// lineWidth 0: never fold a long scalar (the CA's base64) over lines. The rest is
// kubectl's own layout (`- name:` under its key, `{a: 1}`), so untouched lines stay as written.
const TO_STRING = { lineWidth: 0, indentSeq: false, flowCollectionPadding: false } as const;

/** A complete kubeconfig with only minipod in it, its context current. */
export function kubeconfigText(e: MinipodEntry): string {
  return yaml().stringify(
    { apiVersion: 'v1', kind: 'Config', preferences: {}, clusters: [clusterEntry(e)], users: [userEntry(e)], contexts: [contextEntry(e)], 'current-context': e.name },
    TO_STRING,
  );
}

export interface MergeResult {
  text: string;
  /** Whether an entry of that name was there before (replaced) or not (added). */
  replaced: boolean;
  /** current-context after the merge (undefined: none). */
  currentContext?: string;
}

/**
 * `existing` with minipod's cluster, user and context added, or replacing those of
 * the same name; `switchContext` makes its context current. Throws KubeconfigError,
 * naming `file`, for anything that is not a kubeconfig.
 */
export function mergeKubeconfig(existing: string, e: MinipodEntry, opts: { switchContext: boolean; file: string }): MergeResult {
  const Y = yaml();
  // prettyErrors off: its excerpt of the file would print other clusters' tokens on stderr.
  const doc = Y.parseDocument(existing, { prettyErrors: false, uniqueKeys: true }) as Document.Parsed;
  const bad = (what: string) => new KubeconfigError(`${opts.file} is not a valid kubeconfig: ${what}; it was left unchanged`);
  const problem = doc.errors[0];
  if (problem) {
    // Where, by line and column (without prettyErrors, yaml gives an offset only).
    const before = existing.slice(0, problem.pos[0]).split('\n');
    throw bad(`${problem.message.replace(/\.$/, '')} (line ${before.length}, column ${before.at(-1)!.length + 1})`);
  }
  if (doc.contents === null || (Y.isScalar(doc.contents) && (doc.contents.value === null || doc.contents.value === ''))) {
    // Empty, or only comments: start a Config, keeping the comments.
    doc.contents = doc.createNode({ apiVersion: 'v1', kind: 'Config', preferences: {} }) as unknown as Document.Parsed['contents'];
  }
  if (!Y.isMap(doc.contents)) throw bad('its top level is not a mapping');
  const root = doc.contents as YAMLMap;
  const kind = root.get('kind');
  if (kind !== undefined && kind !== null && kind !== 'Config') throw bad(`its kind is ${JSON.stringify(kind)}, not Config`);
  if (!root.has('apiVersion')) root.set('apiVersion', 'v1');
  if (!root.has('kind')) root.set('kind', 'Config');

  let replaced = false;
  const upsert = (key: string, entry: (old?: YAMLMap) => object) => {
    let seq: unknown = root.get(key, true);
    if (seq === undefined || (Y.isScalar(seq) && seq.value === null)) {
      seq = doc.createNode([]);
      root.set(key, seq);
    }
    if (!Y.isSeq(seq)) throw bad(`"${key}" is not a list`);
    seq.flow = false; // `clusters: []` would otherwise print our entry as one flow line
    const at: number[] = [];
    seq.items.forEach((item, i) => {
      if (!Y.isMap(item)) throw bad(`an item of "${key}" is not a mapping`);
      if (item.get('name') === e.name) at.push(i);
    });
    const node = doc.createNode(entry(at.length ? (seq.items[at[0]] as YAMLMap) : undefined));
    if (!at.length) return void seq.items.push(node);
    replaced = true;
    seq.items[at[0]] = node;
    for (const i of at.slice(1).reverse()) seq.items.splice(i, 1); // kubectl would use the first; drop the shadowed ones
  };
  upsert('clusters', () => clusterEntry(e));
  upsert('users', () => userEntry(e));
  // A namespace chosen on the context (kubectl config set-context --current --namespace) survives a re-export.
  upsert('contexts', (old) => contextEntry(e, (old?.get('context') as YAMLMap | undefined)?.get?.('namespace')));
  if (opts.switchContext) root.set('current-context', e.name);
  const current = root.get('current-context');
  return { text: doc.toString(TO_STRING), replaced, currentContext: typeof current === 'string' && current ? current : undefined };
}
