// `minipod annotate pod|node NAME k=v ... [k-] [--overwrite]`, as kubectl's
// annotate (kubectl/pkg/cmd/annotate/annotate.go): values may hold anything,
// including '=' and newlines; the server checks keys and the 256 KiB total.
import { UsageError } from '../output.js';
import { type MetadataEditOptions, editMetadata } from './label.js';

/** cmdutil.ParsePairs(args, "annotation", true). */
export function parseAnnotationArgs(specs: string[]): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  const invalid: string[] = [];
  for (const spec of specs) {
    if (spec.includes('=') && spec[0] !== '=') {
      const eq = spec.indexOf('=');
      set[spec.slice(0, eq)] = spec.slice(eq + 1);
    } else if (spec.endsWith('-') && spec !== '-') {
      remove.push(spec.slice(0, -1));
    } else {
      invalid.push(spec);
    }
  }
  if (invalid.length) throw new UsageError(`invalid annotation format: ${invalid.join(', ')}`);
  const both = remove.filter((k) => k in set);
  if (both.length) throw new UsageError(`can not both modify and remove the following annotation(s) in the same command: ${both.join(', ')}`);
  return { set, remove };
}

export async function annotate(args: string[], opts: MetadataEditOptions): Promise<void> {
  await editMetadata(
    args,
    opts,
    (pairs) => {
      const { set, remove } = parseAnnotationArgs(pairs);
      return {
        field: 'annotations',
        set,
        remove,
        checkOverwrite(current) {
          const found = Object.keys(set)
            .sort()
            // the change-cause annotation may always be overwritten
            .filter((k) => k in current && current[k] !== set[k] && k !== 'kubernetes.io/change-cause')
            .map((k) => `'${k}' already has a value (${current[k]})`);
          if (found.length) throw new UsageError(`--overwrite is false but found the following declared annotation(s): ${found.join('; ')}`);
        },
        message: () => 'annotated',
      };
    },
    'annotation',
  );
}
