// Validation of Pod manifests: the JSON Schema (shape, unknown and unsupported fields)
// plus Kubernetes' semantic rules (names, ports, probes, resources, ...), with errors
// mapped back to line:column in the YAML/JSON source.
//
// Messages follow Kubernetes' field.Error wording ("Required value", "Invalid value: x:
// detail", "Duplicate value: x", "Not found: x", "Forbidden: detail") so users who know
// `kubectl` recognise them. Nothing here applies defaults: callers do that afterwards.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type { Document, LineCounter, Node as YamlNode, Pair } from 'yaml';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Pod } from './types.js';
import { QUANTITY_FORMAT_ERROR, tryParseQuantity } from './quantity.js';
import { AJV_OPTIONS, SCHEMA_URL, VALIDATOR_URL, schemaHash } from './schema-codegen.js';
import { loadYaml } from './yaml-lib.js';

// ajv (~70 ms with the compile) and yaml (~25 ms) load on first use: commands that never
// validate a manifest must not pay for them at start-up.
const require = createRequire(import.meta.url);
let yamlLib: typeof import('yaml') | undefined;
const yaml = () => (yamlLib ??= loadYaml()); // bundled at build: see yaml-lib.ts

// ---------------------------------------------------------------------------
// Public API

/** A problem in an object, Kubernetes-style path (`spec.containers[0].image`). */
export interface FieldError { path: string; message: string }

/** A problem in a manifest file, 1-based line and column. */
export interface Problem { file: string; line: number; col: number; path: string; message: string }

/** One object parsed from a manifest file. */
export interface ManifestObject {
  object: unknown;
  /** 0-based index of the YAML document (`---`) in the file, empty documents included. */
  index: number;
  /** For an expanded `kind: List`, the 0-based position in its `items`. */
  item?: number;
}

/** `FILE:LINE:COL: PATH: MESSAGE`, or `FILE:LINE:COL: MESSAGE` without a path. */
export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** Every problem of a Pod object (as received by the API server), in document order. */
export function validatePod(obj: unknown): FieldError[] {
  return podIssues(obj).map((i) => ({ path: displayPath(i), message: i.message }));
}

/** Splits a multi-document YAML/JSON text into objects; `kind: List` is expanded. */
export function parseManifests(text: string, file: string): { objects: ManifestObject[]; problems: Problem[] } {
  const { entries, problems } = parseEntries(text, file);
  const objects = entries.map(({ object, index, item }) => (item === undefined ? { object, index } : { object, index, item }));
  return { objects, problems };
}

/**
 * Parses and validates a manifest file. `pods` holds only the objects without problems,
 * with nulls dropped and `status` removed (Kubernetes ignores it on create); no defaults.
 */
export function validateManifests(text: string, file: string): { pods: Pod[]; problems: Problem[] } {
  const { entries, problems, lines } = parseEntries(text, file);
  const pods: Pod[] = [];
  for (const entry of entries) {
    const kindProblems = kindIssues(entry.object);
    const issues = kindProblems.length > 0 ? kindProblems : podIssues(entry.object);
    for (const issue of issues) {
      const offset = locate(entry.doc, [...entry.prefix, ...issue.segs], issue.target);
      problems.push({ file, ...lines.linePos(offset), path: displayPath(issue), message: issue.message });
    }
    if (issues.length === 0) pods.push(normalisePod(entry.object));
  }
  problems.sort((a, b) => a.line - b.line || a.col - b.col); // stable: same spot keeps its order
  if (problems.length > MAX_PROBLEMS) {
    const rest = problems.splice(MAX_PROBLEMS);
    problems.push({ ...rest[0], path: '', message: `and ${rest.length} more problems` });
  }
  return { pods, problems };
}

/** Copy of a JSON value without null-valued object properties (Go decodes them as absent). */
export function dropNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => dropNulls(v)) as T;
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) setOwn(out, k, dropNulls(v));
  return out as T;
}

/** o[k] = v, also for k "__proto__": JSON.parse makes it an own key, plain assignment would set the prototype. */
export function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

// ---------------------------------------------------------------------------
// Name rules (k8s.io/apimachinery/pkg/util/validation), exported for `label`/selectors.

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const ENV_VAR_NAME_FMT = '[-._a-zA-Z][-._a-zA-Z0-9]*';
const full = (fmt: string) => new RegExp(`^${fmt}$`);
const DNS1123_LABEL_RE = full(DNS1123_LABEL_FMT);
const DNS1123_SUBDOMAIN_RE = full(DNS1123_SUBDOMAIN_FMT);
const QUALIFIED_NAME_RE = full(QUALIFIED_NAME_FMT);
const LABEL_VALUE_RE = full(LABEL_VALUE_FMT);
const ENV_VAR_NAME_RE = full(ENV_VAR_NAME_FMT);
const QUALIFIED_NAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

// Same text as Go's RegexError, double space before "or" included.
function regexError(msg: string, fmt: string, ...examples: string[]): string {
  const eg = examples.map((e) => `'${e}', `).join(' or ');
  return `${msg} (e.g. ${eg}regex used for validation is '${fmt}')`;
}
const maxLenError = (n: number) => `must be no more than ${n} characters`;

export function dns1123LabelErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!DNS1123_LABEL_RE.test(v)) {
    errs.push(DNS1123_SUBDOMAIN_RE.test(v) ? 'must not contain dots' : regexError(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
      DNS1123_LABEL_FMT, 'my-name', '123-abc'));
  }
  return errs;
}

export function dns1123SubdomainErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLenError(253));
  if (!DNS1123_SUBDOMAIN_RE.test(v)) {
    errs.push(regexError(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
      DNS1123_SUBDOMAIN_FMT, 'example.com'));
  }
  return errs;
}

