// kubectl's JSONPath templates (k8s.io/client-go/util/jsonpath), for
// `get -o jsonpath=TEMPLATE` and `-o jsonpath-as-json=TEMPLATE`.
//
// A template is text with actions in braces: `{.metadata.name}`, `{.items[*].metadata.name}`,
// `{.items[0].status.podIP}`, `{.spec.containers[?(@.name=="web")].image}`, `{"\n"}`,
// `{range .items[*]}…{end}`, `{..image}`, `{.items[1:3]}`, `{.items[*]['metadata.name']}`.
// The parser follows client-go's parser.go rule by rule (including its quirks, such
// as `['a.b']` meaning `.a.b`), so a template behaves as it does with kubectl; the
// evaluator follows jsonpath.go. Map keys are visited in sorted order where Go's
// order would be random (wildcards, recursive descent).

export class JsonPathError extends Error {}

type Param = { value: number; known: boolean; derived: boolean };

type Step =
  | { kind: 'text'; text: string }
  | { kind: 'field'; name: string }
  | { kind: 'array'; params: [Param, Param, Param] }
  | { kind: 'filter'; left: Step[]; right: Step[]; op: string }
  | { kind: 'wildcard' }
  | { kind: 'recursive' }
  | { kind: 'union'; branches: Step[][] }
  | { kind: 'number'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'identifier'; name: string };

/** The template's top level: literal text, and actions (the steps inside one pair of braces). */
type Top = { kind: 'text'; text: string } | { kind: 'action'; steps: Step[] };

/** After pairing range with end: what the evaluator walks. */
type Block =
  | { kind: 'text'; text: string }
  | { kind: 'action'; steps: Step[] }
  | { kind: 'range'; steps: Step[]; body: Block[]; ended: boolean };

const isSpace = (r: string) => r === ' ' || r === '\t';
const isEndOfLine = (r: string) => r === '\r' || r === '\n';
const isTerminator = (r: string) => r === '' || isSpace(r) || isEndOfLine(r) || '.,[]$@{}'.includes(r);
const isAlphaNumeric = (r: string) => r === '_' || /^[\p{L}\p{Nd}]$/u.test(r);

/** A Go rune as %#U prints it: U+0021 '!'. */
function goRune(r: string): string {
  return `U+${r.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} '${r}'`;
}

/** Go's strconv.Unquote for "…" (and client-go's UnquoteExtend for '…'). */
function unquote(quoted: string): string {
  const q = quoted[0];
  const body = quoted.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === q) throw new JsonPathError(`unquote string ${quoted} error invalid syntax`);
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
    if (e in simple) out += simple[e];
    else if (e === 'x' || e === 'u' || e === 'U') {
      const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new JsonPathError(`unquote string ${quoted} error invalid syntax`);
      out += e === 'x' ? String.fromCharCode(parseInt(hex, 16)) : String.fromCodePoint(parseInt(hex, 16));
      i += len;
    } else if (/[0-7]/.test(e ?? '')) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) throw new JsonPathError(`unquote string ${quoted} error invalid syntax`);
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
    } else throw new JsonPathError(`unquote string ${quoted} error invalid syntax`);
  }
  return out;
}

/** client-go's jsonpath Parser: a cursor over the template, one rule per method. */
class Parser {
  private pos = 0;
  private start = 0;
  readonly root: Top[] = [];

  constructor(private input: string) {}

  parse(): Top[] {
    this.parseText();
    return this.root;
  }

  private next(): string {
    if (this.pos >= this.input.length) {
      this.pos++; // so that backup() after eof is symmetric
      return '';
    }
    const r = String.fromCodePoint(this.input.codePointAt(this.pos)!);
    this.pos += r.length;
    return r;
  }
  private peek(): string {
    const save = this.pos;
    const r = this.next();
    this.pos = save;
    return r;
  }
  private backup(r: string): void {
    this.pos -= r.length || 1;
  }
  private consumeText(): string {
    const s = this.input.slice(this.start, Math.min(this.pos, this.input.length));
    this.start = this.pos;
    return s;
  }
  private rest(): string {
    return this.input.slice(this.pos);
  }

