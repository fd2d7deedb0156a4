// A seeded mutator that derives malformed manifests from manifests/*.yaml: wrong
// types, huge values, deep nesting, hostile names, invalid UTF-8, YAML bombs and
// anchors, truncation, garbage, 10 MB documents. Each mutant has the bytes the CLI
// would read and, when it is an object, the JSON body an API client would send.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { prng } from './prng.js';

export { prng };

export interface Mutant {
  id: number;
  kind: string;
  /** What `minipod apply -f` reads. */
  bytes: Buffer;
  /** The JSON body for POST .../pods, for mutants that are objects. */
  json?: string;
  /** Invalid by construction (else the validator is the oracle). */
  mustFail: boolean;
}


type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

export function baseManifests(dir: string): { file: string; text: string; object: Record<string, Json> }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      const docs = parseAllDocuments(text);
      const first = Array.isArray(docs) ? docs[0]?.toJS() : undefined;
      return first && typeof first === 'object' ? [{ file, text, object: first as Record<string, Json> }] : [];
    });
}

/** Every path in an object (inner nodes and leaves). */
function paths(v: Json, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function setAt(root: Json, path: Path, value: Json): Json {
  if (path.length === 0) return value;
  let cur = root as Record<string | number, Json>;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, Json>;
  cur[path[path.length - 1]] = value;
  return root;
}

function deleteAt(root: Json, path: Path): void {
  if (path.length === 0) return;
  let cur = root as Record<string | number, Json>;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, Json>;
  const last = path[path.length - 1];
  if (Array.isArray(cur)) cur.splice(last as number, 1);
  else delete cur[last];
}

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

function typeOf(v: Json): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** A value of another JSON type than `v`. */
function otherType(rand: () => number, v: Json): Json {
  const pool: Json[] = [42, -1, 0, 3.5, true, false, 'str', '', [], {}, [1, 'a', null], { x: { y: 1 } }, '42', 'true'];
  for (;;) {
    const candidate = pick(rand, pool);
    if (typeOf(candidate) !== typeOf(v)) return structuredClone(candidate);
  }
}

const HOSTILE_STRINGS = [
  '../x', '../../etc/passwd', '$(id)', '`id`', '; rm -rf /', 'a\nb', 'a\rb', 'x\u0000y', '', ' ', '-leading', 'trailing-',
  'UPPER', 'a_b', 'a'.repeat(64), 'a'.repeat(254), 'a'.repeat(70_000), '\u202eevil', '💥', '\ud800', 'a/b/c', 'a..b', '.', '..',
  '${HOME}', '%s%s%s%n', '<script>', 'é',
];

function hugeValue(rand: () => number): Json {
  return pick(rand, [
    'x'.repeat(1_000_000),
    '9'.repeat(400),
    1e308,
    -1e308,
    2 ** 53 + 2,
    -2147483649,
    4294967296,
    Array.from({ length: 10_000 }, (_, i) => i),
    Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, 'v'])),
  ]) as Json;
}

const DEEP = '"__DEEP__"';
type Deep = { depth: number; open: string; inner: string; close: string };
const deepText = (d: Deep) => d.open.repeat(d.depth) + d.inner + d.close.repeat(d.depth);

/** Object mutations (1-3 of them), serialised as YAML or JSON. */
function mutateObject(rand: () => number, base: Record<string, Json>, id: number): Mutant {
  const obj = structuredClone(base) as Json;
  const kinds: string[] = [];
  let mustFail = false; // set by the last operation only: a later one may undo an earlier one
  let deep: Deep | undefined = undefined as Deep | undefined;
  const n = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < n; i++) {
    const all = paths(obj);
    const path = pick(rand, all);
    const op = pick(rand, ['type', 'type', 'type', 'huge', 'deep', 'name', 'delete', 'unknown', 'dupContainer', 'noContainers', 'kind', 'annotationsHuge']);
    kinds.push(op);
    mustFail = false;
    try {
      mustFail = applyOp(rand, obj, op, path, id, (d) => (deep = d));
    } catch {
      // The shape an earlier operation left has no such path: skip this one.
    }
  }
  let json = JSON.stringify(obj);
  let text = rand() < 0.5 ? json : stringify(obj, { lineWidth: 0, aliasDuplicateObjects: false });
  if (deep && json.includes(DEEP)) {
    const d = deepText(deep);
    json = json.replace(DEEP, d);
    text = text.includes(DEEP) ? text.replace(DEEP, d) : text.replace(/__DEEP__/, d);
  } else if (kinds.at(-1) === 'deep') mustFail = false;
  return { id, kind: `object:${kinds.join('+')}`, bytes: Buffer.from(text), json, mustFail };
}

