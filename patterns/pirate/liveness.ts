/**
 * Counts heartbeat intervals that passed in silence. The owner calls
 * `tick()` once per interval and `heard()` on any traffic from the peer; the
 * peer is dead after `liveness` silent intervals in a row. Pure state, no
 * timers, so both the queue and the worker share it and tests drive it
 * directly.
 */
export class Liveness {
  private left: number;
  private heardSinceTick = true;

  constructor(readonly liveness: number) {
    this.left = liveness;
  }

  /** Silent intervals still allowed before the peer is declared dead. */
  get remaining(): number {
    return this.left;
  }

  get dead(): boolean {
    return this.left <= 0;
  }

  /** Any message from the peer is a sign of life (RFC 6 peers may treat every message as a heartbeat). */
  heard(): void {
    this.left = this.liveness;
    this.heardSinceTick = true;
  }

  /**
   * Closes one interval. Returns "alive" if the peer spoke during it,
   * "missed" if it did not but has credit left, "dead" when the credit ran out.
   */
  tick(): "alive" | "missed" | "dead" {
    if (this.heardSinceTick) {
      this.heardSinceTick = false;
      return "alive";
    }
    this.left = Math.max(0, this.left - 1);
    return this.left === 0 ? "dead" : "missed";
  }
}
