/**
 * When to shrink a per-target buffer that is reused across scrapes (the fetch buffer, the
 * gunzip output): after 8 uses in a row that filled under a quarter of it, to half its
 * size (never below `min`), so a one-off huge body does not pin memory for good.
 */
export class ShrinkPolicy {
  private readonly min: number;
  /** Consecutive uses under a quarter of the buffer. */
  private smallRuns: number;

  constructor(min: number) {
    this.min = min;
    this.smallRuns = 0;
  }

  /** After a use of `used` bytes of a `cap`-byte buffer: the capacity to shrink to, or 0 to keep it. */
  after(used: number, cap: number): number {
    if (cap > this.min && used * 4 < cap) {
      if (++this.smallRuns >= 8) {
        this.smallRuns = 0;
        return Math.max(this.min, cap >>> 1);
      }
    } else this.smallRuns = 0;
    return 0;
  }
}