/** One operation on `obj`; true when it makes the object invalid whatever came before. */
function applyOp(rand: () => number, obj: Json, op: string, path: Path, id: number, setDeep: (d: Deep) => void): boolean {
  {
    switch (op) {
      case 'type':
        setAt(obj, path, otherType(rand, pathValue(obj, path)));
        break;
      case 'huge':
        setAt(obj, path.length ? path : ['spec'], hugeValue(rand));
        break;
      case 'deep':
        setDeep({ depth: pick(rand, [101, 150, 1000, 5000, 20_000, 100_000]), ...pick(rand, [{ open: '[', inner: '', close: ']' }, { open: '{"a":', inner: '1', close: '}' }]) });
        setAt(obj, path.length ? path : ['spec'], '__DEEP__');
        return true;
      case 'name': {
        const target = pick(rand, [['metadata', 'name'], ['spec', 'containers', 0, 'name'], ['metadata', 'labels', 'app'], ['metadata', 'labels'], ['spec', 'containers', 0, 'env']]);
        const s = pick(rand, HOSTILE_STRINGS.filter((x) => x !== 'é' || target.length < 3));
        if (target.at(-1) === 'labels') setAt(obj, target, { [s || 'k']: s });
        else if (target.at(-1) === 'env') setAt(obj, target, [{ name: s, value: s }]);
        else if ((obj as { spec?: { containers?: unknown } }).spec?.containers || target[0] === 'metadata') setAt(obj, target, s);
        break;
      }
      case 'delete':
        deleteAt(obj, pick(rand, [['spec', 'containers'], ['spec', 'containers', 0, 'image'], ['spec', 'containers', 0, 'name'], ['metadata'], ['spec'], ['kind'], ['apiVersion'], path]));
        break;
      case 'unknown': {
        const parent = pathValue(obj, path);
        if (parent && typeof parent === 'object' && !Array.isArray(parent)) (parent as Record<string, Json>)[`zz${id}Unknown`] = 1;
        break;
      }
      case 'dupContainer': {
        const cs = (obj as { spec?: { containers?: Json[] } }).spec?.containers;
        if (Array.isArray(cs) && cs.length && cs[0] && typeof cs[0] === 'object' && !Array.isArray(cs[0]) && typeof cs[0].name === 'string') {
          cs.push(structuredClone(cs[0]));
          return true;
        }
        break;
      }
      case 'noContainers':
        if (obj && typeof obj === 'object' && !Array.isArray(obj) && obj.spec && typeof obj.spec === 'object') {
          (obj.spec as Record<string, Json>).containers = [];
          return true;
        }
        break;
      case 'kind':
        setAt(obj, pick(rand, [['kind'], ['apiVersion']]), pick(rand, ['Deployment', 'v2', 'apps/v1', 'pod', 'List', '']));
        break;
      case 'annotationsHuge':
        if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
          obj.metadata = { name: 'huge', annotations: { big: 'x'.repeat(300 * 1024) } };
          return true;
        }
        break;
    }
  }
  return false;
}

function pathValue(root: Json, path: Path): Json {
  let cur: Json = root;
  for (const p of path) cur = (cur as Record<string | number, Json>)[p];
  return cur;
}

const GARBAGE = ['\t', ':', ': :', '{', '}', '[', ']', '"', "'", '&x ', '*x', '!!binary ', '!foo ', '%YAML 1.2\n', '\n---\n', '\n...\n', '\u0000', '\u0007', '\ufeff', '? ', '- ', '|', '>', '#', ',', '@', '`', '<<: *x\n', '  ', '\n'];

