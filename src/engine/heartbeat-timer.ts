import type { SchedulerLike, Subscription } from "rxjs";

export interface HeartbeatSettings {
  /** ms between PINGs we send; 0 disables them. */
  readonly interval: number;
  /** ms we wait for any traffic after a PING before giving up; <= 0 means "same as interval". */
  readonly timeout: number;
}

export interface HeartbeatCallbacks {
  sendPing(): void;
  /** The peer has been silent too long. */
  expired(why: "timeout" | "ttl"): void;
}

/**
 * The timers of ZMTP heartbeating (RFC 37, "Connection Heartbeating"), kept
 * apart from the engine so they can be driven in virtual time.
 *
 * Any received traffic counts as life. After each PING we allow `timeout` ms
 * for something to arrive; independently, a peer that sent a TTL in its PING
 * is dropped when it stays silent for longer than that TTL.
 */
export class HeartbeatTimer {
  private lastTraffic: number;
  private pingTimer?: Subscription;
  private timeoutTimer?: Subscription;
  private ttlTimer?: Subscription;
  private ttl = 0;
  private stopped = false;

  constructor(
    private readonly settings: HeartbeatSettings,
    private readonly scheduler: SchedulerLike,
    private readonly callbacks: HeartbeatCallbacks,
  ) {
    this.lastTraffic = scheduler.now();
  }

  start(): void {
    if (this.settings.interval > 0) this.schedulePing();
  }

  /** Call on every frame received. */
  traffic(): void {
    this.lastTraffic = this.scheduler.now();
  }

  /** The peer's PING carried this TTL in ms (0 = none). */
  peerTtl(ms: number): void {
    if (ms <= 0 || this.stopped) return;
    this.ttl = ms;
    if (!this.ttlTimer) this.armTtl(ms);
  }

  stop(): void {
    this.stopped = true;
    this.pingTimer?.unsubscribe();
    this.timeoutTimer?.unsubscribe();
    this.ttlTimer?.unsubscribe();
  }

  private schedulePing(): void {
    this.pingTimer = this.scheduler.schedule(() => {
      if (this.stopped) return;
      const sentAt = this.scheduler.now();
      this.callbacks.sendPing();
      if (!this.timeoutTimer || this.timeoutTimer.closed) {
        const timeout = this.settings.timeout > 0 ? this.settings.timeout : this.settings.interval;
        this.timeoutTimer = this.scheduler.schedule(() => {
          // An RxJS action that has run is not `closed`, so forget it here or no later PING would arm a check.
          this.timeoutTimer = undefined;
          if (!this.stopped && this.lastTraffic <= sentAt) this.callbacks.expired("timeout");
        }, timeout);
      }
      this.schedulePing();
    }, this.settings.interval);
  }

  private armTtl(delay: number): void {
    this.ttlTimer = this.scheduler.schedule(() => {
      this.ttlTimer = undefined;
      if (this.stopped) return;
      const silent = this.scheduler.now() - this.lastTraffic;
      if (silent >= this.ttl) this.callbacks.expired("ttl");
      else this.armTtl(this.ttl - silent);
    }, delay);
  }
}
