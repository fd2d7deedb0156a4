// Reads -f FILE|DIR|- and validates every manifest before anything is sent:
// all problems of all files at once, each as FILE:LINE:COL: path: message.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Pod } from '../api/types.js';
import { UsageError } from './output.js';

export interface SourcedPod {
  pod: Pod;
  file: string;
}

export class ManifestError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

function expand(file: string): { name: string; bytes: () => Buffer }[] {
  if (file === '-') return [{ name: '<stdin>', bytes: () => readFileSync(0) }];
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new UsageError(`the path "${file}" does not exist`);
  }
  if (st.isDirectory()) {
    return readdirSync(file)
      .filter((f) => ['.yaml', '.yml', '.json'].includes(extname(f)))
      .sort()
      .map((f) => ({ name: join(file, f), bytes: () => readFileSync(join(file, f)) }));
  }
  return [{ name: file, bytes: () => readFileSync(file) }];
}

/** One file's pods and problems (formatted): YAML must be UTF-8, then every rule of validateManifests. */
export async function validateManifestFile(bytes: Buffer, name: string): Promise<{ pods: Pod[]; problems: string[] }> {
  const { validateManifests, formatProblem } = await import('../api/validate.js');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    // Not replaced with U+FFFD and applied: say where, as a YAML parser would.
    const at = firstInvalidUtf8(bytes);
    const lineStart = bytes.lastIndexOf(0x0a, at - 1) + 1;
    const line = bytes.subarray(0, lineStart).filter((b) => b === 0x0a).length + 1;
    const col = bytes.subarray(lineStart, at).toString('utf8').length + 1;
    return { pods: [], problems: [`${name}:${line}:${col}: invalid UTF-8: byte 0x${bytes[at]?.toString(16).padStart(2, '0')} (YAML must be UTF-8)`] };
  }
  const result = validateManifests(text, name);
  return { pods: result.pods, problems: result.problems.map(formatProblem) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Offset of the first byte that does not start a well-formed UTF-8 sequence. */
function firstInvalidUtf8(b: Buffer): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    let cp = c & (0x7f >> n);
    for (let k = 1; k <= n; k++) {
      if ((b[i + k] & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (b[i + k] & 0x3f);
    }
    const overlong = (n === 2 && cp < 0x800) || (n === 3 && cp < 0x10000);
    if (overlong || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += n + 1;
  }
  return 0;
}

export async function readManifests(files: string[]): Promise<SourcedPod[]> {
  if (!files.length) throw new UsageError('must specify one of -f and -k');
  const pods: SourcedPod[] = [];
  const problems: string[] = [];
  for (const f of files.flatMap(expand)) {
    const result = await validateManifestFile(f.bytes(), f.name);
    problems.push(...result.problems);
    pods.push(...result.pods.map((pod) => ({ pod, file: f.name })));
  }
  if (problems.length) throw new ManifestError(problems);
  if (!pods.length) throw new UsageError('no objects passed to apply');
  return pods;
}
