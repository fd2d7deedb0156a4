// The commander-free parse of `get` and `apply|create` must mean what commander
// means, and hand anything else to commander (undefined).
import { describe, expect, it } from 'vitest';
import { parseFast } from '../../src/cli/fast-args.js';

const argv = (line: string) => line.split(' ').filter(Boolean);

describe('parseFast', () => {
  it('get: positional type and names, defaults, flags in any order', () => {
    expect(parseFast(argv('get pods'))).toEqual({ command: 'get', type: 'pods', names: [], opts: { namespace: 'default', headers: true, noHeaders: false } });
    expect(parseFast(argv('get pod a b -o wide --no-headers -n kube-system --field-selector=status.phase=Running'))).toEqual({
      command: 'get',
      type: 'pod',
      names: ['a', 'b'],
      opts: { namespace: 'kube-system', headers: false, noHeaders: true, output: 'wide', fieldSelector: 'status.phase=Running' },
    });
    expect(parseFast(argv('get pods -A -w --show-labels -l app=web'))?.command).toBe('get');
  });

  it('apply/create: repeatable -f, optional values as commander takes them', () => {
    expect(parseFast(argv('apply -f a.yaml -f b.yaml --wait'))).toEqual({
      command: 'apply',
      opts: { filename: ['a.yaml', 'b.yaml'], timeout: '120s', wait: 'Running', create: false },
    });
    // An optional value is the next argument unless that looks like an option.
    expect(parseFast(argv('create --wait Ready -f - --dry-run'))).toEqual({
      command: 'apply',
      opts: { filename: ['-'], timeout: '120s', wait: 'Ready', dryRun: 'client', create: true },
    });
    expect(parseFast(argv('apply --dry-run=server -f x --timeout 5m'))?.command).toBe('apply');
  });

  it('hands everything else to commander', () => {
    for (const line of ['get', 'get pods --help', 'get pods -x', 'get pods -o', 'get pods -Aw', 'get pods --show-labels=1', 'get pods -- x', 'apply', 'apply --wait', 'apply -f x extra', 'apply -f', 'delete pod x', 'apply -f x --prune']) {
      expect(parseFast(argv(line)), line).toBeUndefined();
    }
  });
});
