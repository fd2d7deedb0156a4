// Pod Security Admission's decisions, without I/O
// (k8s.io/pod-security-admission/admission/admission.go): a pod against the
// enforce, audit and warn levels of its namespace; a namespace's labels when
// they are set; and the existing pods a stricter enforce level would refuse.
import { type Failure, type PodMetaView, type PodSpecView, describeFailures, evaluate, failureReasons } from './checks.js';
import {
  AUDIT_VIOLATIONS_KEY,
  ENFORCE_POLICY_KEY,
  type LabelError,
  type LevelVersion,
  type Policy,
  compareLevels,
  fullyPrivileged,
  levelVersionString,
  policyFromLabels,
  sameLevelVersion,
} from './levels.js';

export interface PodView {
  metadata: PodMetaView & { name?: string; ownerReferences?: { uid?: string; controller?: boolean }[] };
  spec: PodSpecView;
}

export interface PodDecision {
  /** Set when the enforce level refuses the pod: what follows `pods "x" is forbidden: `. */
  forbidden?: string;
  /** Warning headers' texts (warn mode); none when the pod is refused. */
  warnings: string[];
  /** For the audit log: the enforced policy, audit violations, label errors. */
  audit: Record<string, string>;
}

/** Evaluates a pod under its namespace's policy, each distinct level once. */
export function decidePod(policy: Policy, labelErrors: LabelError[], pod: PodView): PodDecision {
  if (!labelErrors.length && fullyPrivileged(policy)) return { warnings: [], audit: { [ENFORCE_POLICY_KEY]: 'privileged:latest' } };
  const cache = new Map<string, Failure[]>();
  const run = (lv: LevelVersion) => {
    let r = cache.get(lv.level);
    if (!r) cache.set(lv.level, (r = evaluate(lv.level, pod.metadata, pod.spec)));
    return r;
  };
  const audit: Record<string, string> = { [ENFORCE_POLICY_KEY]: levelVersionString(policy.enforce) };
  if (labelErrors.length) audit.error = `Failed to parse policy: ${labelErrors.map((e) => `${e.path}: ${e.message}`).join(', ')}`;
  const enforced = run(policy.enforce);
  const forbidden = enforced.length ? `violates PodSecurity ${JSON.stringify(levelVersionString(policy.enforce))}: ${describeFailures(enforced)}` : undefined;
  const audited = run(policy.audit);
  if (audited.length) audit[AUDIT_VIOLATIONS_KEY] = wouldViolate(policy.audit, audited);
  const warnings: string[] = [];
  if (!forbidden) {
    const warned = run(policy.warn);
    if (warned.length) warnings.push(wouldViolate(policy.warn, warned));
  }
  return { forbidden, warnings, audit };
}

const wouldViolate = (lv: LevelVersion, failures: Failure[]) => `would violate PodSecurity ${JSON.stringify(levelVersionString(lv))}: ${describeFailures(failures)}`;

/**
 * Only an update that can change what the checks see is evaluated again: in a
 * pod's spec, only images may change (and the number of containers, which
 * validation already pins). Label and annotation edits pass.
 */
export function isSignificantPodUpdate(pod: PodView, old: PodView): boolean {
  const pairs = [
    [pod.spec.containers, old.spec.containers],
    [pod.spec.initContainers ?? [], old.spec.initContainers ?? []],
  ] as const;
  return pairs.some(([a, b]) => a.length !== b.length || a.some((c, i) => c.image !== b[i].image));
}

/** Create: the PSA labels must be valid. */
export function namespaceCreateErrors(labels: Record<string, string> | undefined, defaults: Policy): LabelError[] {
  return policyFromLabels(labels, defaults).errors;
}

/** The most pods one namespace update looks at, as upstream. */
export const MAX_PODS_TO_CHECK = 3000;

export interface NamespaceUpdateDecision {
  /** Invalid labels, when they changed: the update is refused. */
  errors: LabelError[];
  /** Whether the enforce level got stricter: the caller then lists the pods for warnExistingPods. */
  checkPods: boolean;
  enforce: LevelVersion;
}

/** Update: new invalid labels refuse it; a stricter enforce level means a look at the pods already there. */
export function decideNamespaceUpdate(oldLabels: Record<string, string> | undefined, labels: Record<string, string> | undefined, defaults: Policy): NamespaceUpdateDecision {
  const next = policyFromLabels(labels, defaults);
  const prev = policyFromLabels(oldLabels, defaults);
  const enforce = next.policy.enforce;
  if (next.errors.length && (!prev.errors.length || JSON.stringify(next.errors) !== JSON.stringify(prev.errors))) {
    return { errors: next.errors, checkPods: false, enforce };
  }
  const before = prev.policy.enforce;
  const relaxedOrSame = enforce.version === before.version && compareLevels(enforce.level, before.level) < 1;
  const checkPods = !sameLevelVersion(enforce, before) && enforce.level !== 'privileged' && !relaxedOrSame;
  return { errors: [], checkPods, enforce };
}

/**
 * Warnings for the pods of a namespace that its new enforce level would refuse:
 * one line per distinct set of reasons, named after the first pod (by name) that
 * has it. Pods of one controller count once before the others are looked at.
 */
export function warnExistingPods(namespace: string, enforce: LevelVersion, pods: PodView[]): string[] {
  const seenControllers = new Set<string>();
  const first: PodView[] = [];
  const repeats: PodView[] = [];
  for (const p of pods) {
    const owner = p.metadata.ownerReferences?.find((o) => o.controller)?.uid;
    if (owner && seenControllers.has(owner)) repeats.push(p);
    else {
      if (owner) seenControllers.add(owner);
      first.push(p);
    }
  }
  const ordered = [...first, ...repeats];
  const checked = ordered.slice(0, MAX_PODS_TO_CHECK);
  const byReasons = new Map<string, { name: string; count: number }>();
  for (const p of checked) {
    const failures = evaluate(enforce.level, p.metadata, p.spec);
    if (!failures.length) continue;
    const key = failureReasons(failures);
    const name = p.metadata.name ?? '';
    const seen = byReasons.get(key);
    if (!seen) byReasons.set(key, { name, count: 1 });
    else {
      seen.count++;
      if (name < seen.name) seen.name = name;
    }
  }
  const warnings: string[] = [];
  if (checked.length < ordered.length) warnings.push(`new PodSecurity enforce level only checked against the first ${checked.length} of ${ordered.length} existing pods`);
  if (byReasons.size) warnings.push(`existing pods in namespace ${JSON.stringify(namespace)} violate the new PodSecurity enforce level ${JSON.stringify(levelVersionString(enforce))}`);
  const perPod = [...byReasons].map(([reasons, { name, count }]) => {
    const who = count === 1 ? name : count === 2 ? `${name} (and 1 other pod)` : `${name} (and ${count - 1} other pods)`;
    return `${who}: ${reasons}`;
  });
  return [...warnings, ...perPod.sort()];
}
