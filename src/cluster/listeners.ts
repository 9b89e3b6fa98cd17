/**
 * A typed list of callbacks. Used instead of EventEmitter so that an 'error' event with no
 * listener never throws, and a throwing listener never breaks the component that emits.
 */
export class Listeners<A extends unknown[]> {
  private fns: Array<(...args: A) => void>;
  private readonly onThrow: (e: unknown) => void;

  constructor(onThrow: (e: unknown) => void) {
    this.fns = [];
    this.onThrow = onThrow;
  }

  /** Adds `fn`; returns a function that removes it. */
  add(fn: (...args: A) => void): () => void {
    this.fns.push(fn);
    return () => {
      this.fns = this.fns.filter((f) => f !== fn);
    };
  }

  get size(): number {
    return this.fns.length;
  }

  /** Calls every listener synchronously, in order; exceptions go to `onThrow`. */
  emit(...args: A): void {
    for (const fn of this.fns.slice()) {
      try {
        fn(...args);
      } catch (e) {
        this.onThrow(e);
      }
    }
  }
}