  private parseText(): void {
    for (;;) {
      if (this.rest().startsWith('{')) {
        if (this.pos > this.start) this.root.push({ kind: 'text', text: this.consumeText() });
        this.pos += 1;
        this.consumeText();
        const steps: Step[] = [];
        this.root.push({ kind: 'action', steps });
        this.parseInsideAction(steps);
        continue;
      }
      if (this.next() === '') break;
    }
    this.pos = Math.min(this.pos, this.input.length);
    if (this.pos > this.start) this.root.push({ kind: 'text', text: this.consumeText() });
  }

  /** Parses steps up to the closing brace. */
  private parseInsideAction(cur: Step[]): void {
    for (;;) {
      const rest = this.rest();
      if (rest.startsWith('}')) {
        this.pos += 1;
        this.consumeText();
        return;
      }
      if (rest.startsWith('[?(')) {
        this.parseFilter(cur);
        continue;
      }
      if (rest.startsWith('..')) {
        this.parseRecursive(cur);
        continue;
      }
      const r = this.next();
      if (r === '' || isEndOfLine(r)) throw new JsonPathError('unclosed action');
      else if (r === ' ') this.consumeText();
      else if (r === '@' || r === '$') this.consumeText(); // the current object
      else if (r === '[') this.parseArray(cur);
      else if (r === '"' || r === "'") this.parseQuote(cur, r);
      else if (r === '.') this.parseField(cur);
      else if (r === '+' || r === '-' || /\d/.test(r)) {
        this.backup(r);
        this.parseNumber(cur);
      } else if (isAlphaNumeric(r)) {
        this.backup(r);
        this.parseIdentifier(cur);
      } else throw new JsonPathError(`unrecognized character in action: ${goRune(r)}`);
    }
  }

  private parseIdentifier(cur: Step[]): void {
    for (;;) {
      const r = this.next();
      if (isTerminator(r)) {
        this.backup(r);
        break;
      }
    }
    const value = this.consumeText();
    if (value === 'true' || value === 'false') cur.push({ kind: 'bool', value: value === 'true' });
    else cur.push({ kind: 'identifier', name: value });
  }

  private parseRecursive(cur: Step[]): void {
    if (cur.at(-1)?.kind === 'recursive') throw new JsonPathError('invalid multiple recursive descent');
    this.pos += 2;
    this.consumeText();
    cur.push({ kind: 'recursive' });
    if (isAlphaNumeric(this.peek())) this.parseField(cur);
  }

