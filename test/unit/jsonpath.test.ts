// kubectl's JSONPath templates. Every expected output here is what
// `kubectl label --local -f … -o jsonpath=…` (kubectl 1.32) printed for the same
// template and object, so these pin kubectl's behaviour, quirks included.
import { describe, expect, it } from 'vitest';
import { JsonPath, JsonPathError, jsonPathPrinter } from '../../src/cli/jsonpath.js';

const pod = (name: string, phase: string, podIP: string | undefined, containers: { name: string; image: string; ports?: { containerPort: number; name?: string }[] }[]) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels: { app: 'web', 'app.kubernetes.io/name': name }, annotations: { note: '<b>&' } },
  spec: { containers },
  status: { phase, ...(podIP ? { podIP } : {}) },
});

const web = pod('web', 'Running', '172.17.0.5', [
  { name: 'side', image: 'busybox:1.36' },
  { name: 'web', image: 'minipod/testbox:1', ports: [{ containerPort: 8080, name: 'http' }, { containerPort: 9090 }] },
]);
const list = {
  apiVersion: 'v1',
  kind: 'List',
  metadata: { resourceVersion: '' },
  items: [web, pod('db', 'Pending', undefined, [{ name: 'db', image: 'db:1' }]), pod('job', 'Failed', '172.17.0.7', [])],
};

const run = (template: string, data: unknown = list) => JsonPath.parse(template).execute(data);

describe('the common kubectl templates', () => {
  it('a field of a single object', () => {
    expect(run('{.metadata.name}', web)).toBe('web');
    expect(run('{.status.podIP}', web)).toBe('172.17.0.5');
  });

  it('every item of a list, separated by spaces, with no newline added', () => {
    expect(run('{.items[*].metadata.name}')).toBe('web db job');
    // A missing key yields nothing (kubectl's --allow-missing-template-keys=true).
    expect(run('{.items[*].status.podIP}')).toBe('172.17.0.5 172.17.0.7');
  });

  it('one item by index, negative indexes and slices', () => {
    expect(run('{.items[0].status.podIP}')).toBe('172.17.0.5');
    expect(run('{.items[-1].metadata.name}')).toBe('job');
    expect(run('{.items[1:].metadata.name}')).toBe('db job');
    expect(run('{.items[0:3:2].metadata.name}')).toBe('web job');
  });

  it('range … end with literal tabs and newlines', () => {
    expect(run('{range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}')).toBe('web\tRunning\ndb\tPending\njob\tFailed\n');
    expect(run('{range .items[*]}[{range .spec.containers[*]}{.name},{end}]{end}')).toBe('[side,web,][db,][]');
  });

  it('filters: equality, inequality, comparisons and existence', () => {
    expect(run('{.spec.containers[?(@.name=="web")].image}', web)).toBe('minipod/testbox:1');
    expect(run("{.spec.containers[?(@.name=='web')].image}", web)).toBe('minipod/testbox:1');
    expect(run('{.items[*].spec.containers[?(@.name!="side")].image}')).toBe('minipod/testbox:1 db:1');
    expect(run('{.items[?(@.status.podIP)].metadata.name}')).toBe('web job');
    expect(run('{.spec.containers[1].ports[?(@.containerPort>=9000)].containerPort}', web)).toBe('9090');
    expect(run('{.spec.containers[1].ports[?(@.containerPort<80)].name}', web)).toBe('');
    expect(run('{.spec.containers[?(@.ports[0].containerPort==8080)].name}', web)).toBe('web');
  });

  it('literal text around actions, quoted strings with escapes', () => {
    expect(run('name: {.metadata.name}!', web)).toBe('name: web!');
    expect(run('{.metadata.name} {.metadata.namespace}', web)).toBe('web default');
    expect(run('{"a\\u00e9\\x41"}{\'single\\tq\'}', web)).toBe('aéAsingle\tq');
    expect(run('no actions at all', web)).toBe('no actions at all');
  });

  it('maps and lists print as Go marshals JSON: sorted keys, <>& escaped', () => {
    expect(run('{.metadata.labels}', web)).toBe('{"app":"web","app.kubernetes.io/name":"web"}');
    expect(run('{.metadata.annotations}', web)).toBe('{"note":"\\u003cb\\u003e\\u0026"}');
    expect(run('{.spec.containers[1].ports}', web)).toBe('[{"containerPort":8080,"name":"http"},{"containerPort":9090}]');
    expect(run('{.nothing}{@.kind}', { kind: 'Pod', nothing: null })).toBe('nullPod');
  });

  it('escaped dots in keys, dict keys (split on dots, as kubectl does), unions, recursive descent', () => {
    expect(run('{.metadata.labels.app\\.kubernetes\\.io/name}', web)).toBe('web');
    expect(run("{.items[*]['metadata.name']}")).toBe('web db job');
    expect(run("{.metadata['name','namespace']}", web)).toBe('web default');
    expect(run('{..image}', web)).toBe('busybox:1.36 minipod/testbox:1');
    expect(run('{$.metadata.name}', web)).toBe('web');
  });

  it('a range without an end runs the rest per item, then once on the object', () => {
    expect(run('{range .items[*]}{.metadata.name}', { ...list, metadata: { name: 'L' } })).toBe('webdbjobL');
  });
});

