/** Data shared by the crash child and the test: deterministic, so a re-append after a crash is an identical duplicate. */
export const CRASH_SERIES = 20;
export const crashTime = (it: number): number => 1_700_000_000_000 + it * 100;
export const crashValue = (it: number, s: number): number => it * 1000 + s + 0.5;
