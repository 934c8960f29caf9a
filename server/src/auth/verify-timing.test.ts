import { describe, expect, it } from 'vitest';
import { VerifyTiming } from './verify-timing.ts';

const A = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };
const B = { ...A, timeCost: 16 };

describe('VerifyTiming', () => {
  it('stretches nothing while there is one set and nothing timed', () => {
    const timing = new VerifyTiming(A);
    expect(timing.floorMs()).toBe(0);
    expect(timing.stretches(A)).toBe(false);
  });

  it('stretches verifications at a cheaper stored set to the current set, and unreadable ones', () => {
    const timing = new VerifyTiming(B, [A]);
    for (let i = 0; i < 5; i++) timing.record(B, 200);
    expect(timing.floorMs()).toBe(200);
    expect(timing.stretches(A)).toBe(true);
    expect(timing.stretches(B)).toBe(false);
    expect(timing.stretches(null)).toBe(true);
  });

  it('stretches the current set to a slower stored one, its cost assumed from m × t until timed', () => {
    const timing = new VerifyTiming(A, [B]);
    timing.record(A, 25);
    expect(timing.floorMs()).toBe(200); // 8 × 25 ms
    expect(timing.stretches(A)).toBe(true);
    expect(timing.stretches(B)).toBe(false);
    timing.record(B, 150); // measured: 6 × the current set
    expect(timing.floorMs()).toBe(150);
  });

  it('learns a set first seen in a stored hash', () => {
    const timing = new VerifyTiming(A);
    timing.record(A, 25);
    expect(timing.floorMs()).toBe(25);
    timing.add(B);
    expect(timing.floorMs()).toBe(200);
    expect(timing.inUse()).toEqual([A, B]);
  });

  it('takes the median of the recent times, so one outlier does not move the floor', () => {
    const timing = new VerifyTiming(A, [B]);
    timing.calibrate([
      { set: A, ms: 20 },
      { set: B, ms: 160 },
      { set: A, ms: 500 }, // a burst of requests took the core
      { set: B, ms: 170 },
      { set: A, ms: 21 },
      { set: B, ms: 800 },
    ]);
    // A: median 21 ms; B: median 170 ms, so 170 / 21 times A.
    expect(timing.floorMs()).toBeCloseTo(170, 5);
    timing.record(A, 30);
    timing.record(A, 30);
    expect(timing.floorMs()).toBeCloseTo((30 * 170) / 21, 5);
  });

  it('follows a lasting change of speed within a few verifications', () => {
    const timing = new VerifyTiming(A);
    for (let i = 0; i < 15; i++) timing.record(A, 20);
    for (let i = 0; i < 8; i++) timing.record(A, 60);
    expect(timing.floorMs()).toBe(60);
  });
});
