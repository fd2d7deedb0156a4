import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isValidQuantity, parseQuantity, QuantityError } from '../../src/api/quantity.js';
import {
  dropNulls, formatProblem, labelValueErrors, parseManifests, qualifiedNameErrors,
  validateManifests, validatePod, type Problem,
} from '../../src/api/validate.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const list = (dir: string) => readdirSync(join(fixtures, dir)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();

// `# expect: LINE:COL: PATH: MESSAGE-SUBSTRING` (PATH may be empty).
interface Expectation { line: number; col: number; path: string; message: string }

function expectations(text: string): Expectation[] {
  const out: Expectation[] = [];
  for (const line of text.split('\n')) {
    const m = /^# expect: (\d+):(\d+): (.*?): (.+)$/.exec(line);
    if (!m) break;
    out.push({ line: Number(m[1]), col: Number(m[2]), path: m[3], message: m[4] });
  }
  return out;
}

const matches = (p: Problem, e: Expectation) =>
  p.line === e.line && p.col === e.col && p.path === e.path && p.message.includes(e.message);

describe('bad fixtures', () => {
  const files = list('bad');

  it('has at least 24 of them', () => {
    expect(files.length).toBeGreaterThanOrEqual(24);
  });

  it.each(files)('%s', (file) => {
    const text = readFileSync(join(fixtures, 'bad', file), 'utf8');
    const expected = expectations(text);
    expect(expected.length, 'fixture needs a "# expect:" first line').toBeGreaterThan(0);
    const { pods, problems } = validateManifests(text, file);
    const shown = problems.map(formatProblem);
    // Every expected problem, and nothing else.
    const unmatched = [...problems];
    for (const e of expected) {
      const i = unmatched.findIndex((p) => matches(p, e));
      expect(i, `expected ${e.line}:${e.col}: ${e.path}: ${e.message}\ngot:\n${shown.join('\n')}`).toBeGreaterThanOrEqual(0);
      unmatched.splice(i, 1);
    }
    expect(unmatched.map(formatProblem)).toEqual([]);
    expect(problems.every((p) => p.file === file)).toBe(true);
    // A bad document never yields a pod; a multi-document file keeps its good ones.
    expect(pods.length).toBe(file.startsWith('multidoc') || file.startsWith('list-item') ? 1 : 0);
  });
});

describe('good fixtures', () => {
  it.each(list('good'))('%s has no problems', (file) => {
    const text = readFileSync(join(fixtures, 'good', file), 'utf8');
    const { pods, problems } = validateManifests(text, file);
    expect(problems.map(formatProblem)).toEqual([]);
    expect(pods.length).toBeGreaterThan(0);
    for (const pod of pods) {
      expect(pod.kind).toBe('Pod');
      expect(pod).not.toHaveProperty('status');
      expect(pod.metadata).not.toHaveProperty('creationTimestamp');
    }
  });

  it('splits multi-document YAML and expands Lists', () => {
    const read = (f: string) => readFileSync(join(fixtures, 'good', f), 'utf8');
    expect(validateManifests(read('multi-doc.yaml'), 'm').pods.map((p) => p.metadata.name ?? p.metadata.generateName))
      .toEqual(['one', 'two', 'three-']);
    const { objects } = parseManifests(read('list.json'), 'l');
    expect(objects.map((o) => [o.index, o.item])).toEqual([[0, 0], [0, 1]]);
    const anchors = validateManifests(read('anchors.yaml'), 'a').pods[0];
    expect(anchors.spec.containers.map((c) => [c.name, c.image])).toEqual([['first', 'busybox'], ['second', 'busybox']]);
  });
});

describe('formatProblem', () => {
  it('prints FILE:LINE:COL: PATH: MESSAGE, without an empty path', () => {
    expect(formatProblem({ file: 'p.yaml', line: 3, col: 5, path: 'spec', message: 'Required value' })).toBe('p.yaml:3:5: spec: Required value');
    expect(formatProblem({ file: 'p.yaml', line: 1, col: 1, path: '', message: 'invalid YAML: x' })).toBe('p.yaml:1:1: invalid YAML: x');
  });
});

