import type { Argon2Params } from '../config.ts';
import { paramsKey } from './argon2-params.ts';

interface SetTiming {
  params: Argon2Params;
  /** Time of one verification at this set ÷ time of one at the current set. */
  ratio: number;
  /** False while the ratio is only assumed from m × t. */
  measured: boolean;
}

const cost = (p: Argon2Params) => p.memoryCost * p.timeCost;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/**
 * How long one argon2 verification takes at each parameter set in use, so that every verification
 * can be made to last as long as one at the slowest of them (decision 005).
 *
 * After a parameter change the users table holds hashes at older parameters until each user signs
 * in again, while unknown users are checked against a dummy at the current ones: unequalled, a
 * wrong password for a user not yet rehashed takes a different time than one for an unknown user.
 *
 * The current set's time is the median of its last few verifications: it follows the machine's
 * load, and one slow outlier (a cold start, a burst of requests) does not move it. Every other set
 * is known by its cost relative to the current one, measured (calibration, then a moving average
 * over the verifications of its hashes) and until then assumed from m × t.
 */
export class VerifyTiming {
  private readonly currentKey: string;
  /** The current set's latest verification times, oldest first. */
  private readonly recent: number[] = [];
  private readonly sets = new Map<string, SetTiming>();

  constructor(
    private readonly current: Argon2Params,
    inUse: Argon2Params[] = [],
    private readonly window = 15,
    private readonly weight = 0.2,
  ) {
    this.currentKey = paramsKey(current);
    this.sets.set(this.currentKey, { params: current, ratio: 1, measured: true });
    for (const set of inUse) this.add(set);
  }

  /** A set found in a stored hash joins those in use, until the process ends. */
  add(set: Argon2Params): void {
    const key = paramsKey(set);
    if (this.sets.has(key)) return;
    const ratio = cost(set) / cost(this.current);
    this.sets.set(key, { params: set, ratio, measured: false });
  }

  /** The sets in use, the current one first. */
  inUse(): Argon2Params[] {
    return [...this.sets.values()].map((s) => s.params);
  }

  /** One verification at `set` took `ms` (dispatch to reply). */
  record(set: Argon2Params, ms: number): void {
    this.add(set);
    const key = paramsKey(set);
    if (key === this.currentKey) {
      this.recent.push(ms);
      if (this.recent.length > this.window) this.recent.shift();
      return;
    }
    const entry = this.sets.get(key);
    const currentMs = median(this.recent);
    if (!entry || currentMs === 0) return;
    const sample = ms / currentMs;
    entry.ratio = entry.measured ? (1 - this.weight) * entry.ratio + this.weight * sample : sample;
    entry.measured = true;
  }

  /** Sets the timings from samples taken back to back on an idle hasher (medians per set). */
  calibrate(samples: Array<{ set: Argon2Params; ms: number }>): void {
    const byKey = new Map<string, number[]>();
    for (const { set, ms } of samples) {
      this.add(set);
      byKey.set(paramsKey(set), [...(byKey.get(paramsKey(set)) ?? []), ms]);
    }
    const currentTimes = byKey.get(this.currentKey) ?? [];
    const current = median(currentTimes);
    if (current <= 0) return;
    this.recent.splice(0, this.recent.length, ...currentTimes.slice(-this.window));
    for (const [key, times] of byKey) {
      const entry = this.sets.get(key);
      if (entry && key !== this.currentKey) {
        entry.ratio = median(times) / current;
        entry.measured = true;
      }
    }
  }

  /** Expected duration of one verification at the slowest set in use; 0 before any was timed. */
  floorMs(): number {
    return median(this.recent) * this.slowestRatio();
  }

  /**
   * Whether a verification against `set` must be stretched to floorMs(): every set but the
   * slowest, and a hash this server cannot read (`null`; refused at once).
   */
  stretches(set: Argon2Params | null): boolean {
    if (set === null) return true;
    const ratio = this.sets.get(paramsKey(set))?.ratio ?? 0;
    return ratio < this.slowestRatio();
  }

  private slowestRatio(): number {
    return Math.max(...[...this.sets.values()].map((s) => s.ratio));
  }
}
