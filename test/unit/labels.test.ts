// Label selectors against apimachinery's grammar (pkg/labels/selector.go): every
// operator, the lexer's corners, matching rules, and the exact error messages.
import { describe, expect, it } from 'vitest';
import { formatLabelSelector, labelKeyErrors, labelValueErrors, matchesLabels, parseLabelSelector, type Requirement } from '../../src/api/labels.js';

const NAME_RE =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_RE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const PREFIX_RE =
  "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const OPS = 'in, notin, =, ==, !=, gt, lt';

const r = (key: string, op: Requirement['op'], values: string[] = []): Requirement => ({ key, op, values });

describe('parseLabelSelector accepts what Kubernetes accepts', () => {
  const valid: [string, Requirement[]][] = [
    ['', []],
    ['   ', []],
    ['x', [r('x', 'exists')]],
    ['!x', [r('x', '!')]],
    ['x=a', [r('x', '=', ['a'])]],
    ['x==a', [r('x', '==', ['a'])]],
    ['x!=a', [r('x', '!=', ['a'])]],
    ['x in (a,b)', [r('x', 'in', ['a', 'b'])]],
    ['x notin (b,a)', [r('x', 'notin', ['a', 'b'])]], // values come back sorted (sets.String.List)
    ['x>1', [r('x', 'gt', ['1'])]],
    ['x<10', [r('x', 'lt', ['10'])]],
    ['x=', [r('x', '=', [''])]], // nothing after the operator: the empty value
    ['x in ()', [r('x', 'in', [''])]],
    ['x in (a,,b)', [r('x', 'in', ['', 'a', 'b'])]],
    ['x in (,a)', [r('x', 'in', ['', 'a'])]],
    ['x in (a,)', [r('x', 'in', ['', 'a'])]],
    ['x in (a,a)', [r('x', 'in', ['a'])]],
    ['b=1,a=2', [r('a', '=', ['2']), r('b', '=', ['1'])]], // sorted by key
    [' x = a , y ', [r('x', '=', ['a']), r('y', 'exists')]],
    ['x\t=\na,\ry', [r('x', '=', ['a']), r('y', 'exists')]],
    ['x in (in,notin)', [r('x', 'in', ['in', 'notin'])]], // keywords are identifiers in value position
    ['in=notin', [r('in', '=', ['notin'])]],
    ['x in(a)', [r('x', 'in', ['a'])]],
    ['example.com/app=web,kubernetes.io/os in (linux)', [r('example.com/app', '=', ['web']), r('kubernetes.io/os', 'in', ['linux'])]],
    ['env=production,tier notin (frontend),!canary,release', [r('canary', '!'), r('env', '=', ['production']), r('release', 'exists'), r('tier', 'notin', ['frontend'])]],
    ['My.Key_1=Value-2', [r('My.Key_1', '=', ['Value-2'])]],
    [`k=${'v'.repeat(63)}`, [r('k', '=', ['v'.repeat(63)])]],
  ];
  it.each(valid)('%j', (input, want) => {
    expect(parseLabelSelector(input)).toEqual(want);
  });
});

