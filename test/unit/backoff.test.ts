import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/kubelet/backoff.js';
import type { Clock } from '../../src/kubelet/clock.js';

function fakeClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    setTimeout: () => 0 as unknown as NodeJS.Timeout,
    clearTimeout: () => {},
    advance: (ms) => (now += ms),
  };
}

describe('crash-loop back-off', () => {
  it('doubles from 10 s to a 300 s cap', () => {
    const clock = fakeClock();
    const b = new Backoff(clock);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      b.next('c');
      delays.push(b.get('c') / 1000);
      clock.advance(1000);
    }
    expect(delays).toEqual([10, 20, 40, 80, 160, 300, 300, 300]);
  });

  it('holds a restart back until the delay since the exit has passed', () => {
    const clock = fakeClock();
    const b = new Backoff(clock);
    const exitedAt = clock.now();
    expect(b.isInBackOffSince('c', exitedAt)).toBe(false); // the first restart is immediate
    b.next('c');
    expect(b.isInBackOffSince('c', exitedAt)).toBe(true);
    clock.advance(9_999);
    expect(b.isInBackOffSince('c', exitedAt)).toBe(true);
    expect(b.remaining('c', exitedAt)).toBe(1);
    clock.advance(1);
    expect(b.isInBackOffSince('c', exitedAt)).toBe(false);
  });

  it('starts again from 10 s after 10 minutes without trouble', () => {
    const clock = fakeClock();
    const b = new Backoff(clock);
    for (let i = 0; i < 5; i++) b.next('c');
    expect(b.get('c')).toBe(160_000);
    clock.advance(600_001);
    expect(b.isInBackOffSince('c', clock.now())).toBe(false);
    b.next('c');
    expect(b.get('c')).toBe(10_000);
  });

  it('forgets a pod', () => {
    const b = new Backoff(fakeClock());
    b.next('uid1/a');
    b.next('uid2/a');
    b.forget('uid1/');
    expect(b.get('uid1/a')).toBe(0);
    expect(b.get('uid2/a')).toBe(10_000);
  });
});
