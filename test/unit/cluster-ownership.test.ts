// A kubelet touches only its own cluster's objects on its own node, and a node
// name on one engine is claimed by one live minipod: the label rules, the runtime's
// filters (with a fake Docker client) and the claim's decisions (with a fake holder probe).
import { describe, expect, it } from 'vitest';
import { type HolderProbe, NodeClaimRefused, claimNode, holderLive, releaseNodeClaim } from '../../src/kubelet/node-claim.js';
import { DockerRuntime } from '../../src/runtime/docker.js';
import { LABEL, type NodeClaim, claimFromLabels, claimLabels, ownContainer, ownEvent, podContainerFilter, podContainerLabels } from '../../src/runtime/labels.js';

const owner = { cluster: 'cluster-a', node: 'vm' };
const pod = { uid: 'uid-1', name: 'web', namespace: 'default' };
const labelsOf = (over: Record<string, string | undefined>) => {
  const l: Record<string, string> = { ...podContainerLabels(owner, pod, 'app', 'app', 0, 'h') };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete l[k];
    else l[k] = v;
  }
  return l;
};

describe('the labels of a pod container', () => {
  it('carry the cluster and the node', () => {
    const l = podContainerLabels(owner, pod, 'POD', 'sandbox', 2, '');
    expect(l[LABEL.cluster]).toBe('cluster-a');
    expect(l[LABEL.node]).toBe('vm');
    expect(l[LABEL.managed]).toBe('true');
    expect(l[LABEL.podUid]).toBe('uid-1');
    expect(l[LABEL.attempt]).toBe('2');
  });

  it("Docker's filter asks for minipod's labels and the node, and the pod uid to be there", () => {
    expect(podContainerFilter('vm')).toEqual(['minipod.io/managed=true', 'minipod.io/node=vm', 'io.kubernetes.pod.uid']);
    expect(podContainerFilter('vm', 'u')).toEqual(['minipod.io/managed=true', 'minipod.io/node=vm', 'io.kubernetes.pod.uid=u']);
  });
});

describe('ownContainer', () => {
  it('is true for this cluster and node only', () => {
    expect(ownContainer(labelsOf({}), owner)).toBe(true);
    expect(ownContainer(labelsOf({ [LABEL.cluster]: 'cluster-b' }), owner)).toBe(false);
    expect(ownContainer(labelsOf({ [LABEL.node]: 'other' }), owner)).toBe(false);
  });

  it('never for an object without minipod labels', () => {
    expect(ownContainer(undefined, owner, () => true)).toBe(false);
    expect(ownContainer({ [LABEL.node]: 'vm', [LABEL.podUid]: 'uid-1' }, owner, () => true)).toBe(false); // not managed
    expect(ownContainer(labelsOf({ [LABEL.podUid]: undefined }), owner, () => true)).toBe(false);
  });

  it("an older minipod's container (no cluster label) only when its pod is known to this cluster's API", () => {
    const legacy = labelsOf({ [LABEL.cluster]: undefined });
    expect(ownContainer(legacy, owner)).toBe(false); // so never an orphan to remove
    expect(ownContainer(legacy, owner, (uid) => uid === 'uid-2')).toBe(false);
    expect(ownContainer(legacy, owner, (uid) => uid === 'uid-1')).toBe(true);
  });

  it("ownEvent drops another cluster's events on a node of the same name", () => {
    expect(ownEvent(labelsOf({}), owner)).toBe(true);
    expect(ownEvent(labelsOf({ [LABEL.cluster]: 'cluster-b' }), owner)).toBe(false);
    expect(ownEvent(labelsOf({ [LABEL.cluster]: undefined }), owner)).toBe(true);
    expect(ownEvent(labelsOf({ [LABEL.node]: 'x' }), owner)).toBe(false);
  });
});

describe('DockerRuntime.listContainers', () => {
  // A runtime whose Docker client answers a fixed list, and inspects from it.
  function runtime(list: { Id: string; Labels: Record<string, string> }[]) {
    const asked: unknown[] = [];
    const rt = new DockerRuntime('vm');
    const inspect = (id: string) => {
      const c = list.find((x) => x.Id === id)!;
      return { Id: id, Created: '', Image: 'sha', Config: { Labels: c.Labels, Image: 'busybox' }, State: { Running: true, Status: 'running', ExitCode: 0, OOMKilled: false }, NetworkSettings: {} };
    };
    const docker = {
      listContainers: async (o: { filters: { label: string[] } }) => {
        asked.push(o.filters.label);
        return list.map((c) => ({ ...c, State: 'running' }));
      },
      getContainer: (id: string) => ({ inspect: async () => inspect(id) }),
    };
    Object.defineProperty(rt, 'docker', { value: docker });
    return { rt, asked };
  }
  const list = [
    { Id: 'mine', Labels: labelsOf({}) },
    { Id: 'theirs', Labels: labelsOf({ [LABEL.cluster]: 'cluster-b' }) },
    { Id: 'legacy', Labels: labelsOf({ [LABEL.cluster]: undefined }) },
  ];

  it('refuses to list before it knows its cluster', async () => {
    await expect(runtime(list).rt.listContainers()).rejects.toThrow(/cluster/);
  });

  it("lists this cluster's containers, never another's, and an older one's only for its pod", async () => {
    const { rt, asked } = runtime(list);
    rt.cluster = 'cluster-a';
    expect((await rt.listContainers()).map((c) => c.id)).toEqual(['mine']);
    expect((await rt.listContainers('uid-1')).map((c) => c.id).sort()).toEqual(['legacy', 'mine']);
    expect(asked[0]).toEqual(podContainerFilter('vm'));
    expect(asked[1]).toEqual(podContainerFilter('vm', 'uid-1'));
  });

  it('creates containers labelled with its cluster', async () => {
    const created: { Labels: Record<string, string> }[] = [];
    const rt = new DockerRuntime('vm');
    rt.cluster = 'cluster-a';
    Object.defineProperty(rt, 'docker', { value: { createContainer: async (o: { Labels: Record<string, string> }) => (created.push(o), { id: 'c1' }) } });
    await rt.createContainer(pod, { id: 'sb' } as never, { name: 'app', kind: 'app', attempt: 0, hash: 'h', image: 'busybox', env: [], mounts: [] }, false);
    expect(created[0].Labels[LABEL.cluster]).toBe('cluster-a');
    expect(created[0].Labels[LABEL.node]).toBe('vm');
  });
});

