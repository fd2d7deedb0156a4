// Field selectors (`spec.nodeName=node1,status.phase!=Failed`) as apimachinery
// parses them (pkg/fields/selector.go): terms split on unescaped commas, each
// split at its first `!=`, `==` or `=`, values unescaped (`\\`, `\,`, `\=`); then
// each field is checked against what the resource can select on, as the API
// server's field label conversion functions do (pkg/apis/core/v1/conversion.go),
// with the fields each resource declares (src/api/api-resources.ts).
import { type ResourceName, resourceType } from './api-resources.js';

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

function splitTerms(selector: string): string[] {
  if (!selector) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

const OPERATORS = ['!=', '==', '='] as const;

function splitTerm(term: string): { lhs: string; op: string; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of OPERATORS) {
      if (term.startsWith(op, i)) return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
    }
  }
  return undefined;
}

/** fields.UnescapeValue. */
export function unescapeFieldValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') throw new Error(`invalid field selector: invalid escape sequence: \\${c}`);
      out += c;
      inSlash = false;
    } else if (c === '\\') {
      inSlash = true;
    } else if (c === ',' || c === '=') {
      // Go prints the rune with %v: its code point.
      throw new Error(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else {
      out += c;
    }
  }
  if (inSlash) throw new Error('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Throws an Error with Kubernetes' wording for bad syntax or an unsupported field. */
export function parseFieldSelector(text: string, resource: ResourceName): FieldRequirement[] {
  const { selectableFields, fieldLabelAliases } = resourceType(resource);
  const reqs: FieldRequirement[] = [];
  for (const part of splitTerms(text).sort()) {
    if (part === '') continue;
    const t = splitTerm(part);
    if (!t) throw new Error(`invalid selector: '${text}'; can't understand '${part}'`);
    const value = unescapeFieldValue(t.rhs);
    const field = fieldLabelAliases && Object.hasOwn(fieldLabelAliases, t.lhs) ? fieldLabelAliases[t.lhs] : t.lhs;
    if (!selectableFields.includes(field)) throw new Error(`field label not supported: ${t.lhs}`);
    reqs.push({ field, op: t.op === '!=' ? '!=' : '=', value });
  }
  return reqs;
}

/** The value a field selector compares, as the resource's ToSelectableFields gives it. */
export function fieldValue(obj: unknown, path: string): string {
  const o = obj as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  switch (path) {
    case 'spec.hostNetwork':
    case 'spec.unschedulable':
      return String(Boolean(o?.spec?.[path.slice(5)]));
    case 'status.podIPs':
      return o?.status?.podIPs?.[0]?.ip ?? o?.status?.podIP ?? '';
    case 'source':
      return o?.source?.component ?? '';
    case 'metadata.namespace':
      return o?.metadata?.namespace ?? '';
  }
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

export function matchesFields(obj: unknown, reqs: FieldRequirement[]): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === '='));
}

/** fields.EscapeValue: what a client must do to a value before putting it in a selector. */
export function escapeFieldValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/,/g, '\\,').replace(/=/g, '\\=');
}
