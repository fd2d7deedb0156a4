// `minipod get …` without commander: the command people (and scripts) run most
// gets parsed here with no library loaded, so its start-up stays close to
// `node -e 0`. Only the plain forms of the options `get` declares in main.ts are
// understood; anything else (help, an unknown or new flag, `--`, combined short
// flags, a missing value) returns undefined and commander parses the line as usual.
// Keep FLAGS in step with the `get` command in main.ts.
import type { GetOptions } from './commands/get.js';

interface Flag {
  key: keyof GetOptions | 'headers';
  value: boolean; // takes a value
}

const FLAGS: Record<string, Flag> = {
  '-o': { key: 'output', value: true },
  '--output': { key: 'output', value: true },
  '-l': { key: 'selector', value: true },
  '--selector': { key: 'selector', value: true },
  '--field-selector': { key: 'fieldSelector', value: true },
  '-n': { key: 'namespace', value: true },
  '--namespace': { key: 'namespace', value: true },
  '-A': { key: 'allNamespaces', value: false },
  '--all-namespaces': { key: 'allNamespaces', value: false },
  '--no-headers': { key: 'headers', value: false },
  '--show-labels': { key: 'showLabels', value: false },
  '-w': { key: 'watch', value: false },
  '--watch': { key: 'watch', value: false },
  '--watch-only': { key: 'watchOnly', value: false },
  '--output-watch-events': { key: 'outputWatchEvents', value: false },
};

export interface FastGet {
  type: string;
  names: string[];
  opts: GetOptions;
}

/** `args` without node and the script: ['get', 'pods', '-o', 'wide', …]. */
export function parseFastGet(args: string[]): FastGet | undefined {
  if (args[0] !== 'get') return undefined;
  // What commander hands the action: defaults first, then the flags given.
  const opts: Record<string, unknown> = { namespace: 'default', headers: true };
  const positional: string[] = [];
  for (let i = 1; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const flag = FLAGS[name];
    if (!flag) return undefined;
    if (!flag.value) {
      if (eq > 0) return undefined;
      opts[flag.key] = flag.key !== 'headers';
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || (eq < 0 && value.startsWith('-'))) return undefined;
    opts[flag.key] = value;
  }
  if (!positional.length) return undefined;
  const [type, ...names] = positional;
  return { type, names, opts: { ...opts, noHeaders: opts.headers === false } as GetOptions };
}