describe('errors, worded as kubectl words them', () => {
  const printErr = (output: string, data: unknown = list) => {
    try {
      jsonPathPrinter(output)!(data);
    } catch (err) {
      expect(err).toBeInstanceOf(JsonPathError);
      return (err as Error).message;
    }
    throw new Error('no error');
  };

  it('parse errors name the template', () => {
    expect(printErr('jsonpath={.metadata.name')).toBe('error parsing jsonpath {.metadata.name, unclosed action');
    expect(printErr('jsonpath={.items[}')).toBe('error parsing jsonpath {.items[}, unterminated array');
    expect(printErr('jsonpath={.items[a]}')).toBe('error parsing jsonpath {.items[a]}, invalid array index a');
    expect(printErr('jsonpath={.metadata.name !}')).toBe('error parsing jsonpath {.metadata.name !}, unrecognized character in action: U+0021 \'!\'');
    expect(run('{.metadata.name!}', web)).toBe(''); // "!" is not a terminator: the key is "name!"
    expect(printErr('jsonpath={.items[?(@.a=="x"}')).toBe('error parsing jsonpath {.items[?(@.a=="x"}, unterminated filter');
    expect(printErr('jsonpath=')).toBe('template format specified but no template given');
    expect(printErr('jsonpath')).toBe('template format specified but no template given');
  });

  it('execution errors carry the template and the object, and out-of-range indexes are errors', () => {
    const msg = printErr('jsonpath={.items[5].metadata.name}');
    expect(msg.split('\n')[0]).toBe(
      'error executing jsonpath "{.items[5].metadata.name}": Error executing template: array index out of bounds: index 5, length 3. Printing more information for debugging the template:',
    );
    expect(msg).toContain('\ttemplate was:\n\t\t{.items[5].metadata.name}\n');
    expect(msg).toContain('"kind":"List"');
    const empty = { ...list, items: [] };
    expect(printErr('jsonpath={.items[0].status.podIP}', empty)).toContain('array index out of bounds: index 0, length 0.');
    expect(printErr('jsonpath={end}')).toContain('Error executing template: not in range, nothing to end.');
    expect(printErr('jsonpath={foo}')).toContain('Error executing template: unrecognized identifier foo.');
    expect(printErr('jsonpath={.items[?(@.metadata.name==5)]}')).toContain('incompatible types for comparison');
    expect(printErr('jsonpath={.items[2:1]}')).toContain('starting index 2 is greater than ending index 1');
    expect(printErr('jsonpath={.items[::0]}')).toContain('step must be > 0');
  });

  it('a missing key is an error only when missing keys are not allowed', () => {
    expect(run('{.nope}', web)).toBe('');
    expect(() => JsonPath.parse('{.nope}').execute(web, { allowMissingKeys: false })).toThrow('nope is not found');
  });
});

describe('jsonPathPrinter', () => {
  it('answers only for the jsonpath formats', () => {
    expect(jsonPathPrinter('json')).toBeUndefined();
    expect(jsonPathPrinter('yaml')).toBeUndefined();
    expect(jsonPathPrinter('jsonpathx={.a}')).toBeUndefined();
    expect(jsonPathPrinter('jsonpath={.metadata.name}')!(web)).toBe('web');
  });

  it('jsonpath-as-json prints each action\'s results as an indented JSON array', () => {
    expect(jsonPathPrinter('jsonpath-as-json={.items[*].metadata.name}')!(list)).toBe('[\n    "web",\n    "db",\n    "job"\n]\n');
    expect(jsonPathPrinter('jsonpath-as-json={.metadata.labels}')!(web)).toBe('[\n    {\n        "app": "web",\n        "app.kubernetes.io/name": "web"\n    }\n]\n');
    expect(jsonPathPrinter('jsonpath-as-json={.nope}')!(web)).toBe('[]\n');
  });
});
