// Compiles schemas/pod.schema.json ahead of time with ajv's standalone code
// generation (run by `npm run build`): compiling it at run time costs the CLI
// about 100 ms, loading the generated module about 3 ms. The module carries the
// schema's hash, so a stale one is never used (validate.ts compiles instead).
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/** The options validate.ts compiles with: the generated code must behave the same. */
export const AJV_OPTIONS = { allErrors: true, verbose: true, allowUnionTypes: true } as const;
export const SCHEMA_URL = new URL('../../schemas/pod.schema.json', import.meta.url);
export const VALIDATOR_URL = new URL('./pod.validator.cjs', import.meta.url);

export function schemaHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function generateValidator(): string {
  const Ajv = (require('ajv') as typeof import('ajv')).default;
  const standalone = (require('ajv/dist/standalone') as typeof import('ajv/dist/standalone/index.js')).default;
  const text = readFileSync(SCHEMA_URL, 'utf8');
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true, esm: false } });
  const code = `${standalone(ajv, ajv.compile(JSON.parse(text) as object))}\nmodule.exports.schemaHash = ${JSON.stringify(schemaHash(text))};\n`;
  const tmp = `${VALIDATOR_URL.pathname}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, VALIDATOR_URL.pathname);
  return VALIDATOR_URL.pathname;
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  console.error(`[build] ${generateValidator()}`);
}
