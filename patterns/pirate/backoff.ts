/**
 * The reconnect delay of a Paranoid Pirate worker: starts at `initial`,
 * doubles after each use up to `max`, and returns to `initial` once the
 * queue is heard from again.
 */
export class Backoff {
  private current: number;

  constructor(
    readonly initial: number,
    readonly max: number,
  ) {
    this.current = initial;
  }

  /** The delay to wait now; the next call returns double (capped). */
  next(): number {
    const delay = this.current;
    this.current = Math.min(this.current * 2, this.max);
    return delay;
  }

  reset(): void {
    this.current = this.initial;
  }
}