/** Text mutations of a manifest's source. */
function mutateText(rand: () => number, base: string, id: number): Mutant {
  const op = pick(rand, ['truncate', 'garbage', 'garbage', 'utf8', 'utf8', 'bomb', 'recursiveAlias', 'mergeBomb', 'tabs']);
  let bytes: Buffer;
  let mustFail = false;
  switch (op) {
    case 'truncate':
      bytes = Buffer.from(base.slice(0, Math.floor(rand() * base.length)));
      break;
    case 'garbage': {
      let t = base;
      for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) {
        const at = Math.floor(rand() * t.length);
        t = t.slice(0, at) + pick(rand, GARBAGE) + t.slice(at);
      }
      bytes = Buffer.from(t);
      break;
    }
    case 'utf8': {
      const b = Buffer.from(base);
      const bad = pick(rand, [[0xff], [0xfe], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0x80], [0xe2, 0x82], [0xf5, 0x80, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf]]);
      const at = Math.floor(rand() * b.length);
      // Truncated sequences only count at the very end or before ASCII.
      bytes = Buffer.concat([b.subarray(0, at), Buffer.from(bad), b.subarray(at)]);
      mustFail = true;
      break;
    }
    case 'bomb': {
      const width = 5 + Math.floor(rand() * 6);
      const depth = 4 + Math.floor(rand() * 6);
      const lines = [`    l0: &l0 [${Array(width).fill('"lol"').join(',')}]`];
      for (let i = 1; i < depth; i++) lines.push(`    l${i}: &l${i} [${Array(width).fill(`*l${i - 1}`).join(',')}]`);
      const text = base.replace(/^metadata:\n/m, `metadata:\n  annotations:\n${lines.join('\n')}\n`);
      bytes = Buffer.from(text);
      mustFail = text !== base && width ** (depth - 1) > 100;
      break;
    }
    case 'recursiveAlias': {
      const text = base.replace(/^spec:\n/m, 'spec:\n  x: &r [1, *r]\n');
      bytes = Buffer.from(text);
      mustFail = text !== base;
      break;
    }
    case 'mergeBomb': {
      const lines = ['  m0: &m0 {a: 1, b: 2, c: 3, d: 4}'];
      for (let i = 1; i < 8; i++) lines.push(`  m${i}: &m${i} {<<: [${Array.from({ length: 6 }, () => `*m${i - 1}`).join(', ')}], k${i}: ${i}}`);
      const text = base.replace(/^spec:\n/m, `spec:\n${lines.join('\n')}\n`);
      bytes = Buffer.from(text);
      mustFail = text !== base;
      break;
    }
    default: // tabs for indentation
      bytes = Buffer.from(base.replace(/^ {2}/gm, () => (rand() < 0.3 ? '\t' : '  ')));
  }
  return { id, kind: `text:${op}`, bytes, mustFail };
}

/** Documents of about 10 MB, each malformed in its own way. */
export function tenMegabyteMutants(base: string, firstId: number): Mutant[] {
  const MB10 = 10 * 1024 * 1024;
  const make = (kind: string, text: string): Mutant => ({ id: firstId++, kind: `10MB:${kind}`, bytes: Buffer.from(text), mustFail: true });
  const name = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\n';
  return [
    make('annotation', base.replace(/^metadata:\n/m, `metadata:\n  annotations:\n    big: "${'x'.repeat(MB10)}"\n`)),
    make('label', `${name}  labels:\n    big: ${'y'.repeat(MB10)}\nspec:\n  containers: [{name: c, image: busybox}]\n`),
    make('containers', `${name}spec:\n  containers:\n${'  - {name: c, image: busybox}\n'.repeat(Math.floor(MB10 / 30))}`),
    make('unknown-keys', `${name}spec:\n  containers: [{name: c, image: busybox}]\n${Array.from({ length: Math.floor(MB10 / 16) }, (_, i) => `unknown${i}: v`).join('\n')}\n`),
    make('brackets', `${name}spec: ${'['.repeat(MB10 / 2)}`),
    make('one-line', 'x'.repeat(MB10)),
    make('documents', '---\nfoo: [\n'.repeat(MB10 / 10)),
  ];
}

/** Mutant number `id`, the same for the same seed; made on demand (some are megabytes). */
export function mutant(bases: ReturnType<typeof baseManifests>, seed: number, id: number): Mutant {
  const rand = prng(seed * 1_000_003 + id);
  const base = pick(rand, bases);
  return rand() < 0.6 ? mutateObject(rand, base.object, id) : mutateText(rand, base.text, id);
}