  private parseNumber(cur: Step[]): void {
    const r = this.peek();
    if (r === '+' || r === '-') this.next();
    for (;;) {
      const d = this.next();
      if (d !== '.' && !/^\d$/.test(d)) {
        this.backup(d);
        break;
      }
    }
    const value = this.consumeText();
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(value)) throw new JsonPathError(`cannot parse number ${value}`);
    cur.push({ kind: 'number', value: Number(value) });
  }

  private parseArray(cur: Step[]): void {
    for (;;) {
      const r = this.next();
      if (r === '' || r === '\n') throw new JsonPathError('unterminated array');
      if (r === ']') break;
    }
    let text = this.consumeText().slice(1, -1);
    if (text === '*') text = ':';
    const parts = text.split(',');
    if (parts.length > 1) {
      cur.push({ kind: 'union', branches: parts.map((s) => parseAction(`[${s.trim()}]`)) });
      return;
    }
    const dict = /^'([^']*)'$/.exec(text);
    if (dict) {
      cur.push(...parseAction(`.${dict[1]}`));
      return;
    }
    const slice = /^(-?\d*)(:-?\d*)?(:-?\d*)?$/.exec(text);
    if (!slice) throw new JsonPathError(`invalid array index ${text}`);
    const params: [Param, Param, Param] = [0, 1, 2].map(() => ({ value: 0, known: false, derived: false })) as [Param, Param, Param];
    for (let i = 0; i < 3; i++) {
      let v = slice[i + 1] ?? '';
      if (v !== '') {
        if (i > 0) v = v.slice(1);
        if (i > 0 && v === '') continue;
        if (!/^-?\d+$/.test(v)) throw new JsonPathError(`array index ${v} is not a number`);
        params[i] = { value: Number(v), known: true, derived: false };
      } else if (i === 1) {
        params[1] = { value: params[0].value + 1, known: true, derived: true };
      }
    }
    cur.push({ kind: 'array', params });
  }

  private parseFilter(cur: Step[]): void {
    this.pos += 3;
    this.consumeText();
    let begin = false;
    let end = false;
    let pair = '';
    for (;;) {
      const r = this.next();
      if (r === '' || r === '\n') throw new JsonPathError('unterminated filter');
      if (r === '"' || r === "'") {
        if (!begin) {
          begin = true;
          pair = r;
          continue;
        }
        if (this.input[this.pos - 2] !== '\\' && r === pair) end = true;
      } else if (r === ')' && begin === end) break;
    }
    if (this.next() !== ']') throw new JsonPathError('unclosed array expect ]');
    const text = this.consumeText().slice(0, -2);
    const m = /^([^!<>=]+)([!<>=]+)(.+?)$/.exec(text);
    if (!m) cur.push({ kind: 'filter', left: parseAction(text), right: [], op: 'exists' });
    else cur.push({ kind: 'filter', left: parseAction(m[1]), right: parseAction(m[3]), op: m[2] });
  }

  private parseQuote(cur: Step[], end: string): void {
    for (;;) {
      const r = this.next();
      if (r === '' || r === '\n') throw new JsonPathError('unterminated quoted string');
      if (r === end && this.input[this.pos - 2] !== '\\') break;
    }
    const value = this.consumeText();
    let text: string;
    try {
      text = unquote(value);
    } catch {
      throw new JsonPathError(`unquote string ${value} error invalid syntax`);
    }
    cur.push({ kind: 'text', text });
  }

  private parseField(cur: Step[]): void {
    this.consumeText();
    // Scan to the next terminator that is not escaped with a backslash.
    for (;;) {
      const r = this.next();
      if (r === '\\') this.next();
      else if (isTerminator(r)) {
        this.backup(r);
        break;
      }
    }
    const value = this.consumeText();
    if (value === '*') cur.push({ kind: 'wildcard' });
    else cur.push({ kind: 'field', name: value.replaceAll('\\', '') });
  }
}

/** The steps of one action's text, as client-go's parseAction does for filters, unions and dict keys. */
function parseAction(text: string): Step[] {
  const top = new Parser(`{${text}}`).parse();
  return top.flatMap((t) => (t.kind === 'action' ? t.steps : [{ kind: 'text' as const, text: t.text }]));
}

/**
 * Pairs `{range …}` with `{end}`. As in client-go, a range without an end runs
 * the rest of the template once per item and then once more on the object itself,
 * and an `{end}` outside a range fails when the template runs.
 */
function structure(top: Top[]): Block[] {
  let i = 0;
  const block = (inRange: boolean): { blocks: Block[]; ended: boolean } => {
    const blocks: Block[] = [];
    while (i < top.length) {
      const t = top[i++];
      if (t.kind === 'text') {
        blocks.push(t);
        continue;
      }
      const first = t.steps[0];
      if (inRange && first?.kind === 'identifier' && first.name === 'end') return { blocks, ended: true };
      if (first?.kind === 'identifier' && first.name === 'range') {
        const body = block(true);
        blocks.push({ kind: 'range', steps: t.steps.slice(1), body: body.blocks, ended: body.ended });
        continue;
      }
      blocks.push(t);
    }
    return { blocks, ended: false };
  };
  return block(false).blocks;
}