/** Label/annotation key: optional DNS subdomain prefix and '/', then a name of at most 63. */
export function qualifiedNameErrors(v: string): string[] {
  const parts = v.split('/');
  if (parts.length > 2) {
    return [`a qualified name ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  const errs: string[] = [];
  const name = parts[parts.length - 1];
  if (parts.length === 2) {
    const prefix = parts[0];
    if (prefix === '') errs.push('prefix part must be non-empty');
    else errs.push(...dns1123SubdomainErrors(prefix).map((m) => `prefix part ${m}`));
  }
  if (name === '') errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!QUALIFIED_NAME_RE.test(name)) {
    errs.push(`name part ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  }
  return errs;
}

export function labelValueErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!LABEL_VALUE_RE.test(v)) {
    errs.push(regexError(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
      LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  }
  return errs;
}

/** IANA_SVC_NAME, the syntax of named ports. */
export function portNameErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(v)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(v)) errs.push('must contain at least one letter (a-z)');
  if (v.includes('--')) errs.push('must not contain consecutive hyphens');
  if (v.startsWith('-') || v.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

function envVarNameErrors(v: string): string[] {
  const errs: string[] = [];
  if (!ENV_VAR_NAME_RE.test(v)) {
    errs.push(regexError(
      "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
      ENV_VAR_NAME_FMT, 'my.env-name', 'MY_ENV.NAME', 'MyEnvName1'));
  }
  if (v === '.' || v === '..') errs.push(`must not be '${v}'`);
  else if (v.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

// ---------------------------------------------------------------------------
// Issues: a problem with the object path it concerns and what to point at in the source.

type Seg = string | number;
/** value: the value; key: the key of the pair; parent: a missing field (point at its map). */
type Target = 'value' | 'key' | 'parent';
interface Issue {
  segs: Seg[];
  target: Target;
  message: string;
  /** Path shown to the user when it differs from segs (e.g. `metadata.labels` for a key). */
  path?: string;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function show(v: unknown): string {
  // A 1 MB value would make a 1 MB message: show its start and its length.
  if (typeof v === 'string' && v.length > MAX_SHOWN) return `${JSON.stringify(v.slice(0, MAX_SHOWN))}... (${v.length} characters)`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object' && v !== null) return JSON.stringify(v).slice(0, 80);
  return String(v);
}
const MAX_SHOWN = 256;
const invalid = (v: unknown, detail: string) => `Invalid value: ${show(v)}: ${detail}`;
const unsupported = (v: unknown, allowed: readonly unknown[]) =>
  `Unsupported value: ${show(v)}: must be one of ${allowed.map((a) => (a === '' ? '""' : String(a))).join(', ')}`;

// Fields whose next path segment is a map key, printed as `[key]` like Kubernetes does.
const MAP_FIELDS = new Set(['labels', 'annotations', 'nodeSelector', 'limits', 'requests']);

function formatPath(segs: Seg[]): string {
  let out = '';
  let mapNext = false;
  for (const s of segs) {
    if (typeof s === 'number' || mapNext) out += `[${s}]`;
    else out += (out ? '.' : '') + s;
    mapNext = typeof s === 'string' && !mapNext && MAP_FIELDS.has(s);
  }
  return out;
}
const displayPath = (i: Issue) => i.path ?? formatPath(i.segs);

/** Schema errors plus semantic rules, deduplicated, in the object's key order. */
function podIssues(obj: unknown): Issue[] {
  const pod = dropNulls(obj);
  const validate = schemaValidator();
  validate(pod);
  const issues = [...(validate.errors ?? []).map((e) => fromAjv(e, pod)), ...semanticIssues(pod)];
  return sortAndDedupe(issues, pod);
}

function sortAndDedupe(issues: Issue[], root: unknown): Issue[] {
  const seen = new Set<string>();
  const unique = issues.filter((i) => {
    const key = `${displayPath(i)}\0${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const keyed = unique.map((issue) => ({ issue, order: orderKey(root, issue.segs) }));
  keyed.sort((a, b) => compareOrder(a.order, b.order));
  return keyed.map((k) => k.issue);
}

// Position of a path in document order: key index at each level (Infinity if absent).
function orderKey(root: unknown, segs: Seg[]): number[] {
  const key: number[] = [];
  let cur = root;
  for (const s of segs) {
    let i = -1;
    if (Array.isArray(cur) && typeof s === 'number') i = s < cur.length ? s : -1;
    else if (isObject(cur)) i = keyIndex(cur, String(s));
    if (i < 0) return [...key, Infinity];
    key.push(i);
    cur = Array.isArray(cur) ? cur[i] : (cur as Obj)[String(s)];
  }
  return key;
}

// Key positions, built once per object: orderKey runs once per issue, and a mapping
// with many (unknown) keys must not make validation quadratic.
const keyIndexes = new WeakMap<object, Map<string, number>>();
function keyIndex(o: Obj, k: string): number {
  let m = keyIndexes.get(o);
  if (!m) keyIndexes.set(o, (m = new Map(Object.keys(o).map((key, i) => [key, i]))));
  return m.get(k) ?? -1;
}

function compareOrder(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------------------
// JSON Schema (ajv), compiled on first use.

let compiled: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (compiled) return compiled;
  const text = readFileSync(SCHEMA_URL, 'utf8');
  // Compiled ahead of time by the build (schema-codegen.ts), unless the schema changed since.
  try {
    const pre = require(VALIDATOR_URL.pathname) as ValidateFunction & { schemaHash?: string };
    if (pre.schemaHash === schemaHash(text)) return (compiled = pre);
  } catch {
    // not generated: compile below
  }
  const Ajv = (require('ajv') as typeof import('ajv')).default;
  const ajv = new Ajv(AJV_OPTIONS);
  compiled = ajv.compile(JSON.parse(text) as object);
  return compiled;
}

function fromAjv(e: ErrorObject, root: unknown): Issue {
  const segs = pointerSegs(e.instancePath, root);
  const parent = (e.parentSchema ?? {}) as Obj;
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String(e.params.additionalProperty);
      return { segs: [...segs, field], target: 'key', message: unknownField(field, knownFields(parent)) };
    }
    case 'false schema':
      return { segs, target: 'key', message: 'field is not supported by minipod' };
    case 'required':
      return { segs: [...segs, String(e.params.missingProperty)], target: 'parent', message: 'Required value' };
    case 'type': {
      const types = Array.isArray(e.params.type) ? e.params.type : String(e.params.type).split(',');
      return { segs, target: 'value', message: `must be ${types.join(' or ')}` };
    }
    case 'enum':
      return { segs, target: 'value', message: unsupported(e.data, e.params.allowedValues as unknown[]) };
    case 'const':
      return { segs, target: 'value', message: `Unsupported value: ${show(e.data)}: not supported by minipod (only ${show(e.params.allowedValue)})` };
    case 'minimum':
    case 'maximum':
      return { segs, target: 'value', message: rangeMessage(e.data, parent) };
    case 'minItems':
      return { segs, target: 'value', message: `Required value: must have at least ${e.params.limit} item${e.params.limit === 1 ? '' : 's'}` };
    default:
      return { segs, target: 'value', message: e.message ?? e.keyword };
  }
}

function rangeMessage(value: unknown, schema: Obj): string {
  const { minimum: min, maximum: max } = schema;
  if (min !== undefined && max !== undefined) return invalid(value, `must be between ${min} and ${max}, inclusive`);
  if (min !== undefined) return invalid(value, `must be greater than or equal to ${min}`);
  return invalid(value, `must be less than or equal to ${max}`);
}

// JSON pointer -> path segments; array indices become numbers.
function pointerSegs(pointer: string, root: unknown): Seg[] {
  if (!pointer) return [];
  const segs: Seg[] = [];
  let cur = root;
  for (const raw of pointer.slice(1).split('/')) {
    const s = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      segs.push(Number(s));
      cur = cur[Number(s)];
    } else {
      segs.push(s);
      cur = isObject(cur) ? cur[s] : undefined;
    }
  }
  return segs;
}

// Fields the schema accepts here; `false` ones are unsupported, never a suggestion.
function knownFields(schema: Obj): string[] {
  const props = isObject(schema.properties) ? schema.properties : {};
  return Object.entries(props).filter(([, s]) => s !== false).map(([k]) => k);
}

function unknownField(field: string, siblings: string[]): string {
  const guess = suggest(field, siblings);
  return `unknown field ${show(field)}${guess ? `, did you mean ${show(guess)}?` : ''}`;
}

/** The closest sibling within Levenshtein distance 2, ignoring case. */
function suggest(field: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDist = 3;
  for (const c of candidates) {
    if (Math.abs(field.length - c.length) >= bestDist) continue; // the distance is at least that: skip the work
    const d = levenshtein(field.toLowerCase(), c.toLowerCase());
    if (d < bestDist && d < field.length) [best, bestDist] = [c, d];
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

// ---------------------------------------------------------------------------
// Semantic rules, run on whatever shape the object has (the schema reports wrong types,
// so every rule silently skips values of the wrong type).

const RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral-storage'] as const;
const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];
const HOOK_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'sleep'];
const PROBE_SETTINGS = ['initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'];
const FIELD_PATHS = [
  'metadata.name', 'metadata.namespace', 'metadata.uid', 'metadata.labels', 'metadata.annotations',
  "metadata.labels['<KEY>']", "metadata.annotations['<KEY>']",
  'spec.nodeName', 'spec.serviceAccountName', 'status.hostIP', 'status.podIP', 'status.podIPs',
];
const ANNOTATIONS_MAX_BYTES = 256 * 1024;

interface PodContext {
  out: Issue[];
  volumes: Set<string>;
  containerNames: Set<string>;
  hostNetwork: boolean;
}

function semanticIssues(pod: unknown): Issue[] {
  const out: Issue[] = [];
  if (!isObject(pod)) return out;
  checkMetadata(isObject(pod.metadata) ? pod.metadata : {}, out);
  if (isObject(pod.spec)) checkSpec(pod.spec, out);
  return out;
}

function checkMetadata(meta: Obj, out: Issue[]): void {
  const { name, generateName, namespace } = meta;
  if (name === undefined || name === '') {
    if (typeof generateName !== 'string' || generateName === '') {
      out.push({ segs: ['metadata', 'name'], target: 'parent', message: 'Required value: name or generateName is required' });
    }
  } else if (typeof name === 'string') {
    for (const m of dns1123SubdomainErrors(name)) out.push({ segs: ['metadata', 'name'], target: 'value', message: invalid(name, m) });
  }
  if (typeof generateName === 'string' && generateName !== '' && !name) {
    // Kubernetes masks a trailing '-' of the prefix before checking it.
    const masked = generateName.endsWith('-') ? `${generateName.slice(0, -1)}a` : generateName;
    for (const m of dns1123SubdomainErrors(masked)) out.push({ segs: ['metadata', 'generateName'], target: 'value', message: invalid(generateName, m) });
  }
  if (typeof namespace === 'string' && namespace !== '') {
    for (const m of dns1123LabelErrors(namespace)) out.push({ segs: ['metadata', 'namespace'], target: 'value', message: invalid(namespace, m) });
  }
  checkLabels(meta.labels, ['metadata', 'labels'], out);
  checkAnnotations(meta.annotations, ['metadata', 'annotations'], out);
}

function checkLabels(labels: unknown, at: Seg[], out: Issue[]): void {
  if (!isObject(labels)) return;
  const path = formatPath(at);
  for (const [k, v] of Object.entries(labels)) {
    for (const m of qualifiedNameErrors(k)) out.push({ segs: [...at, k], target: 'key', path, message: invalid(k, m) });
    if (typeof v !== 'string') continue;
    for (const m of labelValueErrors(v)) out.push({ segs: [...at, k], target: 'value', path, message: invalid(v, m) });
  }
}

function checkAnnotations(annotations: unknown, at: Seg[], out: Issue[]): void {
  if (!isObject(annotations)) return;
  const path = formatPath(at);
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const m of qualifiedNameErrors(k.toLowerCase())) out.push({ segs: [...at, k], target: 'key', path, message: invalid(k, m) });
    size += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  }
  if (size > ANNOTATIONS_MAX_BYTES) out.push({ segs: at, target: 'value', message: `Too long: must have at most ${ANNOTATIONS_MAX_BYTES} bytes` });
}

function checkSpec(spec: Obj, out: Issue[]): void {
  const ctx: PodContext = { out, volumes: checkVolumes(spec.volumes, out), containerNames: new Set(), hostNetwork: spec.hostNetwork === true };
  for (const field of ['hostname', 'subdomain']) {
    const v = spec[field];
    if (typeof v === 'string' && v !== '') for (const m of dns1123LabelErrors(v)) out.push({ segs: ['spec', field], target: 'value', message: invalid(v, m) });
  }
  checkLabels(spec.nodeSelector, ['spec', 'nodeSelector'], out);
  checkSecurityContext(spec.securityContext, ['spec', 'securityContext'], out);
  checkDNSConfig(spec, out);
  checkHostAliases(spec.hostAliases, out);
  // Kubernetes checks app containers first, then init containers against all names.
  for (const field of ['containers', 'initContainers'] as const) {
    asArray(spec[field]).forEach((c) => {
      if (isObject(c) && typeof c.name === 'string') ctx.containerNames.add(c.name);
    });
  }
  checkContainerList(asArray(spec.containers), ['spec', 'containers'], ctx, new Set());
  const appNames = new Set(asArray(spec.containers).flatMap((c) => (isObject(c) && typeof c.name === 'string' ? [c.name] : [])));
  checkContainerList(asArray(spec.initContainers), ['spec', 'initContainers'], ctx, appNames);
}

// The apiserver's limits, from libc's resolver (pkg/apis/core/validation).
const MAX_DNS_NAMESERVERS = 3;
const MAX_DNS_SEARCH_PATHS = 32;
const MAX_DNS_SEARCH_LIST_CHARS = 2048;
const IP_FORMAT_ERROR = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

/** Go's net.ParseIP: no zone (`%eth0`), which Node's isIP would accept. */
const isValidIP = (v: string) => isIP(v) !== 0 && !v.includes('%');

/** A list value as Go's %#v prints it in field errors: []string{"a", "b"}. */
function showStrings(list: unknown[]): string {
  const text = `[]string{${list.map((v) => JSON.stringify(String(v))).join(', ')}}`;
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}... (${list.length} items)` : text;
}

function checkDNSConfig(spec: Obj, out: Issue[]): void {
  const at: Seg[] = ['spec', 'dnsConfig'];
  const config = spec.dnsConfig;
  if (spec.dnsPolicy === 'None') {
    if (config === undefined) {
      out.push({ segs: at, target: 'parent', message: 'Required value: must provide `dnsConfig` when `dnsPolicy` is None' });
      return;
    }
    if (isObject(config) && asArray(config.nameservers).length === 0) {
      out.push({ segs: [...at, 'nameservers'], target: config.nameservers === undefined ? 'parent' : 'value', message: 'Required value: must provide at least one DNS nameserver when `dnsPolicy` is None' });
      return;
    }
  }
  if (!isObject(config)) return;
  const nameservers = asArray(config.nameservers);
  if (nameservers.length > MAX_DNS_NAMESERVERS) {
    out.push({ segs: [...at, 'nameservers'], target: 'value', message: `Invalid value: ${showStrings(nameservers)}: must not have more than ${MAX_DNS_NAMESERVERS} nameservers` });
  }
  nameservers.forEach((ns, i) => {
    if (typeof ns === 'string' && !isValidIP(ns)) out.push({ segs: [...at, 'nameservers', i], target: 'value', message: invalid(ns, IP_FORMAT_ERROR) });
  });
  const searches = asArray(config.searches);
  if (searches.length > MAX_DNS_SEARCH_PATHS) {
    out.push({ segs: [...at, 'searches'], target: 'value', message: `Invalid value: ${showStrings(searches)}: must not have more than ${MAX_DNS_SEARCH_PATHS} search paths` });
  }
  if (searches.join(' ').length > MAX_DNS_SEARCH_LIST_CHARS) {
    out.push({ segs: [...at, 'searches'], target: 'value', message: `Invalid value: ${showStrings(searches)}: must not have more than ${MAX_DNS_SEARCH_LIST_CHARS} characters (including spaces) in the search list` });
  }
  searches.forEach((search, i) => {
    if (typeof search !== 'string') return;
    const name = search.endsWith('.') ? search.slice(0, -1) : search; // an absolute name is fine
    for (const m of dns1123SubdomainErrors(name)) out.push({ segs: [...at, 'searches', i], target: 'value', message: invalid(name, m) });
  });
  asArray(config.options).forEach((o, i) => {
    if (!isObject(o)) return;
    if (o.name === undefined || o.name === '') out.push({ segs: [...at, 'options', i], target: 'value', message: 'Required value: must not be empty' });
    // Not an apiserver rule: the runtime writes each option as one token of the
    // `options` line, so a blank or a newline would add options or whole directives.
    for (const field of ['name', 'value']) {
      const v = o[field];
      if (typeof v === 'string' && /[\s\x00-\x1f\x7f]/.test(v)) {
        out.push({ segs: [...at, 'options', i, field], target: 'value', message: invalid(v, 'must not contain whitespace or control characters (it is one token of the resolv.conf options line)') });
      }
    }
  });
}

function checkHostAliases(aliases: unknown, out: Issue[]): void {
  asArray(aliases).forEach((a, i) => {
    if (!isObject(a)) return;
    const at: Seg[] = ['spec', 'hostAliases', i];
    const ip = a.ip ?? '';
    if (typeof ip === 'string' && !isValidIP(ip)) out.push({ segs: [...at, 'ip'], target: a.ip === undefined ? 'parent' : 'value', message: invalid(ip, IP_FORMAT_ERROR) });
    asArray(a.hostnames).forEach((h, j) => {
      if (typeof h === 'string') for (const m of dns1123SubdomainErrors(h)) out.push({ segs: [...at, 'hostnames', j], target: 'value', message: invalid(h, m) });
    });
  });
}

function checkVolumes(volumes: unknown, out: Issue[]): Set<string> {
  const names = new Set<string>();
  asArray(volumes).forEach((v, i) => {
    if (!isObject(v)) return;
    const at: Seg[] = ['spec', 'volumes', i];
    if (typeof v.name === 'string') {
      checkUniqueName(v.name, [...at, 'name'], names, out);
      names.add(v.name);
    }
    checkOneOf(v, Object.keys(v).filter((k) => k !== 'name'), at, 'volume type', out);
    if (isObject(v.emptyDir)) checkQuantity(v.emptyDir.sizeLimit, [...at, 'emptyDir', 'sizeLimit'], out);
    if (isObject(v.hostPath)) checkAbsolute(v.hostPath.path, [...at, 'hostPath', 'path'], out);
  });
  return names;
}

function checkUniqueName(name: string, at: Seg[], seen: Set<string>, out: Issue[]): void {
  if (name === '') out.push({ segs: at, target: 'value', message: 'Required value' });
  else if (seen.has(name)) out.push({ segs: at, target: 'value', message: `Duplicate value: ${show(name)}` });
  else for (const m of dns1123LabelErrors(name)) out.push({ segs: at, target: 'value', message: invalid(name, m) });
}

/** Exactly one of `present` (handlers, volume sources, ...) must be set. */
function checkOneOf(obj: Obj, present: string[], at: Seg[], what: string, out: Issue[]): void {
  if (present.length === 0) {
    out.push({ segs: at, target: 'value', message: `Required value: must specify a ${what}` });
  }
  for (const extra of present.slice(1)) {
    out.push({ segs: [...at, extra], target: 'key', message: `Forbidden: may not specify more than 1 ${what}` });
  }
}

function checkContainerList(list: unknown[], at: Seg[], ctx: PodContext, taken: Set<string>): void {
  const isInit = at[1] === 'initContainers';
  const seen = new Set(taken);
  const hostPorts = new Set<string>();
  list.forEach((c, i) => {
    if (!isObject(c)) return;
    const cAt = [...at, i];
    if (typeof c.name === 'string') {
      checkUniqueName(c.name, [...cAt, 'name'], seen, ctx.out);
      seen.add(c.name);
    }
    checkContainer(c, cAt, ctx, isInit, hostPorts);
  });
}

function checkContainer(c: Obj, at: Seg[], ctx: PodContext, isInit: boolean, hostPorts: Set<string>): void {
  const { out } = ctx;
  if (typeof c.image === 'string') {
    if (c.image.trim() === '') out.push({ segs: [...at, 'image'], target: 'value', message: 'Required value' });
    else if (c.image.trim() !== c.image) out.push({ segs: [...at, 'image'], target: 'value', message: invalid(c.image, 'must not have leading or trailing whitespace') });
  }
  checkRestartPolicy(c, at, isInit, out);
  const portNames = checkPorts(c.ports, [...at, 'ports'], ctx, hostPorts);
  asArray(c.env).forEach((e, i) => { if (isObject(e)) checkEnvVar(e, [...at, 'env', i], ctx); });
  if (isObject(c.resources)) checkResources(c.resources, [...at, 'resources'], out);
  checkVolumeMounts(c.volumeMounts, [...at, 'volumeMounts'], ctx);
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    if (isObject(c[probe])) checkProbe(c[probe] as Obj, [...at, probe], probe !== 'readinessProbe', portNames, out);
  }
  if (isObject(c.lifecycle)) {
    for (const hook of ['postStart', 'preStop']) {
      const h = c.lifecycle[hook];
      if (isObject(h)) checkHandler(h, [...at, 'lifecycle', hook], HOOK_HANDLERS, [], portNames, out);
    }
  }
  if (c.terminationMessagePath !== undefined) checkAbsolute(c.terminationMessagePath, [...at, 'terminationMessagePath'], out);
  checkSecurityContext(c.securityContext, [...at, 'securityContext'], out);
}

/** Pod- and container-level securityContext share these rules. */
function checkSecurityContext(sc: unknown, at: Seg[], out: Issue[]): void {
  if (isObject(sc) && isObject(sc.seccompProfile)) checkSeccompProfile(sc.seccompProfile, [...at, 'seccompProfile'], out);
}

const SECCOMP_TYPES = ['Localhost', 'RuntimeDefault', 'Unconfined'];

// A type is required (the Go field is a plain string: absent and "" are the same);
// localhostProfile goes with Localhost only, and stays below the kubelet's seccomp root.
function checkSeccompProfile(sp: Obj, at: Seg[], out: Issue[]): void {
  const { type, localhostProfile } = sp;
  if (type === undefined || type === '') {
    out.push({ segs: [...at, 'type'], target: type === undefined ? 'parent' : 'value', message: 'Required value: type is required when seccompProfile is set' });
  } else if (typeof type === 'string' && !SECCOMP_TYPES.includes(type)) {
    out.push({ segs: [...at, 'type'], target: 'value', message: unsupported(type, SECCOMP_TYPES) });
  }
  const lpAt = [...at, 'localhostProfile'];
  if (type === 'Localhost') {
    if (localhostProfile === undefined) out.push({ segs: lpAt, target: 'parent', message: 'Required value: must be set when seccomp type is Localhost' });
    else if (typeof localhostProfile === 'string') checkSubPath(localhostProfile, lpAt, out); // the same "local descending path" rule
  } else if (localhostProfile !== undefined) {
    // Kubernetes shows the whole seccompProfile as the value here.
    out.push({ segs: lpAt, target: 'value', message: invalid(sp, 'can only be set when seccomp type is Localhost') });
  }
}

// Container restartPolicy marks a sidecar: only init containers may have it, and only
// sidecars among init containers may have probes or hooks (they never "complete").
function checkRestartPolicy(c: Obj, at: Seg[], isInit: boolean, out: Issue[]): void {
  if (!isInit) {
    if (c.restartPolicy !== undefined) out.push({ segs: [...at, 'restartPolicy'], target: 'key', message: 'Forbidden: may not be set for non-init containers' });
    return;
  }
  if (c.restartPolicy === 'Always') return;
  for (const field of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe']) {
    if (c[field] !== undefined) out.push({ segs: [...at, field], target: 'key', message: 'Forbidden: may not be set for init containers without restartPolicy=Always' });
  }
}

function checkPorts(ports: unknown, at: Seg[], ctx: PodContext, hostPorts: Set<string>): Set<string> {
  const names = new Set<string>();
  asArray(ports).forEach((p, i) => {
    if (!isObject(p)) return;
    const pAt = [...at, i];
    if (typeof p.name === 'string') {
      const errs = portNameErrors(p.name);
      for (const m of errs) ctx.out.push({ segs: [...pAt, 'name'], target: 'value', message: invalid(p.name, m) });
      if (errs.length === 0 && names.has(p.name)) ctx.out.push({ segs: [...pAt, 'name'], target: 'value', message: `Duplicate value: ${show(p.name)}` });
      names.add(p.name);
    }
    if (typeof p.hostIP === 'string' && p.hostIP !== '' && isIP(p.hostIP) === 0) {
      ctx.out.push({ segs: [...pAt, 'hostIP'], target: 'value', message: invalid(p.hostIP, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)') });
    }
    checkHostPort(p, pAt, ctx, hostPorts);
  });
  return names;
}

// hostPort 0 means "not published", as in Kubernetes.
function checkHostPort(p: Obj, at: Seg[], ctx: PodContext, hostPorts: Set<string>): void {
  const { hostPort, containerPort } = p;
  if (!Number.isInteger(hostPort) || hostPort === 0) return;
  const hp = hostPort as number;
  const hAt = [...at, 'hostPort'];
  if (hp < 1 || hp > 65535) {
    ctx.out.push({ segs: hAt, target: 'value', message: invalid(hp, 'must be between 1 and 65535, inclusive') });
    return;
  }
  if (ctx.hostNetwork && Number.isInteger(containerPort) && containerPort !== hp) {
    ctx.out.push({ segs: hAt, target: 'value', message: invalid(hp, 'must match `containerPort` when `hostNetwork` is true') });
  }
  const protocol = typeof p.protocol === 'string' ? p.protocol : 'TCP';
  const key = `${typeof p.hostIP === 'string' ? p.hostIP : ''}/${protocol}/${hp}`;
  if (hostPorts.has(key)) ctx.out.push({ segs: hAt, target: 'value', message: `Duplicate value: ${show(`${hp}/${protocol}`)}` });
  hostPorts.add(key);
}

function checkEnvVar(e: Obj, at: Seg[], ctx: PodContext): void {
  if (typeof e.name === 'string') {
    if (e.name === '') ctx.out.push({ segs: [...at, 'name'], target: 'value', message: 'Required value' });
    else for (const m of envVarNameErrors(e.name)) ctx.out.push({ segs: [...at, 'name'], target: 'value', message: invalid(e.name, m) });
  }
  if (!isObject(e.valueFrom)) return;
  const fromAt = [...at, 'valueFrom'];
  if (typeof e.value === 'string' && e.value !== '') {
    ctx.out.push({ segs: fromAt, target: 'key', message: 'Forbidden: may not be specified when `value` is not empty' });
  }
  const sources = Object.keys(e.valueFrom);
  if (sources.length === 0) ctx.out.push({ segs: fromAt, target: 'value', message: 'Required value: must specify one of: `fieldRef` or `resourceFieldRef`' });
  for (const extra of sources.slice(1)) {
    ctx.out.push({ segs: [...fromAt, extra], target: 'key', message: 'Forbidden: may not have more than one field specified at a time' });
  }
  const { fieldRef, resourceFieldRef } = e.valueFrom;
  if (isObject(fieldRef) && typeof fieldRef.fieldPath === 'string') checkFieldPath(fieldRef.fieldPath, [...fromAt, 'fieldRef', 'fieldPath'], ctx.out);
  if (isObject(resourceFieldRef)) checkResourceFieldRef(resourceFieldRef, [...fromAt, 'resourceFieldRef'], ctx);
}

function checkFieldPath(fieldPath: string, at: Seg[], out: Issue[]): void {
  if (FIELD_PATHS.includes(fieldPath)) return;
  const sub = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (!sub) {
    out.push({ segs: at, target: 'value', message: unsupported(fieldPath, FIELD_PATHS) });
    return;
  }
  const key = sub[1] === 'annotations' ? sub[2].toLowerCase() : sub[2];
  for (const m of qualifiedNameErrors(key)) out.push({ segs: at, target: 'value', message: invalid(fieldPath, m) });
}

const RESOURCE_FIELD_REFS = RESOURCE_NAMES.flatMap((r) => [`limits.${r}`, `requests.${r}`]);
const CPU_DIVISORS = [1e-3, 1];
const MEMORY_DIVISORS = [1, 1e3, 1e6, 1e9, 1e12, 1e15, 1e18, 2 ** 10, 2 ** 20, 2 ** 30, 2 ** 40, 2 ** 50, 2 ** 60];

function checkResourceFieldRef(ref: Obj, at: Seg[], ctx: PodContext): void {
  const { resource, containerName, divisor } = ref;
  if (typeof resource === 'string' && !RESOURCE_FIELD_REFS.includes(resource)) {
    ctx.out.push({ segs: [...at, 'resource'], target: 'value', message: unsupported(resource, RESOURCE_FIELD_REFS) });
  }
  if (typeof containerName === 'string' && containerName !== '' && !ctx.containerNames.has(containerName)) {
    ctx.out.push({ segs: [...at, 'containerName'], target: 'value', message: `Not found: ${show(containerName)}` });
  }
  if (divisor === undefined || !checkQuantity(divisor, [...at, 'divisor'], ctx.out)) return;
  const d = tryParseQuantity(divisor) as number;
  if (resource === 'limits.cpu' || resource === 'requests.cpu') {
    if (!CPU_DIVISORS.includes(d)) ctx.out.push({ segs: [...at, 'divisor'], target: 'value', message: invalid(divisor, "only divisor's values 1m and 1 are supported with the cpu resource") });
  } else if (typeof resource === 'string' && resource.endsWith('memory') && !MEMORY_DIVISORS.includes(d)) {
    ctx.out.push({ segs: [...at, 'divisor'], target: 'value', message: invalid(divisor, "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource") });
  }
}

/** Reports a bad quantity; returns true when the value is a valid, non-negative quantity. */
function checkQuantity(q: unknown, at: Seg[], out: Issue[]): boolean {
  if (typeof q !== 'string' && typeof q !== 'number') return false; // type error comes from the schema
  const v = tryParseQuantity(q);
  if (v === undefined) out.push({ segs: at, target: 'value', message: invalid(q, QUANTITY_FORMAT_ERROR) });
  else if (v < 0) out.push({ segs: at, target: 'value', message: invalid(q, 'must be greater than or equal to 0') });
  return v !== undefined && v >= 0;
}

function checkResources(res: Obj, at: Seg[], out: Issue[]): void {
  const valid: Record<'limits' | 'requests', Map<string, number>> = { limits: new Map(), requests: new Map() };
  for (const list of ['limits', 'requests'] as const) {
    const entries = res[list];
    if (!isObject(entries)) continue;
    for (const [name, q] of Object.entries(entries)) {
      const qAt = [...at, list, name];
      if (!(RESOURCE_NAMES as readonly string[]).includes(name)) {
        out.push({ segs: qAt, target: 'key', message: unsupported(name, RESOURCE_NAMES) });
      } else if (checkQuantity(q, qAt, out)) {
        valid[list].set(name, tryParseQuantity(q) as number);
      }
    }
  }
  for (const [name, req] of valid.requests) {
    const limit = valid.limits.get(name);
    // Relative slack: "300m" and "0.3" may differ in the last bit after parsing.
    if (limit !== undefined && req > limit * (1 + 1e-12)) {
      const limits = res.limits as Obj;
      const requests = res.requests as Obj;
      out.push({ segs: [...at, 'requests', name], target: 'value', message: invalid(requests[name], `must be less than or equal to ${name} limit of ${limits[name]}`) });
    }
  }
}

function checkVolumeMounts(mounts: unknown, at: Seg[], ctx: PodContext): void {
  const paths = new Set<string>();
  asArray(mounts).forEach((m, i) => {
    if (!isObject(m)) return;
    const mAt = [...at, i];
    if (typeof m.name === 'string' && !ctx.volumes.has(m.name)) {
      ctx.out.push({ segs: [...mAt, 'name'], target: 'value', message: `Not found: ${show(m.name)}` });
    }
    if (typeof m.mountPath === 'string') {
      if (checkAbsolute(m.mountPath, [...mAt, 'mountPath'], ctx.out) && paths.has(m.mountPath)) {
        ctx.out.push({ segs: [...mAt, 'mountPath'], target: 'value', message: invalid(m.mountPath, 'must be unique') });
      }
      paths.add(m.mountPath);
    }
    if (typeof m.subPath === 'string') checkSubPath(m.subPath, [...mAt, 'subPath'], ctx.out);
  });
}

function checkSubPath(p: string, at: Seg[], out: Issue[]): void {
  if (p.startsWith('/')) out.push({ segs: at, target: 'value', message: invalid(p, 'must be a relative path') });
  if (p.split('/').includes('..')) out.push({ segs: at, target: 'value', message: invalid(p, "must not contain '..'") });
}

/** Reports a path that is not absolute; returns true when it is. */
function checkAbsolute(p: unknown, at: Seg[], out: Issue[]): boolean {
  if (typeof p !== 'string') return false;
  if (p === '') out.push({ segs: at, target: 'value', message: 'Required value' });
  else if (!p.startsWith('/')) out.push({ segs: at, target: 'value', message: invalid(p, 'must be an absolute path') });
  return p.startsWith('/');
}

function checkProbe(probe: Obj, at: Seg[], mustSucceedOnce: boolean, portNames: Set<string>, out: Issue[]): void {
  checkHandler(probe, at, PROBE_HANDLERS, PROBE_SETTINGS, portNames, out);
  const st = probe.successThreshold;
  // Below 1 the schema already complains; report "must be 1" only for larger values.
  if (mustSucceedOnce && Number.isInteger(st) && (st as number) > 1) {
    out.push({ segs: [...at, 'successThreshold'], target: 'value', message: invalid(st, 'must be 1') });
  }
}

/** Exactly one handler; a string port must name one of the container's ports. */
function checkHandler(h: Obj, at: Seg[], handlers: string[], settings: string[], portNames: Set<string>, out: Issue[]): void {
  const keys = Object.keys(h);
  const present = keys.filter((k) => handlers.includes(k));
  // An unknown key may be a misspelt handler, already reported: don't add "must specify".
  const onlyKnown = keys.every((k) => settings.includes(k));
  if (present.length > 0 || onlyKnown) checkOneOf(h, present, at, 'handler type', out);
  for (const kind of ['httpGet', 'tcpSocket']) {
    const action = h[kind];
    if (isObject(action) && action.port !== undefined) checkPortRef(action.port, [...at, kind, 'port'], portNames, out);
  }
}

function checkPortRef(port: unknown, at: Seg[], portNames: Set<string>, out: Issue[]): void {
  if (typeof port === 'number') {
    if (Number.isInteger(port) && (port < 1 || port > 65535)) out.push({ segs: at, target: 'value', message: invalid(port, 'must be between 1 and 65535, inclusive') });
    return;
  }
  if (typeof port !== 'string') return;
  const errs = portNameErrors(port);
  for (const m of errs) out.push({ segs: at, target: 'value', message: invalid(port, m) });
  if (errs.length === 0 && !portNames.has(port)) {
    out.push({ segs: at, target: 'value', message: `Not found: ${show(port)}: must name a port of this container (ports[].name)` });
  }
}

// ---------------------------------------------------------------------------
// Manifest files: documents, List expansion, apiVersion/kind.

const MAX_ALIAS_COUNT = 100;

interface Entry extends ManifestObject {
  doc: Document.Parsed;
  /** Path of the object inside its document (['items', i] for List items). */
  prefix: Seg[];
}

function parseEntries(text: string, file: string): { entries: Entry[]; problems: Problem[]; lines: LineCounter } {
  const { Composer, Lexer, LineCounter, Parser } = yaml();
  const lines = new LineCounter();
  const entries: Entry[] = [];
  const problems: Problem[] = [];
  const at = (offset: number, message: string, path = '') => problems.push({ file, ...lines.linePos(offset), path, message });
  // prettyErrors off: short messages; positions come from the LineCounter. uniqueKeys
  // off: the library checks it in quadratic time, duplicateKeys() in linear time.
  // logLevel error: no process warnings on stderr (e.g. for a sequence used as a key).
  const composer = new Composer({ prettyErrors: false, merge: true, uniqueKeys: false, logLevel: 'error' });
  const parser = new Parser(lines.addNewLine);
  let index = 0;
  let docStart = 0;
  // A lexeme at a time (no recursion), each document composed as soon as it is parsed:
  // the nesting is checked before the composer recurses into it (too deep a document
  // overflows the stack, at worst fatally), and 10 MB of garbage stops early.
  lines.addNewLine(0);
  for (const lexeme of new Lexer().lex(text)) {
    for (const t of parser.next(lexeme)) {
      for (const doc of composer.next(t)) onDoc(doc, index++);
      docStart = parser.offset;
    }
    if (parser.offset - docStart > MAX_OBJECT_SIZE) {
      at(docStart, `this document is larger than ${MAX_OBJECT_SIZE / 1024 / 1024} MiB, the most the API server accepts for one object`);
      return { entries, problems, lines };
    }
    if (parser.stack.length > MAX_NESTING_DEPTH + 1) {
      at(parser.offset, `invalid YAML: nested deeper than ${MAX_NESTING_DEPTH} levels`);
      return { entries, problems, lines };
    }
    if (problems.length >= MAX_PROBLEMS) {
      at(parser.offset, `too many problems: stopped reading after ${problems.length}`);
      return { entries, problems, lines };
    }
  }
  for (const t of parser.end()) for (const doc of composer.next(t)) onDoc(doc, index++);
  for (const doc of composer.end()) onDoc(doc, index++);
  return { entries, problems, lines };

  function onDoc(doc: Document.Parsed, index: number): void {
    const errors = doc.errors.length > 0 ? doc.errors.map((e) => ({ offset: e.pos[0], message: e.message })) : duplicateKeys(doc);
    if (errors.length > 0) {
      for (const e of errors) at(e.offset, `invalid YAML: ${e.message}`);
      return;
    }
    const object = toJS(doc, (offset, message) => at(offset, message));
    if (object === undefined || object === null) return; // empty document (or already reported)
    if (nestedDeeperThan(object, MAX_NESTING_DEPTH)) {
      at(doc.contents?.range[0] ?? 0, `invalid YAML: aliases nest the document deeper than ${MAX_NESTING_DEPTH} levels`);
      return;
    }
    const start = doc.contents?.range[0] ?? 0;
    if (!isObject(object)) {
      at(start, `expected a Kubernetes object (a mapping with apiVersion and kind), not ${Array.isArray(object) ? 'a sequence' : 'a scalar'}`);
    } else if (isListKind(object)) {
      expandList(object, doc, index, entries, (segs, message) => at(locate(doc, segs, 'value'), message, formatPath(segs)));
    } else {
      entries.push({ object, index, doc, prefix: [] });
    }
  }
}

/** The API server's request size limit (MAX_BODY_BYTES): a bigger document could never be applied. */
const MAX_OBJECT_SIZE = 3 * 1024 * 1024;

/** Problems shown for one file at most: the rest of a garbage file says nothing more. */
export const MAX_PROBLEMS = 200;

/** Deeper than any real manifest, far shallower than what overflows the stack. */
export const MAX_NESTING_DEPTH = 100;

/** True when arrays/objects nest deeper than `max` levels; no recursion. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** "Map keys must be unique", as the library reports it with uniqueKeys on (scalar keys). */
function duplicateKeys(doc: Document.Parsed): { offset: number; message: string }[] {
  const { isScalar, visit } = yaml();
  const found: { offset: number; message: string }[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key) || pair.key.value === '<<') continue; // merge keys may repeat
        if (seen.has(pair.key.value)) found.push({ offset: pair.key.range?.[0] ?? 0, message: 'Map keys must be unique' });
        seen.add(pair.key.value);
      }
    },
  });
  return found;
}

/** The document as plain data; undefined (after reporting) when aliases are abused. */
function toJS(doc: Document.Parsed, report: (offset: number, message: string) => void): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const text = /excessive alias count/i.test(msg)
      ? `invalid YAML: aliases expand to too many nodes (limit ${MAX_ALIAS_COUNT}); refusing a possible "billion laughs" document`
      : `invalid YAML: ${msg}`;
    report(firstAliasOffset(doc) ?? doc.contents?.range[0] ?? 0, text);
    return undefined;
  }
}