describe('node claims', () => {
  const mine: NodeClaim = { node: 'vm', cluster: 'cluster-a', home: '/home/a', socket: '/home/a/minipod.sock', pid: 100, lock: '/home/a/daemon.lock', host: 'h1' };
  const other: NodeClaim = { node: 'vm', cluster: 'cluster-b', home: '/home/b', socket: '/home/b/minipod.sock', pid: 200, lock: '/home/b/daemon.lock', host: 'h1' };

  // Docker's volume semantics: create of an existing name answers the existing one unchanged.
  function store(initial?: NodeClaim) {
    let held = initial;
    const ops: string[] = [];
    return {
      ops,
      get held() {
        return held;
      },
      getClaim: async () => held,
      createClaim: async (c: NodeClaim) => (ops.push(`create ${c.home}`), (held ??= c)),
      removeClaim: async () => (ops.push(`remove ${held?.home}`), (held = undefined)),
    };
  }
  const probe = (p: Partial<HolderProbe>): HolderProbe => ({ hostname: 'h1', socketAnswers: async () => false, pidAlive: () => false, lockHeld: () => false, ...p });

  it('labels round-trip', () => {
    expect(claimFromLabels(claimLabels(mine))).toEqual(mine);
    expect(claimLabels(mine)[LABEL.kind]).toBe('claim');
    expect(claimFromLabels({ foo: 'bar' })).toBeUndefined();
  });

  it('claims a free node name', async () => {
    const s = store();
    await claimNode(s, mine, '--node-name', probe({}));
    expect(s.held).toEqual(mine);
  });

  it('refuses a node name that a live daemon of another cluster holds, naming its home and socket, touching nothing', async () => {
    const s = store(other);
    const err = await claimNode(s, mine, '--node-name', probe({ socketAnswers: async (sock) => sock === other.socket })).catch((e) => e);
    expect(err).toBeInstanceOf(NodeClaimRefused);
    expect(err.message).toContain('MINIPOD_HOME=/home/b');
    expect(err.message).toContain('socket /home/b/minipod.sock');
    expect(err.message).toContain('another --node-name');
    expect(err.message).toContain('another minipod cluster (cluster cluster-b)');
    expect(s.held).toEqual(other);
    expect(s.ops).toEqual([]);
  });

  it('a live pid holding its lock is live even when its socket is silent', async () => {
    expect(await holderLive(other, probe({ pidAlive: () => true, lockHeld: () => true }))).toBe(true);
    expect(await holderLive(other, probe({ pidAlive: () => true, lockHeld: () => undefined }))).toBe(true); // cannot look: assume live
  });

  it('takes over a stale claim: pid gone, or a zombie (pid there, lock dropped)', async () => {
    for (const p of [probe({}), probe({ pidAlive: () => true, lockHeld: () => false })]) {
      const s = store(other);
      await claimNode(s, mine, '--node-name', p);
      expect(s.held).toEqual(mine);
      expect(s.ops).toEqual(['remove /home/b', 'create /home/a']);
    }
  });

  it("takes over its own home's earlier claim even though its socket answers (it is this process's now)", async () => {
    const s = store({ ...mine, pid: 99 });
    await claimNode(s, mine, '--node-name', probe({ socketAnswers: async () => true, pidAlive: () => true, lockHeld: () => true }));
    expect(s.held).toEqual(mine);
  });

  it("a claim from another host cannot be checked from here: refused, with how to remove it", async () => {
    const s = store({ ...other, host: 'h2' });
    const err = await claimNode(s, mine, '--name', probe({})).catch((e) => e);
    expect(err).toBeInstanceOf(NodeClaimRefused);
    expect(err.message).toContain('on host h2');
    expect(err.message).toContain('docker volume rm minipod-claim-vm');
    expect(err.message).toContain('another --name');
  });

  it('a volume of that name that is not a claim is left alone', async () => {
    const s = { getClaim: async () => undefined, createClaim: async () => undefined, removeClaim: async () => expect.unreachable() };
    await expect(claimNode(s, mine, '--node-name', probe({}))).rejects.toThrow(/not a minipod node claim/);
  });

  it('release removes the claim only while it is still this process', async () => {
    const s = store(other);
    await releaseNodeClaim(s, mine);
    expect(s.held).toEqual(other);
    const t = store(mine);
    await releaseNodeClaim(t, mine);
    expect(t.held).toBeUndefined();
  });
});
