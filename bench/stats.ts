// Medians, quartiles and ratios: every figure the benchmarks print is a ratio
// against a baseline measured in the same run, over repeated runs.

export interface Summary {
  n: number;
  median: number;
  p25: number;
  p75: number;
  min: number;
  max: number;
}

export function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, median: quantile(s, 0.5), p25: quantile(s, 0.25), p75: quantile(s, 0.75), min: s[0] ?? NaN, max: s.at(-1) ?? NaN };
}

export const median = (values: number[]): number => summarize(values).median;

/**
 * Ratios of paired samples (run i of the subject against run i of the baseline,
 * taken back to back, so slow phases of a noisy machine hit both alike).
 */
export function pairedRatios(subject: number[], baseline: number[]): number[] {
  const n = Math.min(subject.length, baseline.length);
  return Array.from({ length: n }, (_, i) => subject[i] / baseline[i]);
}
