// `minipod daemon logs [-f] [--tail N] [--level L] [-o json]`: the daemon's JSON log
// lines (src/daemon/logging.ts), oldest rotated file first, printed one readable
// line each: time, level, component, message, then the line's own keys.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync, watchFile, unwatchFile } from 'node:fs';
import chalk from 'chalk';
import { paths } from '../../config.js';
import { DEFAULT_LOG_MAX_FILES, LOG_LEVELS } from '../../daemon/logging.js';
import { UsageError } from '../output.js';

export interface DaemonLogsFlags {
  follow?: boolean;
  tail?: string;
  level?: string;
  output?: string;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const COLOURS: Record<number, (s: string) => string> = { 10: chalk.gray, 20: chalk.gray, 30: chalk.green, 40: chalk.yellow, 50: chalk.red, 60: chalk.bgRed };
/** Keys every line has, shown in the line's head or not at all. */
const HEAD_KEYS = new Set(['time', 'level', 'msg', 'component', 'pid', 'hostname']);

export async function daemonLogs(flags: DaemonLogsFlags): Promise<void> {
  const tail = flags.tail === undefined ? -1 : Number(flags.tail);
  if (!Number.isInteger(tail) || tail < -1) throw new UsageError(`invalid --tail "${flags.tail}": expected a whole number (-1 for all)`);
  if (flags.level !== undefined && !(flags.level in LEVEL_VALUES)) throw new UsageError(`invalid --level "${flags.level}": must be one of ${LOG_LEVELS.join(', ')}`);
  if (flags.output !== undefined && flags.output !== 'json') throw new UsageError(`invalid -o "${flags.output}": the only output format is json`);
  const file = paths.logFile();
  if (!existsSync(file) && !flags.follow) throw new UsageError(`no daemon log at ${file}: no daemon has run with this MINIPOD_HOME`);
  const minLevel = LEVEL_VALUES[flags.level ?? 'trace'];
  const print = (line: string) => {
    const shown = formatLogLine(line, minLevel, flags.output === 'json');
    if (shown !== undefined) process.stdout.write(shown + '\n');
  };

  let lines = rotatedFiles(file).flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== ''));
  if (flags.level) lines = lines.filter((l) => formatLogLine(l, minLevel, true) !== undefined);
  for (const l of tail >= 0 ? lines.slice(Math.max(0, lines.length - tail)) : lines) print(l);
  if (!flags.follow) return;
  const following = follow(file, print);
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  following.stop();
}

/** FILE.N … FILE.1, FILE: oldest first. */
function rotatedFiles(file: string): string[] {
  const out: string[] = [];
  for (let i = DEFAULT_LOG_MAX_FILES; i >= 1; i--) if (existsSync(`${file}.${i}`)) out.push(`${file}.${i}`);
  if (existsSync(file)) out.push(file);
  return out;
}

/**
 * Prints what is appended to `file` from now on. A rotation renames the file: what
 * the old one still gets is read through its open descriptor, then the new file
 * from its start.
 */
export function follow(file: string, print: (line: string) => void, intervalMs = 200): { stop(): void } {
  let fd = existsSync(file) ? openSync(file, 'r') : undefined;
  let offset = fd === undefined ? 0 : fstatSync(fd).size;
  let partial = '';
  const buf = Buffer.alloc(64 * 1024);
  const drain = () => {
    if (fd === undefined) return;
    for (let n = readSync(fd, buf, 0, buf.length, offset); n > 0; n = readSync(fd, buf, 0, buf.length, offset)) {
      offset += n;
      const text = partial + buf.subarray(0, n).toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) if (l !== '') print(l);
    }
  };
  const check = () => {
    drain();
    let ino: number | undefined;
    try {
      ino = statSync(file).ino;
    } catch {
      return; // between a rename and the reopen
    }
    if (fd !== undefined && fstatSync(fd).ino === ino) return;
    if (fd !== undefined) closeSync(fd);
    fd = openSync(file, 'r');
    offset = 0;
    partial = '';
    drain();
  };
  watchFile(file, { interval: intervalMs }, check);
  return {
    stop() {
      unwatchFile(file, check);
      check(); // what came since the last look
      if (fd !== undefined) closeSync(fd);
    },
  };
}

/** One readable line, or undefined when it is below `minLevel`. Lines that are not JSON (the process's own stderr) pass as they are. */
export function formatLogLine(line: string, minLevel = 0, json = false): string | undefined {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null) return line;
  const level = typeof entry.level === 'number' ? entry.level : 30;
  if (level < minLevel) return undefined;
  if (json) return line;
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().replace('T', ' ').replace('Z', '') : '';
  const name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  const colour = COLOURS[level] ?? ((s: string) => s);
  const component = typeof entry.component === 'string' ? entry.component : '';
  const rest = Object.entries(entry)
    .filter(([k]) => !HEAD_KEYS.has(k))
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
  return [time, colour(name), component && chalk.cyan(component), String(entry.msg ?? ''), rest].filter((s) => s !== '').join('  ');
}

function formatValue(v: unknown): string {
  if (v && typeof v === 'object' && 'message' in v && typeof (v as { message: unknown }).message === 'string') return JSON.stringify((v as { message: string }).message); // pino's err: its message
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}
