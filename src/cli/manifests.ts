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

function expand(file: string): { name: string; text: () => string }[] {
  if (file === '-') return [{ name: '<stdin>', text: () => readFileSync(0, 'utf8') }];
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
      .map((f) => ({ name: join(file, f), text: () => readFileSync(join(file, f), 'utf8') }));
  }
  return [{ name: file, text: () => readFileSync(file, 'utf8') }];
}

export async function readManifests(files: string[]): Promise<SourcedPod[]> {
  if (!files.length) throw new UsageError('must specify one of -f and -k');
  const { validateManifests, formatProblem } = await import('../api/validate.js');
  const pods: SourcedPod[] = [];
  const problems: string[] = [];
  for (const f of files.flatMap(expand)) {
    const result = validateManifests(f.text(), f.name);
    problems.push(...result.problems.map(formatProblem));
    pods.push(...result.pods.map((pod) => ({ pod, file: f.name })));
  }
  if (problems.length) throw new ManifestError(problems);
  if (!pods.length) throw new UsageError('no objects passed to apply');
  return pods;
}
