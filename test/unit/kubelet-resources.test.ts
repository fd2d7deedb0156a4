// Resources as the kubelet sets them: quantities read exactly (apimachinery's
// rounding), requests.cpu → CPU shares, limits.cpu → CFS quota, limits.memory →
// memory limit without swap, the QoS class, and the API server's default of a
// request to its limit. Tables of upstream's values.
import { describe, expect, it } from 'vitest';
import { applyPodDefaults } from '../../src/api/defaults.js';
import { podQOSClass } from '../../src/api/qos.js';
import { milliValue, quantityNanos, QuantityError, wholeValue } from '../../src/api/quantity.js';
import type { Container, Pod } from '../../src/api/types.js';
import {
  MAX_MEMORY_BYTES,
  MAX_QUOTA_US,
  linuxContainerResources,
  memoryLimitBytes,
  milliCPUToQuota,
  milliCPUToShares,
} from '../../src/kubelet/resources.js';
import { generatePodStatus } from '../../src/kubelet/status.js';

describe('quantities, exactly', () => {
  it.each([
    ['100m', 100n, 1n],
    ['0.1', 100n, 1n],
    ['1.1', 1100n, 2n], // a float would make 1100.0000000000002 of it
    ['300m', 300n, 1n],
    ['1', 1000n, 1n],
    [2, 2000n, 2n],
    [0.5, 500n, 1n],
    ['1n', 1n, 1n], // MilliValue and Value round up
    ['1u', 1n, 1n],
    ['0.0000000001', 1n, 1n], // below a nano unit: parsed as one
    ['1500u', 2n, 1n],
    ['64Mi', 67108864000n, 67108864n],
    ['1.5Gi', 1610612736000n, 1610612736n],
    ['1e3', 1000000n, 1000n],
    ['1E', 1000000000000000000000n, 1000000000000000000n],
    ['1k', 1000000n, 1000n],
    ['0', 0n, 0n],
    ['-1', -1000n, -1n],
  ] as const)('%s: milli %s, value %s', (q, milli, whole) => {
    expect(milliValue(q)).toBe(milli);
    expect(wholeValue(q)).toBe(whole);
  });

  it('holds absurd magnitudes at 10^60 nano units instead of expanding them', () => {
    const t = Date.now();
    expect(quantityNanos('1e999999999')).toBe(10n ** 60n);
    expect(quantityNanos('1e61')).toBe(10n ** 60n);
    expect(quantityNanos('99999Ei')).toBe(99999n * 2n ** 60n * 10n ** 9n); // large, still exact
    expect(quantityNanos('1e-999999999')).toBe(1n);
    expect(Date.now() - t).toBeLessThan(1000);
  });

  it.each(['64MB', '', '1.2.3', 'cpu', '--1'])('refuses %j', (q) => {
    expect(() => quantityNanos(q)).toThrow(QuantityError);
  });
});

describe('requests.cpu → CPU shares (MilliCPUToShares)', () => {
  it.each([
    [0n, 2], // no request: the minimum, not Docker's 1024
    [1n, 2],
    [2n, 2], // 2*1024/1000 = 2.048
    [3n, 3],
    [10n, 10],
    [100n, 102],
    [250n, 256],
    [500n, 512],
    [1000n, 1024],
    [1500n, 1536],
    [256000n, 262144],
    [257000n, 262144], // the kernel's maximum
    [100000000n, 262144],
    [-5n, 2],
  ])('%s millicores → %s', (milli, shares) => {
    expect(milliCPUToShares(milli)).toBe(shares);
  });
});

describe('limits.cpu → CFS quota over 100 ms (milliCPUToQuota)', () => {
  it.each([
    [0n, 0], // no limit: no quota
    [1n, 1000], // at least 1 ms
    [5n, 1000],
    [10n, 1000],
    [11n, 1100],
    [250n, 25000],
    [500n, 50000],
    [1000n, 100000],
    [2500n, 250000],
    [100000000n, 10000000000], // 100000 cores: passed on, as upstream
    [10n ** 15n, MAX_QUOTA_US], // past the kernel's 2^44-1 µs: held there
  ])('%s millicores → %s µs', (milli, quota) => {
    expect(milliCPUToQuota(milli)).toBe(quota);
  });
});

describe('limits.memory → bytes', () => {
  it.each([
    [undefined, 0],
    ['0', 0],
    ['1', 1], // refused by Docker (its minimum is 6 MB): the kubelet passes it on
    ['1m', 1], // a thousandth of a byte rounds up
    ['64Mi', 67108864],
    ['1G', 1000000000],
    ['8Ei', MAX_MEMORY_BYTES],
    ['1e30', MAX_MEMORY_BYTES],
  ] as const)('%s → %s', (q, bytes) => {
    expect(memoryLimitBytes(q)).toBe(bytes);
  });
});