describe('parseLabelSelector refuses bad syntax with apimachinery\'s messages', () => {
  const errors: [string, string][] = [
    ['x=a b', "found 'b', expected: ',' or 'end of string'"],
    ['x=a,', "found '', expected: identifier after ','"],
    ['x=a,,y', "found ',', expected: identifier after ','"],
    [',x', "found ',', expected: !, identifier, or 'end of string'"],
    ['=a', "found '=', expected: !, identifier, or 'end of string'"],
    ['!x=a', "found '=', expected: ',' or 'end of string'"],
    ['!', "unable to parse requirement: found '', expected: identifier"],
    ['x in a', "unable to parse requirement: found 'a' expected: '('"],
    ['x notin', "unable to parse requirement: found '' expected: '('"],
    ['x in (a', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['x in (a b)', "unable to parse requirement: found 'b', expected: ',' or ')'"],
    ['x in (=)', "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ['x in (a,=)', "unable to parse requirement: found '=', expected: ',', or identifier"],
    ['x a', `unable to parse requirement: found 'a', expected: ${OPS}`],
    ['x!', `unable to parse requirement: found '!', expected: ${OPS}`],
    ['x=(a)', "unable to parse requirement: found '(', expected: identifier"],
    ['x>a', 'unable to parse requirement: values[0]: Invalid value: "a": for \'Gt\', \'Lt\' operators, the value must be an integer'],
    ['x<99999999999999999999', 'unable to parse requirement: values[0]: Invalid value: "99999999999999999999": for \'Gt\', \'Lt\' operators, the value must be an integer'],
    ['x>+5', `unable to parse requirement: values[0][x]: Invalid value: "+5": ${VALUE_RE}`], // an int, but not a label value
    ['x>-1', `unable to parse requirement: values[0][x]: Invalid value: "-1": ${VALUE_RE}`],
    [
      'x>_',
      `unable to parse requirement: [values[0]: Invalid value: "_": for 'Gt', 'Lt' operators, the value must be an integer, values[0][x]: Invalid value: "_": ${VALUE_RE}]`,
    ],
    ['x=a@b', `unable to parse requirement: values[0][x]: Invalid value: "a@b": ${VALUE_RE}`],
    ['x in (ok,-bad)', `unable to parse requirement: values[0][x]: Invalid value: "-bad": ${VALUE_RE}`],
    [`x=${'v'.repeat(64)}`, `unable to parse requirement: values[0][x]: Invalid value: "${'v'.repeat(64)}": must be no more than 63 characters`],
    ['k@y=x', `unable to parse requirement: <nil>: Invalid value: "k@y": name part ${NAME_RE}`],
    // kubectl get pods -l "app:monolith", as a real API server answers it
    [
      'app:monolith',
      "unable to parse requirement: <nil>: Invalid value: \"app:monolith\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ],
    [`${'k'.repeat(64)}=x`, `unable to parse requirement: <nil>: Invalid value: "${'k'.repeat(64)}": name part must be no more than 63 characters`],
    ['a/b/c=x', `unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name ${NAME_RE} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`],
    ['Example.com/app=x', `unable to parse requirement: <nil>: Invalid value: "Example.com/app": ${PREFIX_RE}`],
    ['/app=x', 'unable to parse requirement: <nil>: Invalid value: "/app": prefix part must be non-empty'],
    ['app/=x', `unable to parse requirement: <nil>: Invalid value: "app/": name part must be non-empty; name part ${NAME_RE}`],
  ];
  it.each(errors)('%j', (input, message) => {
    expect(() => parseLabelSelector(input)).toThrow(new Error(message));
  });
  it('has at least ten distinct syntax errors', () => {
    expect(new Set(errors.map(([, m]) => m)).size).toBeGreaterThanOrEqual(10);
  });
});

describe('matchesLabels', () => {
  const labels = { app: 'web', tier: 'frontend', replicas: '3', empty: '' };
  const cases: [string, boolean][] = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['missing=x', false], // = needs the key
    ['app!=db', true],
    ['app!=web', false],
    ['missing!=x', true], // != matches an absent key
    ['tier in (frontend,backend)', true],
    ['tier in (backend)', false],
    ['missing in (x)', false],
    ['tier notin (backend)', true],
    ['tier notin (frontend)', false],
    ['missing notin (x)', true], // notin matches an absent key
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['replicas>2', true],
    ['replicas>3', false],
    ['replicas<4', true],
    ['app>1', false], // not an integer: no match
    ['missing<5', false],
    ['empty=', true],
    ['empty in ()', true],
    ['app=web,tier=frontend', true], // comma is AND
    ['app=web,tier=backend', false],
  ];
  it.each(cases)('%j → %s', (sel, want) => {
    expect(matchesLabels(labels, parseLabelSelector(sel))).toBe(want);
  });
  it('treats missing labels as an empty set', () => {
    expect(matchesLabels(undefined, parseLabelSelector('!app'))).toBe(true);
    expect(matchesLabels(undefined, parseLabelSelector('app'))).toBe(false);
  });
});

describe('label keys and values', () => {
  it('validates keys as qualified names', () => {
    expect(labelKeyErrors('app')).toEqual([]);
    expect(labelKeyErrors('kubernetes.io/hostname')).toEqual([]);
    expect(labelKeyErrors(`${'a'.repeat(254)}/x`)).toEqual(['prefix part must be no more than 253 characters']);
    expect(labelKeyErrors('-x')).toEqual([`name part ${NAME_RE}`]);
  });
  it('validates values', () => {
    expect(labelValueErrors('')).toEqual([]);
    expect(labelValueErrors('a'.repeat(63))).toEqual([]);
    expect(labelValueErrors(`-${'a'.repeat(63)}`)).toEqual(['must be no more than 63 characters', VALUE_RE]);
  });
  it('writes a selector back in canonical form', () => {
    expect(formatLabelSelector(parseLabelSelector('tier notin (b,a), !x , app==web,y'))).toBe('app==web,tier notin (a,b),!x,y');
  });
});
