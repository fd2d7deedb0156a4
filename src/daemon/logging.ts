// The daemon's (and a node agent's) log: pino's JSON lines in a file that is
// rotated by size, so that a daemon running for months can't fill the disk.
// Each component adds `component` once (a child of the root logger); a child
// of a component logger adds other keys only, never a second `component`.
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { tryParseQuantity } from '../api/quantity.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogOptions {
  file: string;
  level?: string;
  /** Rotate when the file grows past this many bytes (default 10 MiB). */
  maxBytes?: number;
  /** Rotated files kept beside it: FILE.1 (newest) … FILE.N (default 3). */
  maxFiles?: number;
}

export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_MAX_FILES = 3;

/** --log-level, else $MINIPOD_LOG_LEVEL, else info; anything else is refused with the choices. */
export function logLevel(flag?: string): LogLevel {
  const level = flag ?? process.env.MINIPOD_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`invalid log level "${level}": must be one of ${LOG_LEVELS.join(', ')}`);
  return level as LogLevel;
}

export function createLogger(opts: LogOptions): Logger {
  const dest = pino.destination({ dest: opts.file, sync: false, mkdir: true });
  const rotation = sizeRotation(dest, opts.file, opts.maxBytes ?? DEFAULT_LOG_MAX_BYTES, opts.maxFiles ?? DEFAULT_LOG_MAX_FILES);
  return pino({ base: { pid: process.pid }, level: logLevel(opts.level), hooks: { streamWrite: rotation } }, dest);
}

/**
 * Counts what the logger writes; past `maxBytes` the file is renamed to FILE.1
 * (older ones shift up, the oldest goes) and the destination reopens FILE. Lines
 * still buffered at the rename land at the end of FILE.1: none is lost.
 */
function sizeRotation(dest: ReturnType<typeof pino.destination>, file: string, maxBytes: number, maxFiles: number): (line: string) => string {
  let size = existsSync(file) ? statSync(file).size : 0;
  return (line) => {
    size += Buffer.byteLength(line);
    // Not while a reopen is pending (FILE is not there again yet): that would shift the files once more.
    if (size >= maxBytes && existsSync(file)) {
      try {
        shiftRotated(file, maxFiles);
        dest.reopen();
        size = Buffer.byteLength(line);
      } catch {
        // a failed rename (the file is gone, a read-only disk): keep writing, try at the next line
      }
    }
    return line;
  };
}

/** FILE.(N-1) → FILE.N, …, FILE → FILE.1. */
export function shiftRotated(file: string, maxFiles: number): void {
  rmSync(`${file}.${maxFiles}`, { force: true });
  for (let i = maxFiles - 1; i >= 1; i--) if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  if (maxFiles >= 1) renameSync(file, `${file}.1`);
  else rmSync(file, { force: true });
}

/** --log-max-size: a quantity such as 10Mi or 512Ki (at least 4Ki). */
export function parseLogSize(text: string): number {
  const bytes = tryParseQuantity(text);
  if (bytes === undefined || !Number.isInteger(bytes) || bytes < 4096) throw new Error(`invalid --log-max-size "${text}": expected a quantity of at least 4Ki, such as 10Mi`);
  return bytes;
}
