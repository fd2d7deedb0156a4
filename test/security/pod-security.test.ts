// Pod Security Admission without a daemon: every check of the Pod Security
// Standards with a pod that passes it and one that fails it, at baseline and at
// restricted, in the API server's exact words; the namespace labels and their
// fallbacks; and enforce, warn and audit through the registry over an in-memory
// store (and the Warning header through a real API server on a socket).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { type AdmissionPolicy, type AuditRecord, hostPathAllowed, realPath } from '../../src/apiserver/admission.js';
import { type PodView, decidePod, isSignificantPodUpdate, warnExistingPods } from '../../src/apiserver/pod-security/admission.js';
import { type PodSpecView, checksFor, describeFailures, evaluate } from '../../src/apiserver/pod-security/checks.js';
import { compareLevels, defaultPolicy, policyFromLabels } from '../../src/apiserver/pod-security/levels.js';
import { Registry } from '../../src/apiserver/registry.js';
import { createApiServer } from '../../src/apiserver/server.js';
import type { ApiError } from '../../src/apiserver/status.js';
import { setWarningHeaders, warningHeader } from '../../src/apiserver/warnings.js';
import { Client, parseWarningHeader } from '../../src/client/client.js';
import { keyOf } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite.js';

// --- the checks

/** A pod that meets restricted: each row below breaks (or keeps) one control of it. */
function restrictedPod(): PodView {
  return {
    metadata: { name: 'p' },
    spec: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'app', image: 'busybox:1.36', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    },
  };
}
const app = (p: PodView) => p.spec.containers[0];
const sc = (p: PodView) => (app(p).securityContext ??= {});
const podSc = (p: PodView) => (p.spec.securityContext ??= {});

interface Row {
  name: string;
  pod: (p: PodView) => void;
  /** What baseline and restricted say, or null when they admit it. */
  baseline: string | null;
  restricted: string | null;
}

