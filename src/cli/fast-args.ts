// The command lines people (and scripts) run most — `get …`, `apply|create -f …`
// — parsed without commander, so that their start-up stays close to `node -e 0`.
// Only the plain forms of the options these commands declare in main.ts are
// understood, with commander's meaning; anything else (help, an unknown or new
// flag, `--`, combined short flags, a missing value) returns undefined and
// commander parses the line as usual. Keep the tables in step with main.ts.

type Kind = 'bool' | 'negate' | 'value' | 'optional' | 'collect';

interface Flag {
  key: string;
  kind: Kind;
  preset?: string; // what an optional value means when none is given
}

interface CommandSpec {
  flags: Record<string, Flag>;
  defaults: Record<string, unknown>;
  /** Positional arguments: at least one (get), or none (apply). */
  positional: 'some' | 'none';
  required?: string[];
}

const flag = (names: string[], key: string, kind: Kind, preset?: string) => Object.fromEntries(names.map((n) => [n, { key, kind, preset }]));

const GET: CommandSpec = {
  flags: {
    ...flag(['-o', '--output'], 'output', 'value'),
    ...flag(['-l', '--selector'], 'selector', 'value'),
    ...flag(['--field-selector'], 'fieldSelector', 'value'),
    ...flag(['-n', '--namespace'], 'namespace', 'value'),
    ...flag(['-A', '--all-namespaces'], 'allNamespaces', 'bool'),
    ...flag(['--no-headers'], 'headers', 'negate'),
    ...flag(['--show-labels'], 'showLabels', 'bool'),
    ...flag(['-w', '--watch'], 'watch', 'bool'),
    ...flag(['--watch-only'], 'watchOnly', 'bool'),
    ...flag(['--output-watch-events'], 'outputWatchEvents', 'bool'),
  },
  defaults: { namespace: 'default', headers: true },
  positional: 'some',
};

const APPLY: CommandSpec = {
  flags: {
    ...flag(['-f', '--filename'], 'filename', 'collect'),
    ...flag(['--dry-run'], 'dryRun', 'optional', 'client'),
    ...flag(['-n', '--namespace'], 'namespace', 'value'),
    ...flag(['--wait'], 'wait', 'optional', 'Running'),
    ...flag(['--timeout'], 'timeout', 'value'),
  },
  defaults: { timeout: '120s' },
  positional: 'none',
  required: ['filename'],
};

/** What commander would hand the command's action: options, then positional arguments. */
function parse(spec: CommandSpec, args: string[]): { opts: Record<string, unknown>; positional: string[] } | undefined {
  const opts: Record<string, unknown> = { ...spec.defaults };
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const f = spec.flags[eq > 0 ? arg.slice(0, eq) : arg];
    if (!f) return undefined;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (f.kind === 'bool' || f.kind === 'negate') {
      if (inline !== undefined) return undefined;
      opts[f.key] = f.kind === 'bool';
    } else if (f.kind === 'optional') {
      // commander takes the next argument as the value unless it looks like an option.
      const next = args[i + 1];
      opts[f.key] = inline ?? (next !== undefined && !(next.length > 1 && next.startsWith('-')) ? args[++i] : f.preset);
    } else {
      const value = inline ?? args[++i];
      if (value === undefined || (inline === undefined && value.startsWith('-') && value !== '-')) return undefined;
      opts[f.key] = f.kind === 'collect' ? [...((opts[f.key] as string[] | undefined) ?? []), value] : value;
    }
  }
  if (spec.positional === 'some' ? !positional.length : positional.length) return undefined;
  if (spec.required?.some((k) => opts[k] === undefined)) return undefined;
  return { opts, positional };
}

export type FastCommand =
  | { command: 'get'; type: string; names: string[]; opts: import('./commands/get.js').GetOptions }
  | { command: 'apply'; opts: import('./commands/apply.js').ApplyOptions };

/** `args` without node and the script: ['get', 'pods', '-o', 'wide', …]. */
export function parseFast(args: string[]): FastCommand | undefined {
  const [command, ...rest] = args;
  if (command === 'get') {
    const p = parse(GET, rest);
    if (!p) return undefined;
    const [type, ...names] = p.positional;
    return { command, type, names, opts: { ...p.opts, noHeaders: p.opts.headers === false } };
  }
  if (command === 'apply' || command === 'create') {
    const p = parse(APPLY, rest);
    if (!p) return undefined;
    return { command: 'apply', opts: { ...(p.opts as unknown as import('./commands/apply.js').ApplyOptions), create: command === 'create' } };
  }
  return undefined;
}