describe('parseManifests', () => {
  it('skips empty documents and reports non-objects', () => {
    expect(parseManifests('', 'f')).toEqual({ objects: [], problems: [] });
    expect(parseManifests('---\n# c\n---\n', 'f')).toEqual({ objects: [], problems: [] });
    const { problems } = parseManifests('a: 1\n---\n- x\n', 'f');
    expect(problems).toEqual([{ file: 'f', line: 3, col: 1, path: '', message: expect.stringContaining('not a sequence') }]);
  });

  it('does not expand an alias bomb', () => {
    const levels = ['a: &a [x,x,x,x,x,x,x,x,x,x]'];
    for (let i = 1; i < 12; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${prev}`).join(',')}]`);
    }
    const started = Date.now();
    const { objects, problems } = parseManifests(levels.join('\n'), 'bomb.yaml');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(objects).toEqual([]);
    expect(problems[0].message).toContain('billion laughs');
  });
});

const pod = (spec: object, metadata: object = { name: 'p' }) => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });
const app = (extra: object = {}) => ({ name: 'app', image: 'busybox', ...extra });

describe('validatePod', () => {
  it('accepts a minimal pod and ignores status', () => {
    expect(validatePod({ ...pod({ containers: [app()] }), status: { phase: 'Running' } })).toEqual([]);
  });

  it('reports every problem at once, in document order', () => {
    const errors = validatePod(pod({
      containers: [app({ name: 'A', imagePullPolicy: 'Maybe', ports: [{ containerPort: 80.5 }] })],
      tolerations: [],
    }, { name: 'x', labels: { 'a/b/c': 'v' } }));
    expect(errors).toEqual([
      { path: 'metadata.labels', message: expect.stringContaining('a qualified name must consist of') },
      { path: 'spec.containers[0].name', message: expect.stringContaining('a lowercase RFC 1123 label') },
      { path: 'spec.containers[0].imagePullPolicy', message: 'Unsupported value: "Maybe": must be one of Always, IfNotPresent, Never' },
      { path: 'spec.containers[0].ports[0].containerPort', message: 'must be integer' },
      { path: 'spec.tolerations', message: 'field is not supported by minipod' },
    ]);
  });

  it('treats null like an absent field, as Kubernetes does', () => {
    expect(validatePod(pod({ containers: [app({ image: null, env: null })] }, { name: 'p', creationTimestamp: null }))).toEqual([
      { path: 'spec.containers[0].image', message: 'Required value' },
    ]);
    expect(dropNulls({ a: null, b: [null, { c: null }] })).toEqual({ b: [null, {}] });
  });

  it('suggests a field for case or small typos only', () => {
    const msg = (extra: object) => validatePod(pod({ containers: [app(extra)] }))[0]?.message;
    expect(msg({ ImagePullPolicy: 'Always' })).toBe('unknown field "ImagePullPolicy", did you mean "imagePullPolicy"?');
    expect(msg({ commnd: ['x'] })).toBe('unknown field "commnd", did you mean "command"?');
    expect(msg({ colour: 'red' })).toBe('unknown field "colour"');
  });

  it('accepts default-valued kubectl fields and rejects other values', () => {
    const spec = { containers: [app({ terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', resources: {} })] };
    expect(validatePod(pod({ ...spec, dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', enableServiceLinks: true, serviceAccountName: 'default' }))).toEqual([]);
    expect(validatePod(pod({ ...spec, enableServiceLinks: false, serviceAccountName: 'robot' })).map((e) => e.message)).toEqual([
      'Unsupported value: false: not supported by minipod (only true)',
      'Unsupported value: "robot": not supported by minipod (only "default")',
    ]);
    expect(validatePod(pod({ containers: [app({ terminationMessagePath: 'log' })] }))[0].message).toContain('must be an absolute path');
  });

  it('checks names: namespace, duplicates across init and app containers, volumes', () => {
    const errors = validatePod(pod({
      initContainers: [app({ name: 'web' })],
      containers: [app({ name: 'web', volumeMounts: [{ name: 'v', mountPath: '/v' }] })],
      volumes: [{ name: 'v', emptyDir: {} }, { name: 'v', hostPath: { path: '/tmp' } }, { name: 'w' }],
    }, { name: 'p', namespace: 'Team_A' }));
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      expect.stringMatching(/^metadata\.namespace: Invalid value: "Team_A": a lowercase RFC 1123 label/),
      'spec.initContainers[0].name: Duplicate value: "web"',
      'spec.volumes[1].name: Duplicate value: "v"',
      'spec.volumes[2]: Required value: must specify a volume type',
    ]);
  });

  it('checks ports and named port references', () => {
    const errors = validatePod(pod({
      containers: [app({
        ports: [{ name: 'http', containerPort: 80, hostPort: 70000 }, { name: 'http', containerPort: 81 }, { name: '8080', containerPort: 82 }],
        livenessProbe: { tcpSocket: { port: 'grpc' } },
        lifecycle: { postStart: { httpGet: { port: 0 } } },
      })],
    }));
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'spec.containers[0].ports[0].hostPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[1].name: Duplicate value: "http"',
      'spec.containers[0].ports[2].name: Invalid value: "8080": must contain at least one letter (a-z)',
      'spec.containers[0].livenessProbe.tcpSocket.port: Not found: "grpc": must name a port of this container (ports[].name)',
      'spec.containers[0].lifecycle.postStart.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive',
    ]);
  });

  it('checks probes', () => {
    const errors = validatePod(pod({
      containers: [app({
        livenessProbe: { periodSeconds: 10 },
        startupProbe: { exec: { command: ['true'] }, successThreshold: 3, timeoutSeconds: 0 },
        readinessProbe: { grpc: { port: 9000 } },
      })],
    }));
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'spec.containers[0].livenessProbe: Required value: must specify a handler type',
      'spec.containers[0].startupProbe.successThreshold: Invalid value: 3: must be 1',
      'spec.containers[0].startupProbe.timeoutSeconds: Invalid value: 0: must be greater than or equal to 1',
      'spec.containers[0].readinessProbe.grpc: field is not supported by minipod',
    ]);
  });

  it('checks resources', () => {
    const errors = validatePod(pod({
      containers: [app({
        resources: {
          limits: { memory: '1Gi', 'nvidia.com/gpu': 1 },
          requests: { memory: '2Gi', cpu: '-1' },
        },
      })],
    }));
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'spec.containers[0].resources.limits[nvidia.com/gpu]: Unsupported value: "nvidia.com/gpu": must be one of cpu, memory, ephemeral-storage',
      'spec.containers[0].resources.requests[memory]: Invalid value: "2Gi": must be less than or equal to memory limit of 1Gi',
      'spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0',
    ]);
  });

  it('checks env vars', () => {
    const errors = validatePod(pod({
      containers: [app({
        env: [
          { name: '1BAD', value: 'x' },
          { name: 'A', valueFrom: { fieldRef: { fieldPath: "metadata.labels['ok']" }, resourceFieldRef: { resource: 'limits.cpu' } } },
          { name: 'B', valueFrom: { resourceFieldRef: { resource: 'limits.gpu', containerName: 'nope' } } },
          { name: 'C', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '2' } } },
          { name: 'D', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
        ],
      })],
    }));
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      expect.stringMatching(/^spec\.containers\[0\]\.env\[0\]\.name: Invalid value: "1BAD": a valid environment variable name/),
      'spec.containers[0].env[1].valueFrom.resourceFieldRef: Forbidden: may not have more than one field specified at a time',
      expect.stringMatching(/^spec\.containers\[0\]\.env\[2\]\.valueFrom\.resourceFieldRef\.resource: Unsupported value: "limits.gpu"/),
      'spec.containers[0].env[2].valueFrom.resourceFieldRef.containerName: Not found: "nope"',
      expect.stringMatching(/^spec\.containers\[0\]\.env\[3\]\.valueFrom\.resourceFieldRef\.divisor: Invalid value: "2": only divisor's values 1m and 1/),
      'spec.containers[0].env[4].valueFrom.secretKeyRef: field is not supported by minipod',
    ]);
  });

  it('limits annotations to 256 KiB in total and checks their keys lowercased', () => {
    const big = { a: 'x'.repeat(200 * 1024), b: 'y'.repeat(55 * 1024) };
    expect(validatePod(pod({ containers: [app()] }, { name: 'p', annotations: { ...big, MyKey: 'ok' } }))).toEqual([]);
    expect(validatePod(pod({ containers: [app()] }, { name: 'p', annotations: { ...big, c: 'z'.repeat(4 * 1024) } }))).toEqual([
      { path: 'metadata.annotations', message: 'Too long: must have at most 262144 bytes' },
    ]);
  });

  it('checks nodeSelector, generateName and activeDeadlineSeconds', () => {
    const errors = validatePod(pod({ containers: [app()], nodeSelector: { 'disk type': 'ssd' }, activeDeadlineSeconds: 0 }, { generateName: 'Web-' }));
    expect(errors.map((e) => e.path)).toEqual(['metadata.generateName', 'spec.nodeSelector', 'spec.activeDeadlineSeconds']);
  });

  it('keeps sidecar rules: probes only on restartable init containers', () => {
    const sidecar = app({ name: 'side', restartPolicy: 'Always', readinessProbe: { exec: { command: ['true'] } } });
    expect(validatePod(pod({ initContainers: [sidecar], containers: [app()] }))).toEqual([]);
    expect(validatePod(pod({ initContainers: [app({ name: 'i', restartPolicy: 'OnFailure' })], containers: [app()] }))).toEqual([
      { path: 'spec.initContainers[0].restartPolicy', message: 'Unsupported value: "OnFailure": must be one of Always' },
    ]);
  });

  it('rejects non-objects', () => {
    expect(validatePod('pod')).toEqual([{ path: '', message: 'must be object' }]);
  });
});