// --- evaluation (jsonpath.go)

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** How Go's %v shows a value's kind in an error. */
function goType(v: unknown): string {
  if (Array.isArray(v)) return '[]interface {}';
  if (isObject(v)) return 'map[string]interface {}';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  return 'interface {}';
}

export interface ExecuteOptions {
  /** kubectl's --allow-missing-template-keys (default true): a missing key yields nothing instead of an error. */
  allowMissingKeys?: boolean;
}

class Evaluator {
  constructor(private allowMissingKeys: boolean) {}

  list(input: Json[], steps: Step[]): Json[] {
    let cur = input;
    for (const s of steps) cur = this.step(cur, s);
    return cur;
  }

  private step(input: Json[], s: Step): Json[] {
    switch (s.kind) {
      case 'text':
        return [s.text];
      case 'number':
      case 'bool':
        return [s.value];
      case 'identifier':
        throw new JsonPathError(s.name === 'end' ? 'not in range, nothing to end' : `unrecognized identifier ${s.name}`);
      case 'field':
        return this.field(input, s.name);
      case 'array':
        return this.array(input, s.params);
      case 'wildcard':
        return input.flatMap((v) => (Array.isArray(v) ? v : isObject(v) ? Object.keys(v).sort().map((k) => v[k]) : []));
      case 'recursive':
        return this.recursive(input);
      case 'union':
        return s.branches.flatMap((b) => this.list(input, b));
      case 'filter':
        return this.filter(input, s);
    }
  }

  private field(input: Json[], name: string): Json[] {
    if (!input.length) return [];
    const out: Json[] = [];
    for (const v of input) if (isObject(v) && Object.hasOwn(v, name)) out.push(v[name]);
    if (!out.length && !this.allowMissingKeys) throw new JsonPathError(`${name} is not found`);
    return out;
  }

  private array(input: Json[], params: [Param, Param, Param]): Json[] {
    const out: Json[] = [];
    for (const v of input) {
      if (v === null) continue;
      if (!Array.isArray(v)) throw new JsonPathError(`${goType(v)} is not array or slice`);
      const len = v.length;
      let start = params[0].known ? params[0].value : 0;
      if (start < 0) start += len;
      let end = params[1].known ? params[1].value : len;
      if (end < 0 || (end === 0 && params[1].derived)) end += len;
      if (end === start) continue; // zero elements asked for
      if (start >= len || start < 0) throw new JsonPathError(`array index out of bounds: index ${start}, length ${len}`);
      if (end > len || end < 0) throw new JsonPathError(`array index out of bounds: index ${end - 1}, length ${len}`);
      if (start > end) throw new JsonPathError(`starting index ${start} is greater than ending index ${end}`);
      let step = 1;
      if (params[2].known) {
        if (params[2].value <= 0) throw new JsonPathError('step must be > 0');
        step = params[2].value;
      }
      for (let i = start; i < end; i += step) out.push(v[i]);
    }
    return out;
  }

  private recursive(input: Json[]): Json[] {
    const out: Json[] = [];
    for (const v of input) {
      const children = Array.isArray(v) ? v : isObject(v) ? Object.keys(v).sort().map((k) => v[k]) : [];
      if (!children.length) continue;
      out.push(v, ...this.recursive(children));
    }
    return out;
  }

  private filter(input: Json[], s: Extract<Step, { kind: 'filter' }>): Json[] {
    const out: Json[] = [];
    for (const v of input) {
      if (v === null) continue;
      if (!Array.isArray(v)) throw new JsonPathError(`${JSON.stringify(v)} is not array or slice and cannot be filtered`);
      for (const item of v) {
        const lefts = this.list([item], s.left);
        if (s.op === 'exists') {
          if (lefts.length) out.push(item);
          continue;
        }
        if (!lefts.length) continue;
        if (lefts.length > 1) throw new JsonPathError('can only compare one element at a time');
        const rights = this.list([item], s.right);
        if (!rights.length) continue;
        if (rights.length > 1) throw new JsonPathError('can only compare one element at a time');
        if (compare(lefts[0], rights[0], s.op)) out.push(item);
      }
    }
    return out;
  }
}

