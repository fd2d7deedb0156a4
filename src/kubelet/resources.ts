// A container's cgroup settings as the kubelet computes them for the runtime
// (pkg/kubelet/cm/helpers_linux.go, kuberuntime_container_linux.go):
//   requests.cpu  → CPU shares, 1024 per core, between the kernel's 2 and 262144;
//                   no request takes the limit's (as the API server defaults it),
//                   none at all the minimum, 2;
//   limits.cpu    → a CFS quota over a 100 ms period, at least 1 ms;
//   limits.memory → the memory limit, and swap limited to it (no swap on top).
import { milliValue, wholeValue } from '../api/quantity.js';
import type { Container } from '../api/types.js';

export const MIN_SHARES = 2;
export const MAX_SHARES = 262_144;
export const SHARES_PER_CPU = 1024;
export const QUOTA_PERIOD_US = 100_000;
export const MIN_QUOTA_US = 1_000;
/**
 * The kernel's largest CFS quota, 2^44-1 µs (runc fails the start with EINVAL past
 * it). Upstream passes any quota through; minipod holds a larger one here, which
 * limits nothing either.
 */
export const MAX_QUOTA_US = 2 ** 44 - 1;
/**
 * The largest memory limit the kernel keeps (LONG_MAX rounded down to a 4 KiB page:
 * its "no limit"). A larger quantity would not fit Docker's int64.
 */
export const MAX_MEMORY_BYTES = 2 ** 63 - 4096;

export interface LinuxContainerResources {
  cpuShares: number;
  cpuPeriod: number;
  /** 0: no quota. */
  cpuQuota: number;
  /** 0: no limit. */
  memoryLimitBytes: number;
  /** Memory plus swap; equal to the memory limit (0 when there is none). */
  memorySwapLimitBytes: number;
}

/** MilliCPUToShares. */
export function milliCPUToShares(milliCPU: bigint): number {
  if (milliCPU <= 0n) return MIN_SHARES;
  const shares = (milliCPU * BigInt(SHARES_PER_CPU)) / 1000n;
  if (shares < BigInt(MIN_SHARES)) return MIN_SHARES;
  if (shares > BigInt(MAX_SHARES)) return MAX_SHARES;
  return Number(shares);
}

/** milliCPUToQuota: 0 (no quota) without a limit. */
export function milliCPUToQuota(milliCPU: bigint, periodUs = QUOTA_PERIOD_US): number {
  if (milliCPU <= 0n) return 0;
  const quota = (milliCPU * BigInt(periodUs)) / 1000n;
  if (quota < BigInt(MIN_QUOTA_US)) return MIN_QUOTA_US;
  if (quota > BigInt(MAX_QUOTA_US)) return MAX_QUOTA_US;
  return Number(quota);
}

/** limits.memory in bytes (Value(): rounded up), 0 for none. */
export function memoryLimitBytes(limit: string | number | undefined): number {
  if (limit === undefined) return 0;
  const bytes = wholeValue(limit);
  if (bytes <= 0n) return 0;
  return bytes > BigInt(MAX_MEMORY_BYTES) ? MAX_MEMORY_BYTES : Number(bytes);
}

function milli(q: string | number | undefined): bigint {
  return q === undefined ? 0n : milliValue(q);
}

export function linuxContainerResources(c: Pick<Container, 'resources'>): LinuxContainerResources {
  const request = milli(c.resources?.requests?.cpu);
  const limit = milli(c.resources?.limits?.cpu);
  // A pod stored before the API server defaulted requests: the kubelet repeats that default.
  const shares = milliCPUToShares(request <= 0n && limit > 0n ? limit : request);
  const memory = memoryLimitBytes(c.resources?.limits?.memory);
  return {
    cpuShares: shares,
    cpuPeriod: QUOTA_PERIOD_US,
    cpuQuota: milliCPUToQuota(limit),
    memoryLimitBytes: memory,
    memorySwapLimitBytes: memory,
  };
}
