// The `yaml` package as the CLI loads it: one file bundled at build time
// (dist/vendor/yaml.cjs, by esbuild) instead of its ~80 modules. The same code;
// it loads in ~6 ms instead of ~20 ms, which every `apply` pays before its first
// request. Without the bundle (tests from src/, a build without esbuild) the
// package itself is loaded.
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const BUNDLE = fileURLToPath(new URL('../vendor/yaml.cjs', import.meta.url));

export function loadYaml(): typeof import('yaml') {
  return (existsSync(BUNDLE) ? require(BUNDLE) : require('yaml')) as typeof import('yaml');
}

/** Bundles the installed `yaml` package into BUNDLE (run by `npm run build`). */
export async function bundleYaml(): Promise<string> {
  const esbuild = await import('esbuild');
  mkdirSync(dirname(BUNDLE), { recursive: true });
  await esbuild.build({ entryPoints: [require.resolve('yaml')], bundle: true, platform: 'node', format: 'cjs', outfile: BUNDLE, logLevel: 'error' });
  return BUNDLE;
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  // Best effort: without esbuild the CLI loads the package, only slower.
  await bundleYaml().then(
    (file) => console.error(`[build] ${file}`),
    (err: Error) => console.error(`[build] yaml not bundled (${err.message}); the CLI will load the package`),
  );
}