/** text/template's eq/ne/lt/le/gt/ge on basic values. */
function compare(a: Json, b: Json, op: string): boolean {
  const basic = (v: Json) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  if (!basic(a) || !basic(b)) throw new JsonPathError('invalid type for comparison');
  if (typeof a !== typeof b) throw new JsonPathError('incompatible types for comparison');
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
  if (typeof a === 'boolean') throw new JsonPathError('invalid type for comparison');
  const [x, y] = [a as string | number, b as string | number];
  switch (op) {
    case '<':
      return x < y;
    case '>':
      return x > y;
    case '<=':
      return x <= y;
    case '>=':
      return x >= y;
  }
  throw new JsonPathError(`unrecognized filter operator ${op}`);
}

/** encoding/json's Marshal(Indent): keys sorted, <, > and & escaped as Go escapes them. */
function goJson(v: unknown, indent?: string): string {
  const sorted = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(sorted) : isObject(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sorted(x[k])])) : x;
  return JSON.stringify(sorted(v), null, indent)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** One result as PrintResults writes it: maps and lists as JSON, the rest as fmt.Print does. */
function text(v: Json): string {
  if (Array.isArray(v) || isObject(v)) return goJson(v);
  if (v === null) return 'null';
  return String(v);
}

export class JsonPath {
  private constructor(
    readonly template: string,
    private blocks: Block[],
  ) {}

  /** Parses a template; a JsonPathError says what is wrong with it. */
  static parse(template: string): JsonPath {
    return new JsonPath(template, structure(new Parser(template).parse()));
  }

  /** The results, one list per action or text, in template order (FindResults). */
  findResults(data: unknown, opts: ExecuteOptions = {}): Json[][] {
    const ev = new Evaluator(opts.allowMissingKeys ?? true);
    const walk = (blocks: Block[], value: Json, out: Json[][]) => {
      for (const b of blocks) {
        if (b.kind === 'text') out.push([b.text]);
        else if (b.kind === 'action') out.push(ev.list([value], b.steps));
        else {
          for (const item of ev.list([value], b.steps)) walk(b.body, item, out);
          if (!b.ended) walk(b.body, value, out);
        }
      }
    };
    const out: Json[][] = [];
    walk(this.blocks, data as Json, out);
    return out;
  }

  /** The template filled in from `data`, as kubectl prints it (no newline added). */
  execute(data: unknown, opts: ExecuteOptions & { asJson?: boolean } = {}): string {
    return this.findResults(data, opts)
      .map((results) => (opts.asJson ? goJson(results, '    ') + '\n' : results.map(text).join(' ')))
      .join('');
  }
}

/**
 * kubectl's -o jsonpath=… and -o jsonpath-as-json=… printers; undefined for
 * any other output format. Errors are worded as kubectl words them.
 */
export function jsonPathPrinter(output: string): ((obj: unknown) => string) | undefined {
  const m = /^(jsonpath|jsonpath-as-json)(?:=([\s\S]*))?$/.exec(output);
  if (!m) return undefined;
  const template = m[2] ?? '';
  if (!template) throw new JsonPathError('template format specified but no template given');
  let path: JsonPath;
  try {
    path = JsonPath.parse(template);
  } catch (err) {
    throw new JsonPathError(`error parsing jsonpath ${template}, ${(err as Error).message}`);
  }
  const asJson = m[1] === 'jsonpath-as-json';
  return (obj) => {
    try {
      return path.execute(obj, { asJson });
    } catch (err) {
      throw new JsonPathError(
        `error executing jsonpath ${JSON.stringify(template)}: Error executing template: ${(err as Error).message}. Printing more information for debugging the template:\n` +
          `\ttemplate was:\n\t\t${template}\n\tobject given to jsonpath engine was:\n\t\t${goJson(obj)}\n`,
      );
    }
  };
}
