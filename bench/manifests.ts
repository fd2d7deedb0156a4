// The pods the benchmarks start: one app container on a local image.
export const BENCH_LABEL = 'minipod.io/bench';

export function podYaml(name: string, opts: { nodeSelector?: Record<string, string>; group?: string } = {}): string {
  const selector = opts.nodeSelector
    ? `  nodeSelector:\n${Object.entries(opts.nodeSelector).map(([k, v]) => `    ${k}: "${v}"`).join('\n')}\n`
    : '';
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels:
    ${BENCH_LABEL}: "${opts.group ?? 'true'}"
spec:
${selector}  containers:
  - name: app
    image: minipod/testbox:1
    command: ["sleep", "3600"]
`;
}

export function podsYaml(names: string[], opts: { nodeSelector?: Record<string, string>; group?: string } = {}): string {
  return names.map((n) => podYaml(n, opts)).join('---\n');
}
