// Pod Security levels, versions and the namespace labels that pick them
// (k8s.io/pod-security-admission/api). minipod evaluates every version with the
// latest checks; the version is kept only to be echoed in messages, as
// "baseline:v1.30".

export type Level = 'privileged' | 'baseline' | 'restricted';
export type Mode = 'enforce' | 'audit' | 'warn';

export const LEVELS: readonly Level[] = ['privileged', 'baseline', 'restricted'];
export const MODES: readonly Mode[] = ['enforce', 'audit', 'warn'];

export const LABEL_PREFIX = 'pod-security.kubernetes.io/';
export const levelLabel = (mode: Mode) => `${LABEL_PREFIX}${mode}`;
export const versionLabel = (mode: Mode) => `${LABEL_PREFIX}${mode}-version`;
/** Where audit findings go, named like upstream's audit annotation. */
export const AUDIT_VIOLATIONS_KEY = `${LABEL_PREFIX}audit-violations`;
export const ENFORCE_POLICY_KEY = `${LABEL_PREFIX}enforce-policy`;

/** A level and the version it was asked at: "latest" or "v1.N". */
export interface LevelVersion {
  level: Level;
  version: string;
}

export type Policy = Record<Mode, LevelVersion>;

export const levelVersionString = (lv: LevelVersion) => `${lv.level}:${lv.version}`;

/** The daemon-wide default (--pod-security LEVEL): every mode at that level, latest. */
export function defaultPolicy(level: Level): Policy {
  return { enforce: { level, version: 'latest' }, audit: { level, version: 'latest' }, warn: { level, version: 'latest' } };
}

export function isLevel(s: string): s is Level {
  return (LEVELS as readonly string[]).includes(s);
}

const VERSION = /^v1\.(0|[1-9][0-9]*)$/;
export const isVersion = (s: string) => s === 'latest' || VERSION.test(s);

/** -1, 0 or 1 as `a` is less strict than, as strict as, or stricter than `b`. */
export function compareLevels(a: Level, b: Level): number {
  return Math.sign(LEVELS.indexOf(a) - LEVELS.indexOf(b));
}

export interface LabelError {
  path: string;
  message: string;
}

/**
 * The policy a namespace's labels ask for, over the defaults. Like upstream, a
 * policy is always returned, with the label errors beside it: a bad enforce
 * level fails closed (restricted), a bad audit or warn level fails open
 * (privileged), a bad version means latest.
 */
export function policyFromLabels(labels: Record<string, string> | undefined, defaults: Policy): { policy: Policy; errors: LabelError[] } {
  const policy: Policy = { enforce: { ...defaults.enforce }, audit: { ...defaults.audit }, warn: { ...defaults.warn } };
  const errors: LabelError[] = [];
  if (!labels) return { policy, errors };
  const has = (key: string) => Object.hasOwn(labels, key);
  for (const mode of MODES) {
    const lk = levelLabel(mode);
    if (has(lk)) {
      const v = labels[lk];
      if (isLevel(v)) policy[mode].level = v;
      else {
        policy[mode].level = mode === 'enforce' ? 'restricted' : 'privileged';
        errors.push(labelError(lk, v, `must be one of ${LEVELS.join(', ')}`));
      }
    }
    const vk = versionLabel(mode);
    if (has(vk)) {
      const v = labels[vk];
      if (isVersion(v)) policy[mode].version = v;
      else {
        policy[mode].version = 'latest';
        errors.push(labelError(vk, v, 'must be "latest" or "v1.x"'));
      }
    }
  }
  // An explicit, stricter enforce level also warns, unless warn was asked for.
  const enforceSet = has(levelLabel('enforce')) && isLevel(labels[levelLabel('enforce')]);
  if (enforceSet && !has(levelLabel('warn')) && compareLevels(policy.enforce.level, policy.warn.level) > 0) {
    policy.warn.level = policy.enforce.level;
    if (!has(versionLabel('warn'))) policy.warn.version = policy.enforce.version;
  }
  return { policy, errors };
}

function labelError(key: string, value: string, why: string): LabelError {
  return { path: `metadata.labels[${key}]`, message: `Invalid value: ${JSON.stringify(value)}: ${why}` };
}

export const fullyPrivileged = (p: Policy) => MODES.every((m) => p[m].level === 'privileged');

export const sameLevelVersion = (a: LevelVersion, b: LevelVersion) => a.level === b.level && a.version === b.version;
