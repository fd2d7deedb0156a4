// Field selectors as apimachinery parses them (pkg/fields/selector.go) and the
// fields each resource can select on (pkg/apis/core/v1/conversion.go).
import { describe, expect, it } from 'vitest';
import { escapeFieldValue, matchesFields, parseFieldSelector } from '../../src/api/fields.js';

describe('parseFieldSelector', () => {
  it('splits terms and operators as Kubernetes does', () => {
    expect(parseFieldSelector('', 'pods')).toEqual([]);
    expect(parseFieldSelector('status.phase=Running,spec.nodeName!=n1', 'pods')).toEqual([
      // terms are sorted
      { field: 'spec.nodeName', op: '!=', value: 'n1' },
      { field: 'status.phase', op: '=', value: 'Running' },
    ]);
    expect(parseFieldSelector('metadata.name==web', 'pods')).toEqual([{ field: 'metadata.name', op: '=', value: 'web' }]);
    expect(parseFieldSelector('metadata.name=', 'pods')).toEqual([{ field: 'metadata.name', op: '=', value: '' }]);
    expect(parseFieldSelector('spec.host=n1', 'pods')).toEqual([{ field: 'spec.nodeName', op: '=', value: 'n1' }]);
    expect(parseFieldSelector('metadata.name=a\\,b\\=c\\\\d', 'pods')).toEqual([{ field: 'metadata.name', op: '=', value: 'a,b=c\\d' }]);
    expect(parseFieldSelector(',metadata.name=x,', 'pods')).toHaveLength(1);
  });

  it('refuses what the API server refuses, in its words', () => {
    expect(() => parseFieldSelector('status.phase', 'pods')).toThrow("invalid selector: 'status.phase'; can't understand 'status.phase'");
    expect(() => parseFieldSelector('spec.foo=bar', 'pods')).toThrow('field label not supported: spec.foo');
    expect(() => parseFieldSelector('status.phase = Running', 'pods')).toThrow('field label not supported: status.phase ');
    expect(() => parseFieldSelector('spec.nodeName=x', 'nodes')).toThrow('field label not supported: spec.nodeName');
    expect(() => parseFieldSelector('metadata.name=a=b', 'pods')).toThrow('invalid field selector: unescaped character in value: 61');
    expect(() => parseFieldSelector('metadata.name=a\\b', 'pods')).toThrow('invalid field selector: invalid escape sequence: \\b');
    expect(() => parseFieldSelector('metadata.name=a\\', 'pods')).toThrow('invalid field selector: invalid escape sequence: \\');
  });
});

describe('matchesFields', () => {
  const pod = {
    metadata: { name: 'web', namespace: 'default' },
    spec: { nodeName: 'n1', restartPolicy: 'Always' },
    status: { phase: 'Running', podIP: '10.0.0.5' },
  };
  const cases: [string, boolean][] = [
    ['metadata.name=web', true],
    ['metadata.name=db', false],
    ['metadata.namespace=default', true],
    ['spec.nodeName=n1', true],
    ['spec.nodeName!=n1', false],
    ['spec.nodeName=', false],
    ['status.phase=Running,spec.nodeName=n1', true],
    ['status.phase!=Failed', true],
    ['status.podIP=10.0.0.5', true],
    ['spec.hostNetwork=false', true], // unset booleans select as "false"
    ['spec.hostNetwork=true', false],
    ['status.nominatedNodeName=', true],
  ];
  it.each(cases)('%j → %s', (sel, want) => {
    expect(matchesFields(pod, parseFieldSelector(sel, 'pods'))).toBe(want);
  });
  it('selects unbound pods with spec.nodeName=', () => {
    expect(matchesFields({ metadata: { name: 'p' }, spec: {} }, parseFieldSelector('spec.nodeName=', 'pods'))).toBe(true);
  });
  it('selects events by their involved object and source', () => {
    const ev = { metadata: { name: 'e' }, involvedObject: { kind: 'Pod', name: 'web' }, reason: 'Scheduled', source: { component: 'default-scheduler' } };
    expect(matchesFields(ev, parseFieldSelector('involvedObject.name=web,reason=Scheduled', 'events'))).toBe(true);
    expect(matchesFields(ev, parseFieldSelector('source=default-scheduler', 'events'))).toBe(true);
  });
  it('escapes values so that they parse back', () => {
    const v = 'a,b=c\\d';
    expect(parseFieldSelector(`metadata.name=${escapeFieldValue(v)}`, 'pods')[0].value).toBe(v);
  });
});