const ROWS: Row[] = [
  // hostProcess (Windows): the field is read even though minipod's schema refuses it
  { name: 'hostProcess: false', pod: (p) => (podSc(p).windowsOptions = { hostProcess: false }), baseline: null, restricted: null },
  {
    name: 'hostProcess: pod and container',
    pod: (p) => {
      podSc(p).windowsOptions = { hostProcess: true };
      sc(p).windowsOptions = { hostProcess: true };
    },
    baseline: 'hostProcess (pod and container "app" must not set securityContext.windowsOptions.hostProcess=true)',
    restricted: 'hostProcess (pod and container "app" must not set securityContext.windowsOptions.hostProcess=true)',
  },
  // host namespaces
  { name: 'hostNetwork: false', pod: (p) => (p.spec.hostNetwork = false), baseline: null, restricted: null },
  { name: 'hostNetwork', pod: (p) => (p.spec.hostNetwork = true), baseline: 'host namespaces (hostNetwork=true)', restricted: 'host namespaces (hostNetwork=true)' },
  {
    name: 'hostNetwork, hostPID, hostIPC',
    pod: (p) => Object.assign(p.spec, { hostIPC: true, hostPID: true, hostNetwork: true }),
    baseline: 'host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)',
    restricted: 'host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)',
  },
  // privileged
  { name: 'privileged: false', pod: (p) => (sc(p).privileged = false), baseline: null, restricted: null },
  {
    name: 'privileged init container and container',
    pod: (p) => {
      sc(p).privileged = true;
      p.spec.initContainers = [{ name: 'init', securityContext: { privileged: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }];
    },
    baseline: 'privileged (containers "init", "app" must not set securityContext.privileged=true)',
    restricted: 'privileged (containers "init", "app" must not set securityContext.privileged=true)',
  },
  // capabilities
  { name: 'adds NET_BIND_SERVICE', pod: (p) => (sc(p).capabilities!.add = ['NET_BIND_SERVICE']), baseline: null, restricted: null },
  {
    name: 'adds CHOWN (in the default set)',
    pod: (p) => (sc(p).capabilities!.add = ['CHOWN']),
    baseline: null,
    restricted: 'unrestricted capabilities (container "app" must not include "CHOWN" in securityContext.capabilities.add)',
  },
  {
    name: 'adds SYS_PTRACE and NET_ADMIN',
    pod: (p) => (sc(p).capabilities!.add = ['SYS_PTRACE', 'NET_ADMIN', 'CHOWN']),
    baseline: 'non-default capabilities (container "app" must not include "NET_ADMIN", "SYS_PTRACE" in securityContext.capabilities.add)',
    restricted: 'unrestricted capabilities (container "app" must not include "CHOWN", "NET_ADMIN", "SYS_PTRACE" in securityContext.capabilities.add)',
  },
  {
    name: 'drops nothing',
    pod: (p) => delete sc(p).capabilities,
    baseline: null,
    restricted: 'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"])',
  },
  {
    name: 'drops NET_RAW only, adds SYS_ADMIN',
    pod: (p) => (sc(p).capabilities = { drop: ['NET_RAW'], add: ['SYS_ADMIN'] }),
    baseline: 'non-default capabilities (container "app" must not include "SYS_ADMIN" in securityContext.capabilities.add)',
    restricted:
      'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]; container "app" must not include "SYS_ADMIN" in securityContext.capabilities.add)',
  },
  // volumes
  { name: 'emptyDir volume', pod: (p) => (p.spec.volumes = [{ name: 'scratch', emptyDir: {} }]), baseline: null, restricted: null },
  {
    name: 'hostPath volumes',
    pod: (p) => (p.spec.volumes = [{ name: 'proc', hostPath: { path: '/proc' } }, { name: 'ok', emptyDir: {} }, { name: 'sys', hostPath: { path: '/sys' } }]),
    baseline: 'hostPath volumes (volumes "proc", "sys")',
    restricted: 'restricted volume types (volumes "proc", "sys" use restricted volume type "hostPath")',
  },
  {
    name: 'nfs and gitRepo volumes',
    pod: (p) => (p.spec.volumes = [{ name: 'n', nfs: { server: 'x', path: '/' } }, { name: 'g', gitRepo: { repository: 'x' } }, { name: 'c', configMap: { name: 'x' } }]),
    baseline: null,
    restricted: 'restricted volume types (volumes "n", "g" use restricted volume types "gitRepo", "nfs")',
  },
  // hostPorts
  { name: 'containerPort only', pod: (p) => (app(p).ports = [{ hostPort: 0 }, {}]), baseline: null, restricted: null },
  {
    name: 'hostPorts',
    pod: (p) => (app(p).ports = [{ hostPort: 9090 }, { hostPort: 8080 }]),
    baseline: 'hostPort (container "app" uses hostPorts 8080, 9090)',
    restricted: 'hostPort (container "app" uses hostPorts 8080, 9090)',
  },
  // probe and lifecycle hosts
  { name: 'probe on the pod IP', pod: (p) => (app(p).readinessProbe = { httpGet: { host: '' } }), baseline: null, restricted: null },
  {
    name: 'probe and preStop hosts',
    pod: (p) => {
      app(p).livenessProbe = { tcpSocket: { host: 'metadata.internal' } };
      app(p).lifecycle = { preStop: { httpGet: { host: '10.0.0.1' } } };
    },
    baseline: 'probe or lifecycle host (container "app" uses probe or lifecycle hosts "10.0.0.1", "metadata.internal")',
    restricted: 'probe or lifecycle host (container "app" uses probe or lifecycle hosts "10.0.0.1", "metadata.internal")',
  },
  // AppArmor
  {
    name: 'AppArmor runtime/default, localhost/*, RuntimeDefault',
    pod: (p) => {
      p.metadata.annotations = { 'container.apparmor.security.beta.kubernetes.io/app': 'runtime/default', 'container.apparmor.security.beta.kubernetes.io/x': 'localhost/mine' };
      sc(p).appArmorProfile = { type: 'RuntimeDefault' };
    },
    baseline: null,
    restricted: null,
  },
  {
    name: 'AppArmor Unconfined field and annotation',
    pod: (p) => {
      p.metadata.annotations = { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' };
      sc(p).appArmorProfile = { type: 'Unconfined' };
    },
    baseline: 'forbidden AppArmor profiles (container "app" and annotation must not set AppArmor profile type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/app="unconfined"")',
    restricted: 'forbidden AppArmor profiles (container "app" and annotation must not set AppArmor profile type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/app="unconfined"")',
  },
  // SELinux
  { name: 'SELinux container_t with a level', pod: (p) => (podSc(p).seLinuxOptions = { type: 'container_t', level: 's0:c1,c2' }), baseline: null, restricted: null },
  {
    name: 'SELinux spc_t and a user',
    pod: (p) => {
      podSc(p).seLinuxOptions = { type: 'spc_t' };
      sc(p).seLinuxOptions = { user: 'system_u', role: 'system_r' };
    },
    baseline: 'seLinuxOptions (pod and container "app" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set; role may not be set)',
    restricted: 'seLinuxOptions (pod and container "app" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set; role may not be set)',
  },
  // /proc mount
  { name: 'procMount Default', pod: (p) => (sc(p).procMount = 'Default'), baseline: null, restricted: null },
  {
    name: 'procMount Unmasked',
    pod: (p) => (sc(p).procMount = 'Unmasked'),
    baseline: 'procMount (container "app" must not set securityContext.procMount to "Unmasked")',
    restricted: 'procMount (container "app" must not set securityContext.procMount to "Unmasked")',
  },
  {
    name: 'procMount Unmasked in a user namespace',
    pod: (p) => {
      sc(p).procMount = 'Unmasked';
      p.spec.hostUsers = false;
    },
    baseline: null,
    restricted: 'procMount (container "app" must not set securityContext.procMount to "Unmasked")',
  },
  // seccomp
  { name: 'seccomp Localhost on the container', pod: (p) => (sc(p).seccompProfile = { type: 'Localhost' }), baseline: null, restricted: null },
  {
    name: 'seccomp Unconfined',
    pod: (p) => (podSc(p).seccompProfile = { type: 'Unconfined' }),
    baseline: 'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
    restricted: 'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
  },
  {
    name: 'seccomp unset',
    pod: (p) => delete podSc(p).seccompProfile,
    baseline: null,
    restricted: 'seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  },
  // sysctls
  { name: 'safe sysctls', pod: (p) => (podSc(p).sysctls = [{ name: 'net.ipv4.tcp_syncookies', value: '1' }, { name: 'net.ipv4.tcp_notsent_lowat' }]), baseline: null, restricted: null },
  {
    name: 'unsafe sysctls',
    pod: (p) => (podSc(p).sysctls = [{ name: 'kernel.msgmax' }, { name: 'net.ipv4.ip_local_port_range' }, { name: 'net.core.somaxconn' }]),
    baseline: 'forbidden sysctls (kernel.msgmax, net.core.somaxconn)',
    restricted: 'forbidden sysctls (kernel.msgmax, net.core.somaxconn)',
  },
  // restricted only
  {
    name: 'allowPrivilegeEscalation unset',
    pod: (p) => delete sc(p).allowPrivilegeEscalation,
    baseline: null,
    restricted: 'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)',
  },
  {
    name: 'runAsNonRoot unset',
    pod: (p) => delete podSc(p).runAsNonRoot,
    baseline: null,
    restricted: 'runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)',
  },
  { name: 'runAsNonRoot on the container only', pod: (p) => ((podSc(p).runAsNonRoot = undefined), (sc(p).runAsNonRoot = true)), baseline: null, restricted: null },
  {
    name: 'runAsNonRoot false',
    pod: (p) => (sc(p).runAsNonRoot = false),
    baseline: null,
    restricted: 'runAsNonRoot != true (container "app" must not set securityContext.runAsNonRoot=false)',
  },
  { name: 'runAsUser 1000', pod: (p) => (podSc(p).runAsUser = 1000), baseline: null, restricted: null },
  {
    name: 'runAsUser 0',
    pod: (p) => ((podSc(p).runAsUser = 0), (sc(p).runAsUser = 0)),
    baseline: null,
    restricted: 'runAsUser=0 (pod and container "app" must not set runAsUser=0)',
  },
];

describe('the Pod Security Standards, check by check', () => {
  it.each(ROWS)('$name', (row) => {
    const pod = restrictedPod();
    row.pod(pod);
    const say = (level: 'privileged' | 'baseline' | 'restricted') => describeFailures(evaluate(level, pod.metadata, pod.spec)) || null;
    expect(say('privileged')).toBe(null);
    expect(say('baseline')).toBe(row.baseline);
    expect(say('restricted')).toBe(row.restricted);
  });

  it('covers every check of the table with a failing pod', () => {
    const reasons = new Set(ROWS.flatMap((r) => [r.baseline, r.restricted]).filter((m): m is string => !!m).map((m) => m.replace(/ \(.*$/s, '')));
    expect(reasons.size).toBeGreaterThanOrEqual(checksFor('restricted').length);
    expect(checksFor('baseline').map((c) => c.id)).toEqual([
      'appArmorProfile', 'capabilities_baseline', 'hostNamespaces', 'hostPathVolumes', 'hostPorts', 'hostProbesAndHostLifecycle',
      'privileged', 'procMount', 'seLinuxOptions', 'seccompProfile_baseline', 'sysctls', 'windowsHostProcess',
    ]);
    // restricted replaces four baseline checks with stricter ones of its own
    expect(checksFor('restricted').map((c) => c.id)).not.toContain('capabilities_baseline');
    expect(checksFor('restricted')).toHaveLength(12 - 4 + 7);
  });

  it('lists several failures in upstream order, joined with ", "', () => {
    const spec: PodSpecView = {
      hostNetwork: true,
      hostPID: true,
      volumes: [{ name: 'proc', hostPath: { path: '/proc' } }, { name: 'sys', hostPath: { path: '/sys' } }],
      containers: [{ name: 'node-exporter', ports: [{ hostPort: 9100 }] }],
    };
    expect(describeFailures(evaluate('baseline', {}, spec))).toBe(
      'host namespaces (hostNetwork=true, hostPID=true), hostPath volumes (volumes "proc", "sys"), hostPort (container "node-exporter" uses hostPort 9100)',
    );
    const busybox: PodSpecView = { containers: [{ name: 'nginx' }] };
    expect(describeFailures(evaluate('baseline', {}, busybox))).toBe('');
    expect(describeFailures(evaluate('restricted', {}, busybox))).toBe(
      'allowPrivilegeEscalation != false (container "nginx" must set securityContext.allowPrivilegeEscalation=false), ' +
        'unrestricted capabilities (container "nginx" must set securityContext.capabilities.drop=["ALL"]), ' +
        'runAsNonRoot != true (pod or container "nginx" must set securityContext.runAsNonRoot=true), ' +
        'seccompProfile (pod or container "nginx" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
  });

  it('skips the Linux-only restricted checks for Windows pods', () => {
    const spec: PodSpecView = { os: { name: 'windows' }, securityContext: { runAsNonRoot: true }, containers: [{ name: 'w' }] };
    expect(evaluate('restricted', {}, spec)).toEqual([]);
  });
});

// --- levels, labels, versions

describe('namespace labels', () => {
  const defaults = defaultPolicy('baseline');
  const lv = (level: string, version = 'latest') => ({ level, version });

  it('falls back to the daemon default for every mode without a label', () => {
    expect(policyFromLabels(undefined, defaults)).toEqual({ policy: { enforce: lv('baseline'), audit: lv('baseline'), warn: lv('baseline') }, errors: [] });
    expect(policyFromLabels({ 'kubernetes.io/metadata.name': 'dev' }, defaultPolicy('privileged')).policy.enforce).toEqual(lv('privileged'));
  });

  it('reads each mode and version; a stricter enforce level also warns', () => {
    const { policy, errors } = policyFromLabels(
      { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'v1.30', 'pod-security.kubernetes.io/audit': 'privileged' },
      defaults,
    );
    expect(errors).toEqual([]);
    expect(policy).toEqual({ enforce: lv('restricted', 'v1.30'), audit: lv('privileged'), warn: lv('restricted', 'v1.30') });
    // a more lenient enforce level leaves warn at the default; an explicit warn label wins
    expect(policyFromLabels({ 'pod-security.kubernetes.io/enforce': 'privileged' }, defaults).policy.warn).toEqual(lv('baseline'));
    expect(
      policyFromLabels({ 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'baseline', 'pod-security.kubernetes.io/warn-version': 'v1.29' }, defaults).policy.warn,
    ).toEqual(lv('baseline', 'v1.29'));
  });

  it('fails closed on a bad enforce level, open on bad audit and warn levels, and reads a bad version as latest', () => {
    const { policy, errors } = policyFromLabels(
      {
        'pod-security.kubernetes.io/enforce': 'strict',
        'pod-security.kubernetes.io/enforce-version': '1.30',
        'pod-security.kubernetes.io/audit': 'Baseline',
        'pod-security.kubernetes.io/warn': 'none',
        'pod-security.kubernetes.io/warn-version': 'v1.01',
      },
      defaults,
    );
    expect(policy).toEqual({ enforce: lv('restricted'), audit: lv('privileged'), warn: lv('privileged') });
    expect(errors).toEqual([
      { path: 'metadata.labels[pod-security.kubernetes.io/enforce]', message: 'Invalid value: "strict": must be one of privileged, baseline, restricted' },
      { path: 'metadata.labels[pod-security.kubernetes.io/enforce-version]', message: 'Invalid value: "1.30": must be "latest" or "v1.x"' },
      { path: 'metadata.labels[pod-security.kubernetes.io/audit]', message: 'Invalid value: "Baseline": must be one of privileged, baseline, restricted' },
      { path: 'metadata.labels[pod-security.kubernetes.io/warn]', message: 'Invalid value: "none": must be one of privileged, baseline, restricted' },
      { path: 'metadata.labels[pod-security.kubernetes.io/warn-version]', message: 'Invalid value: "v1.01": must be "latest" or "v1.x"' },
    ]);
    for (const ok of ['latest', 'v1.0', 'v1.9', 'v1.35', 'v1.100']) expect(policyFromLabels({ 'pod-security.kubernetes.io/audit-version': ok }, defaults).errors).toEqual([]);
    for (const bad of ['', 'v2.0', 'v1', 'v1.x', 'Latest', 'v1.-1']) expect(policyFromLabels({ 'pod-security.kubernetes.io/audit-version': bad }, defaults).errors).toHaveLength(1);
  });

  it('orders levels by strictness', () => {
    expect(compareLevels('restricted', 'baseline')).toBe(1);
    expect(compareLevels('privileged', 'baseline')).toBe(-1);
    expect(compareLevels('baseline', 'baseline')).toBe(0);
  });
});

describe('one pod under a policy', () => {
  const hostNet: PodView = { metadata: { name: 'x' }, spec: { hostNetwork: true, containers: [{ name: 'x', securityContext: { privileged: true } }] } };

  it('enforce refuses, echoing the level and version; no warning then, but audit still records', () => {
    const { policy } = policyFromLabels({ 'pod-security.kubernetes.io/enforce-version': 'v1.30', 'pod-security.kubernetes.io/audit': 'restricted' }, defaultPolicy('baseline'));
    const d = decidePod(policy, [], hostNet);
    expect(d.forbidden).toBe('violates PodSecurity "baseline:v1.30": host namespaces (hostNetwork=true), privileged (container "x" must not set securityContext.privileged=true)');
    expect(d.warnings).toEqual([]);
    expect(d.audit['pod-security.kubernetes.io/audit-violations']).toMatch(/^would violate PodSecurity "restricted:latest": host namespaces \(hostNetwork=true\), privileged .*, seccompProfile \(/);
    expect(d.audit['pod-security.kubernetes.io/enforce-policy']).toBe('baseline:v1.30');
  });

  it('warn only warns', () => {
    const d = decidePod(defaultPolicy('privileged'), [], hostNet);
    expect(d).toEqual({ warnings: [], audit: { 'pod-security.kubernetes.io/enforce-policy': 'privileged:latest' } });
    const { policy } = policyFromLabels({ 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/warn': 'baseline' }, defaultPolicy('privileged'));
    expect(decidePod(policy, [], hostNet)).toMatchObject({
      forbidden: undefined,
      warnings: ['would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true), privileged (container "x" must not set securityContext.privileged=true)'],
    });
  });

  it('treats only image changes as significant updates', () => {
    const old: PodView = { metadata: { name: 'x' }, spec: { containers: [{ name: 'a', image: 'busybox:1.36' }], initContainers: [{ name: 'i', image: 'busybox:1.36' }] } };
    const next = structuredClone(old);
    next.metadata.annotations = { note: 'x' };
    expect(isSignificantPodUpdate(next, old)).toBe(false);
    next.spec.initContainers![0].image = 'busybox:1.37';
    expect(isSignificantPodUpdate(next, old)).toBe(true);
  });

  it('summarizes existing pods that a new enforce level would refuse', () => {
    const pod = (name: string, spec: Partial<PodSpecView> = {}, owner?: string): PodView => ({
      metadata: { name, ...(owner ? { ownerReferences: [{ uid: owner, controller: true }] } : {}) },
      spec: { containers: [{ name: 'c' }], ...spec },
    });
    const warnings = warnExistingPods('dev', { level: 'baseline', version: 'latest' }, [
      pod('web-2', { hostNetwork: true }),
      pod('web-1', { hostNetwork: true }),
      pod('db', { hostNetwork: true }, 'rs'),
      pod('fine'),
      pod('tool', { volumes: [{ name: 'h', hostPath: { path: '/' } }], hostPID: true }),
    ]);
    expect(warnings).toEqual([
      'existing pods in namespace "dev" violate the new PodSecurity enforce level "baseline:latest"',
      'db (and 2 other pods): host namespaces',
      'tool: host namespaces, hostPath volumes',
    ]);
  });
});

// --- through the registry, over an in-memory store

const pod = (name: string, spec: Partial<Pod['spec']> = {}, container: Partial<Pod['spec']['containers'][0]> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'main', image: 'busybox:1.36', ...container }], ...spec },
});
const fail = async (p: Promise<unknown>) => (await p.then(() => undefined, (e) => e)) as ApiError;
const tmp = mkdtempSync(join(os.tmpdir(), 'minipod-psa-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('admission in the registry', () => {
  let registry: Registry;
  let audits: AuditRecord[];
  let policy: AdmissionPolicy;
  const namespace = (name: string, labels: Record<string, string>) => registry.create('namespaces', '', { metadata: { name, labels } });

  beforeEach(() => {
    audits = [];
    policy = { podSecurity: 'baseline', allowHostPaths: [join(tmp, 'ok')], audit: (r) => audits.push(r) };
    registry = new Registry(new SqliteStore(':memory:'), policy);
  });

  it('refuses hostNetwork under the default baseline with a 403 Forbidden Status, dry run too', async () => {
    for (const dryRun of [false, true]) {
      const err = await fail(registry.create('pods', 'default', pod('web', { hostNetwork: true }), dryRun));
      expect(err.toStatus()).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'pods "web" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)',
        reason: 'Forbidden',
        details: { name: 'web', kind: 'pods' },
        code: 403,
      });
    }
    expect((await registry.store.list('pods', 'default')).items).toEqual([]);
    // a pod in a namespace that does not exist: NamespaceLifecycle answers before Pod Security, as upstream's plugin order has it
    const missing = await fail(registry.create('pods', 'nowhere', pod('web', {}, { securityContext: { capabilities: { add: ['NET_ADMIN'] } } })));
    expect([missing.code, missing.message]).toEqual([404, 'namespaces "nowhere" not found']);
  });

  it('admits what a privileged namespace allows, but hostPath only under --allow-host-path', async () => {
    await namespace('ops', { 'pod-security.kubernetes.io/enforce': 'privileged' });
    const caps = pod('debug', { hostNetwork: true }, { securityContext: { privileged: true, capabilities: { add: ['SYS_PTRACE', 'NET_ADMIN'] } } });
    const warnings: string[] = [];
    await registry.create('pods', 'ops', caps, false, warnings);
    // warn and audit stay at the daemon's default, as with upstream's AdmissionConfiguration defaults
    expect(warnings).toEqual([
      'would violate PodSecurity "baseline:latest": non-default capabilities (container "main" must not include "NET_ADMIN", "SYS_PTRACE" in securityContext.capabilities.add), host namespaces (hostNetwork=true), privileged (container "main" must not set securityContext.privileged=true)',
    ]);
    expect(audits).toEqual([
      {
        namespace: 'ops',
        pod: 'debug',
        operation: 'create',
        annotations: {
          'pod-security.kubernetes.io/enforce-policy': 'privileged:latest',
          'pod-security.kubernetes.io/audit-violations': expect.stringMatching(/^would violate PodSecurity "baseline:latest": non-default capabilities/),
        },
      },
    ]);
    const vol = (path: string) => pod('h', { volumes: [{ name: 'h', hostPath: { path } }] });
    expect((await fail(registry.create('pods', 'ops', vol('/etc')))).message).toBe(
      `pods "h" is forbidden: volume "h": hostPath "/etc" is not allowed (allowed: ${join(tmp, 'ok')}; start the daemon with --allow-host-path PREFIX)`,
    );
    await registry.create('pods', 'ops', vol(join(tmp, 'ok', 'data')));
    // under baseline, Pod Security refuses hostPath before the allow-list is asked
    expect((await fail(registry.create('pods', 'default', vol(join(tmp, 'ok', 'data'))))).message).toBe(
      'pods "h" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "h")',
    );
  });

  it('warns without refusing in a warn=restricted namespace, and audits in an audit=restricted one', async () => {
    await namespace('dev', { 'pod-security.kubernetes.io/warn': 'restricted', 'pod-security.kubernetes.io/warn-version': 'v1.30' });
    const warnings: string[] = [];
    await registry.create('pods', 'dev', pod('web'), false, warnings);
    expect(warnings).toEqual([
      'would violate PodSecurity "restricted:v1.30": allowPrivilegeEscalation != false (container "main" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "main" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "main" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "main" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    ]);
    expect(audits).toEqual([]);
    await namespace('audited', { 'pod-security.kubernetes.io/audit': 'restricted' });
    const quiet: string[] = [];
    await registry.create('pods', 'audited', pod('web'), false, quiet);
    expect(quiet).toEqual([]);
    expect(audits).toHaveLength(1);
    expect(audits[0].annotations['pod-security.kubernetes.io/audit-violations']).toMatch(/^would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });

  it('re-evaluates a pod update only when an image changes', async () => {
    await namespace('dev', {});
    await registry.create('pods', 'dev', pod('web', {}, { securityContext: { capabilities: { add: ['NET_ADMIN'] } } })).then(
      () => {
        throw new Error('admitted');
      },
      () => undefined,
    );
    await registry.create('pods', 'dev', pod('web'));
    // the namespace turns restricted: the pod stays, its label edits pass, a new image is judged
    const warnings: string[] = [];
    await registry.patch('namespaces', '', 'dev', { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } }, false, warnings);
    expect(warnings).toEqual([
      'existing pods in namespace "dev" violate the new PodSecurity enforce level "restricted:latest"',
      'web: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile',
    ]);
    await registry.patch('pods', 'dev', 'web', { metadata: { labels: { tier: 'front' } } });
    const err = await fail(registry.patch('pods', 'dev', 'web', { spec: { containers: [{ name: 'main', image: 'busybox:1.37' }] } }));
    expect(err.code).toBe(403);
    expect(err.message).toMatch(/^pods "web" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
    // relaxing says nothing
    const none: string[] = [];
    await registry.patch('namespaces', '', 'dev', { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } }, false, none);
    expect(none).toEqual([]);
  });

  it('refuses invalid labels on namespace create and update, like upstream', async () => {
    const err = await fail(namespace('bad', { 'pod-security.kubernetes.io/enforce': 'strict' }));
    expect(err.toStatus()).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message: 'Namespace "bad" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted',
      details: { name: 'bad', kind: 'Namespace', causes: [{ reason: 'FieldValueInvalid', field: 'metadata.labels[pod-security.kubernetes.io/enforce]' }] },
    });
    await namespace('dev', {});
    const upd = await fail(registry.patch('namespaces', '', 'dev', { metadata: { labels: { 'pod-security.kubernetes.io/warn-version': 'v2' } } }));
    expect(upd.message).toBe('Namespace "dev" is invalid: metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: "v2": must be "latest" or "v1.x"');
  });

  it('evaluates pods of a namespace whose bad enforce label predates the check as restricted', async () => {
    await registry.store.create(keyOf('namespaces', '', 'old'), {
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: { name: 'old', labels: { 'pod-security.kubernetes.io/enforce': 'strict' } },
    });
    const err = await fail(registry.create('pods', 'old', pod('web')));
    expect(err.message).toMatch(/^pods "web" is forbidden: violates PodSecurity "restricted:latest": /);
    expect(audits[0].annotations.error).toBe(
      'Failed to parse policy: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted',
    );
    // an unrelated label edit of that namespace is not refused for the old mistake
    await registry.patch('namespaces', '', 'old', { metadata: { labels: { team: 'a' } } });
  });

  it('uses the daemon-wide default for namespaces without labels', async () => {
    const lenient = new Registry(new SqliteStore(':memory:'), { podSecurity: 'privileged', allowHostPaths: [] });
    await lenient.create('pods', 'default', pod('web', { hostNetwork: true }));
    const strict = new Registry(new SqliteStore(':memory:'), { podSecurity: 'restricted', allowHostPaths: [] });
    expect((await fail(strict.create('pods', 'default', pod('web')))).message).toMatch(/^pods "web" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation/);
  });
});

describe('hostPath allow-list', () => {
  it('compares real paths: a symlink under an allowed prefix cannot lead out of it', () => {
    const allowed = join(tmp, 'allowed');
    mkdirSync(join(allowed, 'data'), { recursive: true });
    symlinkSync('/', join(allowed, 'root'));
    symlinkSync(join(allowed, 'data'), join(tmp, 'alias')); // a prefix given through a link still matches
    expect(hostPathAllowed(join(allowed, 'data'), [allowed])).toBe(true);
    expect(hostPathAllowed(join(allowed, 'new', 'dir'), [allowed])).toBe(true); // not there yet: its existing part is checked
    expect(hostPathAllowed(join(allowed, 'root'), [allowed])).toBe(false);
    expect(hostPathAllowed(join(allowed, 'root', 'etc'), [allowed])).toBe(false);
    expect(hostPathAllowed(join(allowed, 'data', '..', '..'), [allowed])).toBe(false);
    expect(hostPathAllowed(join(tmp, 'alias', 'x'), [join(allowed, 'data')])).toBe(true);
    expect(hostPathAllowed(join(allowed, 'data'), [join(tmp, 'alias')])).toBe(true);
    expect(hostPathAllowed(`${allowed}-other`, [allowed])).toBe(false);
    expect(realPath(join(allowed, 'root', 'etc', 'missing'))).toBe('/etc/missing');
  });
});

describe('warnings on the wire', () => {
  it('sends each warning once as 299 - "text" and the client reads the text back', async () => {
    const text = 'would violate PodSecurity "restricted:latest": a \\ b, é';
    expect(warningHeader('say "hi"')).toBe('299 - "say \\"hi\\""');
    expect(parseWarningHeader(warningHeader(text))).toBe(text);
    const headers = new Map<string, unknown>();
    setWarningHeaders({ setHeader: (k: string, v: unknown) => headers.set(k, v) } as never, ['a', 'a', 'b', 'bad\nline']);
    expect(headers.get('Warning')).toEqual(['299 - "a"', '299 - "b"']);
    const many = Array.from({ length: 40 }, (_, i) => `${i} ${'x'.repeat(400)}`);
    setWarningHeaders({ setHeader: (k: string, v: unknown) => headers.set(k, v) } as never, many);
    const sent = headers.get('Warning') as string[];
    expect(sent.length).toBeLessThan(40);
    expect(sent.join('').length).toBeLessThan(5000); // within what any HTTP client reads
  });

  it('reaches a client through the API server, for pods and for namespace label changes', async () => {
    const dir = mkdtempSync(join(tmp, 'api-'));
    const store = new SqliteStore(join(dir, 'store.db'));
    const server = createApiServer({ registry: new Registry(store), logger: pino({ level: 'silent' }) });
    const socket = join(dir, 'api.sock');
    await new Promise<void>((r) => server.listen(socket, r));
    const seen: string[] = [];
    const client = new Client({ socketPath: socket, onWarning: (w) => seen.push(w) });
    try {
      await client.request('POST', '/api/v1/namespaces', { metadata: { name: 'dev', labels: { 'pod-security.kubernetes.io/warn': 'restricted' } } });
      await client.createPod('dev', pod('web'));
      expect(seen).toEqual([expect.stringMatching(/^would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "main"/)]);
      seen.length = 0;
      await client.request('PATCH', '/api/v1/namespaces/dev', { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } }, 'application/merge-patch+json');
      expect(seen).toEqual(['existing pods in namespace "dev" violate the new PodSecurity enforce level "restricted:latest"', expect.stringMatching(/^web: allowPrivilegeEscalation != false, /)]);
      const refused = await client.createPod('dev', pod('web2'), true).catch((e) => e);
      expect(refused.status).toMatchObject({ code: 403, reason: 'Forbidden' });
    } finally {
      client.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await store.close();
    }
  });
});
