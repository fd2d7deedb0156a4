// Time as a dependency, so that back-off, probe periods and grace periods can be
// driven by fake timers in unit tests.
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): NodeJS.Timeout;
  clearTimeout(t: NodeJS.Timeout): void;
}

/**
 * Node runs a timer longer than 2^31-1 ms (24.8 days) after 1 ms: an
 * activeDeadlineSeconds of 30 days made a pod worker sync a thousand times a
 * second. Longer timers wake at 24.8 days instead; their callers check the time.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(ms, MAX_TIMER_MS)),
  clearTimeout: (t) => clearTimeout(t),
};