function firstAliasOffset(doc: Document.Parsed): number | undefined {
  let offset: number | undefined;
  const { visit } = yaml();
  visit(doc, {
    Alias(_, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

const isListKind = (o: Obj) => (o.kind === 'List' || o.kind === 'PodList') && 'items' in o;

function expandList(list: Obj, doc: Document.Parsed, index: number, entries: Entry[], report: (segs: Seg[], message: string) => void): void {
  if (!Array.isArray(list.items)) {
    report(['items'], 'must be array');
    return;
  }
  list.items.forEach((object, item) => {
    if (isObject(object)) entries.push({ object, index, item, doc, prefix: ['items', item] });
    else if (object !== null) report(['items', item], 'must be object');
  });
}

function kindIssues(obj: unknown): Issue[] {
  if (!isObject(obj)) return [];
  const { apiVersion, kind } = obj;
  const issues: Issue[] = [];
  if (kind === undefined || kind === null) issues.push({ segs: ['kind'], target: 'parent', message: 'Required value' });
  else if (kind !== 'Pod') return [{ segs: ['kind'], target: 'value', message: `kind ${show(kind)} is not supported: minipod runs Pods` }];
  if (apiVersion === undefined || apiVersion === null) issues.push({ segs: ['apiVersion'], target: 'parent', message: 'Required value' });
  else if (apiVersion !== 'v1') {
    issues.push({ segs: ['apiVersion'], target: 'value', message: `no matches for kind "Pod" in version ${show(apiVersion)} (Pods are apiVersion "v1")` });
  }
  return issues;
}

function normalisePod(obj: unknown): Pod {
  const pod = dropNulls(obj) as Pod;
  delete pod.status;
  return pod;
}

// ---------------------------------------------------------------------------
// Source positions: walk the YAML AST along an object path.

interface Step { node: YamlNode | null; pair?: Pair }

function deref(doc: Document.Parsed, node: unknown): YamlNode | null {
  const { isAlias, isNode } = yaml();
  if (isAlias(node)) return (node.resolve(doc) as YamlNode | undefined) ?? null;
  return isNode(node) ? node : null;
}

function keyString(key: unknown): string {
  return yaml().isScalar(key) ? String(key.value) : String(key);
}

// The first pair of each key, built once per mapping (walk runs once per issue).
const pairIndexes = new WeakMap<object, Map<string, Pair>>();
function pairOf(items: Pair[], seg: Seg): Pair | undefined {
  let m = pairIndexes.get(items);
  if (!m) {
    m = new Map();
    for (const p of items) if (!m.has(keyString(p.key))) m.set(keyString(p.key), p);
    pairIndexes.set(items, m);
  }
  return m.get(String(seg));
}

/** Steps resolved along segs; steps[0] is the document root, steps[i] follows segs[i-1]. */
function walk(doc: Document.Parsed, segs: Seg[]): Step[] {
  const { isMap, isSeq } = yaml();
  const steps: Step[] = [{ node: deref(doc, doc.contents) }];
  for (const seg of segs) {
    const node = steps[steps.length - 1].node;
    let next: Step | undefined;
    if (isMap(node)) {
      const pair = pairOf(node.items as Pair[], seg);
      if (pair) next = { node: deref(doc, pair.value), pair };
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      next = { node: deref(doc, node.items[seg]) };
    }
    if (!next) break;
    steps.push(next);
  }
  return steps;
}

// Point at the key of a pair whose value is a block collection or empty: that's the
// line the user thinks of as "the field".
function startOf(step: Step, target: 'value' | 'key'): number {
  const { isMap, isNode, isScalar, isSeq } = yaml();
  const key = step.pair && isNode(step.pair.key) ? step.pair.key : undefined;
  const value = step.node;
  if (key?.range && (target === 'key' || !value?.range || isMap(value) || isSeq(value) || (isScalar(value) && value.value === null))) {
    return key.range[0];
  }
  return value?.range?.[0] ?? 0;
}

/** Source offset for an issue; falls back to the deepest part of the path that exists. */
function locate(doc: Document.Parsed, segs: Seg[], target: Target): number {
  const steps = walk(doc, segs);
  const last = steps[steps.length - 1];
  const complete = steps.length === segs.length + 1;
  if (target === 'parent') {
    if (complete && last.pair) return startOf(last, 'key'); // present but null
    return startOf(steps[Math.min(steps.length - 1, Math.max(segs.length - 1, 0))], 'value');
  }
  return complete ? startOf(last, target) : startOf(last, 'value');
}