describe('validateManifests', () => {
  it('points at the key of a missing field and at the document of a List item', () => {
    const text = [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '- apiVersion: v1',
      '  kind: Pod',
      '  metadata: {name: a}',
      '  spec:',
      '    containers:',
      '    - name: app',
    ].join('\n');
    const { problems } = validateManifests(text, 'l.yaml');
    expect(problems.map(formatProblem)).toEqual(['l.yaml:9:7: spec.containers[0].image: Required value']);
  });

  it('requires apiVersion and kind in files', () => {
    const { problems } = validateManifests('metadata: {name: a}\nspec: {containers: [{name: a, image: b}]}\n', 'f');
    expect(problems.map(formatProblem)).toEqual(['f:1:1: kind: Required value', 'f:1:1: apiVersion: Required value']);
  });
});

describe('quantities', () => {
  it.each([
    ['100m', 0.1], ['0.5', 0.5], ['1', 1], ['.5', 0.5], ['2.', 2], ['+1', 1], ['-1', -1],
    ['64Mi', 64 * 2 ** 20], ['1Ki', 1024], ['1Gi', 2 ** 30], ['1Ei', 2 ** 60],
    ['1k', 1000], ['1M', 1e6], ['1G', 1e9], ['1T', 1e12], ['1P', 1e15], ['1E', 1e18],
    ['1e3', 1000], ['1E3', 1000], ['5e-1', 0.5], ['1e+2', 100], ['500u', 0.0005], ['10n', 1e-8],
    [0.25, 0.25], [1e3, 1000], [128, 128],
  ] as const)('%s = %s', (input, value) => {
    expect(parseQuantity(input)).toBeCloseTo(value, 12);
    expect(isValidQuantity(input)).toBe(true);
  });

  it.each(['', 'abc', '1.5 cores', '64MB', '1ki', '1mi', '1e', '1e1.5', '--1', '1.2.3', ' 1', 'Mi', '.', '1Ki1'])('rejects %j', (input) => {
    expect(() => parseQuantity(input)).toThrow(QuantityError);
    expect(isValidQuantity(input)).toBe(false);
  });

  it('rejects non-finite numbers and other types', () => {
    expect(isValidQuantity(Infinity)).toBe(false);
    expect(isValidQuantity(NaN)).toBe(false);
    expect(isValidQuantity(null)).toBe(false);
    expect(() => parseQuantity(Infinity)).toThrow(/quantities must match/);
  });

  it('compares equal spellings equally', () => {
    expect(parseQuantity('300m')).toBe(parseQuantity('0.3'));
    expect(parseQuantity('1Gi')).toBe(parseQuantity(1073741824));
  });
});

describe('name helpers', () => {
  it('validates label keys and values like apimachinery', () => {
    expect(qualifiedNameErrors('app.kubernetes.io/name')).toEqual([]);
    expect(qualifiedNameErrors('/name')).toEqual(['prefix part must be non-empty']);
    expect(qualifiedNameErrors('x'.repeat(64))).toEqual(['name part must be no more than 63 characters']);
    expect(labelValueErrors('')).toEqual([]);
    expect(labelValueErrors('a'.repeat(64))).toEqual(['must be no more than 63 characters']);
  });
});