describe('the container config (calculateLinuxResources)', () => {
  const c = (resources: Container['resources']) => ({ resources });
  it.each([
    ['nothing', undefined, { cpuShares: 2, cpuQuota: 0, memoryLimitBytes: 0, memorySwapLimitBytes: 0 }],
    ['a request', { requests: { cpu: '250m', memory: '32Mi' } }, { cpuShares: 256, cpuQuota: 0, memoryLimitBytes: 0, memorySwapLimitBytes: 0 }],
    ['limits only: shares from the limit', { limits: { cpu: '500m', memory: '64Mi' } }, { cpuShares: 512, cpuQuota: 50000, memoryLimitBytes: 67108864, memorySwapLimitBytes: 67108864 }],
    ['a zero request: shares from the limit', { limits: { cpu: '2' }, requests: { cpu: '0' } }, { cpuShares: 2048, cpuQuota: 200000, memoryLimitBytes: 0, memorySwapLimitBytes: 0 }],
    ['request and limit', { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '100m', memory: '100Mi' } }, { cpuShares: 102, cpuQuota: 100000, memoryLimitBytes: 1073741824, memorySwapLimitBytes: 1073741824 }],
    ['a huge limit, a small request', { limits: { cpu: '100000' }, requests: { cpu: '100m' } }, { cpuShares: 102, cpuQuota: 10000000000, memoryLimitBytes: 0, memorySwapLimitBytes: 0 }],
  ] as const)('%s', (_, resources, want) => {
    expect(linuxContainerResources(c(resources as Container['resources']))).toEqual({ cpuPeriod: 100000, ...want });
  });
});

function pod(containers: Container['resources'][], init: Container['resources'][] = []): Pod {
  const c = (resources: Container['resources'], i: number, p: string): Container => ({ name: `${p}${i}`, image: 'busybox:1.36', ...(resources ? { resources } : {}) });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'u' },
    spec: { containers: containers.map((r, i) => c(r, i, 'c')), initContainers: init.length ? init.map((r, i) => c(r, i, 'i')) : undefined },
  } as Pod;
}

describe('the QoS class (GetPodQOS)', () => {
  const both = { cpu: '100m', memory: '64Mi' };
  it.each([
    ['no resources', [undefined], [], 'BestEffort'],
    ['only ephemeral-storage', [{ limits: { 'ephemeral-storage': '1Gi' } }], [], 'BestEffort'],
    ['zero quantities', [{ limits: { cpu: '0' }, requests: { memory: '0' } }], [], 'BestEffort'],
    ['limits = requests', [{ limits: both, requests: both }], [], 'Guaranteed'],
    ['limits only (requests default to them)', [{ limits: both }], [], 'Guaranteed'],
    ['equal in another notation', [{ limits: { cpu: '0.1', memory: '67108864' }, requests: both }], [], 'Guaranteed'],
    ['a lower request', [{ limits: both, requests: { cpu: '50m' } }], [], 'Burstable'],
    ['only a memory limit', [{ limits: { memory: '64Mi' } }], [], 'Burstable'],
    ['only a request', [{ requests: { memory: '10Mi' } }], [], 'Burstable'],
    ['one container without limits', [{ limits: both }, undefined], [], 'Burstable'],
    ['an init container without limits', [{ limits: both }], [undefined], 'Burstable'],
    ['an init container with its own limits', [{ limits: both }], [{ limits: both }], 'Guaranteed'],
    ['an init container with only a request', [undefined], [{ requests: { cpu: '1' } }], 'Burstable'],
  ] as const)('%s → %s', (_, containers, init, want) => {
    const p = pod(containers as unknown as Container['resources'][], init as unknown as Container['resources'][]);
    expect(podQOSClass(p)).toBe(want);
    expect(podQOSClass(applyPodDefaults(structuredClone(p)))).toBe(want); // the same once defaulted
  });

  it('is reported by the kubelet in status.qosClass', () => {
    const status = generatePodStatus({ pod: pod([{ limits: both }]), containers: [], waiting: new Map(), now: new Date() }, undefined);
    expect(status.qosClass).toBe('Guaranteed');
  });
});

describe("the API server's default: a limit without a request becomes the request", () => {
  it.each([
    [{ limits: { cpu: '500m', memory: '64Mi' } }, { cpu: '500m', memory: '64Mi' }],
    [{ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '100m' } }, { cpu: '100m', memory: '1Gi' }],
    [{ limits: { 'ephemeral-storage': '1Gi' } }, { 'ephemeral-storage': '1Gi' }],
    [{ requests: { cpu: '100m' } }, { cpu: '100m' }],
    [{ limits: {} }, undefined],
  ] as const)('%j → requests %j', (resources, requests) => {
    const p = applyPodDefaults(pod([structuredClone(resources) as Container['resources']], [structuredClone(resources) as Container['resources']]));
    expect(p.spec.containers[0].resources?.requests).toEqual(requests);
    expect(p.spec.initContainers![0].resources?.requests).toEqual(requests);
  });
});
