// Printing for people (aligned tables, colours that switch off with NO_COLOR or
// a non-terminal) and for programs (-o json|yaml|name).
// chalk loads only where colours can show (a terminal): `get pods | …`, scripts and
// the benchmarks do not pay for it at start-up.
const chalk = process.stdout.isTTY && !process.env.NO_COLOR ? (await import('chalk')).default : undefined;

export class UsageError extends Error {}

/** Columns separated by three spaces, as kubectl's tabwriter prints them. */
export function table(headers: string[], rows: string[][], noHeaders = false): string {
  const all = noHeaders ? rows : [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => visibleLength(r[i] ?? ''))));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(widths[i] - visibleLength(cell) + 3)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '').length;
}

export function colorStatus(status: string): string {
  if (!chalk || !process.stdout.isTTY || process.env.NO_COLOR) return status;
  if (/Err|Error|BackOff|Failed|OOMKilled|Invalid|Unknown|DeadlineExceeded|Evicted/.test(status)) return chalk.red(status);
  if (/Pending|Creating|Init|Terminating|Waiting|NotReady|PodInitializing/.test(status)) return chalk.yellow(status);
  return status;
}

export async function printObjects(objects: unknown[], format: 'json' | 'yaml', asList: boolean): Promise<void> {
  const value = asList ? { apiVersion: 'v1', kind: 'List', items: objects, metadata: { resourceVersion: '' } } : objects[0];
  if (format === 'json') {
    process.stdout.write(JSON.stringify(value, null, 4) + '\n');
  } else {
    const { stringify } = (await import('../api/yaml-lib.js')).loadYaml();
    process.stdout.write(stringify(value));
  }
}
