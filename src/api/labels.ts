// Label selectors as apimachinery parses them (pkg/labels/selector.go):
//   requirement {"," requirement}; requirement = [!]key [op value | (in|notin) (v,...)]
// with the same operators, matching rules and error wording.

export type Operator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  op: Operator;
  values: string[];
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Problems with a label key, as Kubernetes words them; empty when valid. */
export function labelKeyErrors(key: string): string[] {
  const errs: string[] = [];
  let name = key;
  const slash = key.indexOf('/');
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    name = key.slice(slash + 1);
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))
      errs.push(
        "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      );
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  else if (!QUALIFIED_NAME.test(name))
    errs.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
  return errs;
}

export function labelValueErrors(value: string): string[] {
  if (value.length > 63) return ['must be no more than 63 characters'];
  if (!LABEL_VALUE.test(value))
    return [
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ];
  return [];
}

type Token = { kind: 'id' | 'op' | '(' | ')' | ',' | 'end'; text: string };

function lex(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (' \t\r\n'.includes(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c, text: c });
      i++;
    } else if ('=!<>'.includes(c)) {
      const two = input.slice(i, i + 2);
      const op = two === '==' || two === '!=' ? two : c;
      tokens.push({ kind: 'op', text: op });
      i += op.length;
    } else {
      let j = i;
      while (j < input.length && !' \t\r\n(),=!<>'.includes(input[j])) j++;
      tokens.push({ kind: 'id', text: input.slice(i, j) });
      i = j;
    }
  }
  tokens.push({ kind: 'end', text: '' });
  return tokens;
}

/** Parses a selector; throws Error with a Kubernetes-like message on bad syntax. */
export function parseLabelSelector(input: string): Requirement[] {
  const tokens = lex(input);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const fail = (msg: string): never => {
    throw new Error(`unable to parse requirement: ${msg}`);
  };
  const reqs: Requirement[] = [];
  if (peek().kind === 'end') return reqs;
  for (;;) {
    let negate = false;
    if (peek().kind === 'op' && peek().text === '!') {
      next();
      negate = true;
    }
    const keyTok = next();
    if (keyTok.kind !== 'id') fail(`found '${keyTok.text}', expected: identifier`);
    const key = keyTok.text;
    const keyErrs = labelKeyErrors(key);
    if (keyErrs.length) fail(`invalid label key "${key}": ${keyErrs.join('; ')}`);
    const t = peek();
    if (negate) {
      reqs.push({ key, op: '!', values: [] });
    } else if (t.kind === ',' || t.kind === 'end') {
      reqs.push({ key, op: 'exists', values: [] });
    } else if (t.kind === 'id' && (t.text === 'in' || t.text === 'notin')) {
      next();
      if (next().kind !== '(') fail(`found '${tokens[pos - 1].text}', expected: '('`);
      const values: string[] = [];
      for (;;) {
        const v = peek();
        if (v.kind === 'id') {
          values.push(next().text);
        } else {
          values.push('');
        }
        const sep = next();
        if (sep.kind === ')') break;
        if (sep.kind !== ',') fail(`found '${sep.text}', expected: ',' or ')'`);
      }
      reqs.push({ key, op: t.text as 'in' | 'notin', values });
    } else if (t.kind === 'op') {
      next();
      const op = t.text === '>' ? 'gt' : t.text === '<' ? 'lt' : (t.text as '=' | '==' | '!=');
      if (t.text === '!') fail(`found '!', expected: '=', '!=', '==', 'in', notin'`);
      const v = peek();
      const value = v.kind === 'id' ? next().text : '';
      if ((op === 'gt' || op === 'lt') && !/^-?\d+$/.test(value))
        fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
      reqs.push({ key, op, values: [value] });
    } else {
      fail(`found '${t.text}', expected: '=', '!=', '==', 'in', notin'`);
    }
    for (const r of reqs.slice(-1)) {
      for (const v of r.op === 'gt' || r.op === 'lt' ? [] : r.values) {
        const errs = labelValueErrors(v);
        if (errs.length) fail(`invalid label value: "${v}": at key: "${key}": ${errs.join('; ')}`);
      }
    }
    const sep = next();
    if (sep.kind === 'end') break;
    if (sep.kind !== ',') fail(`found '${sep.text}', expected: ',' or 'end of string'`);
  }
  return reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function matchesLabels(labels: Record<string, string> | undefined, reqs: Requirement[]): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'in':
      case '=':
      case '==':
        return has && r.values.includes(v);
      case 'notin':
      case '!=':
        return !has || !r.values.includes(v);
      case 'exists':
        return has;
      case '!':
        return !has;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(v)) return false;
        const n = Number(v);
        const bound = Number(r.values[0]);
        return r.op === 'gt' ? n > bound : n < bound;
      }
    }
  });
}
