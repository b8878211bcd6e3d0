import { BehaviorSubject, Subject, type Observable } from "rxjs";
import type { Logger } from "pino";

/**
 * The event stream, the state and the close contract a pattern component
 * (queue, worker) keeps, written once:
 * - `events$` is hot and ends with `{ type: "close" }`, then completes;
 * - `state$` replays the current state and completes after "closed";
 * - close() goes to "closed" at once, releases the component's sockets,
 *   then emits `close` and completes both streams, and only then settles;
 *   calling it again returns the same promise.
 */
export class Lifecycle<Event extends { readonly type: string }, State extends string> {
  readonly events$: Observable<Event>;
  readonly state$: Observable<State>;

  private readonly events = new Subject<Event>();
  private readonly states: BehaviorSubject<State>;
  private released?: Promise<void>;

  constructor(
    initial: State,
    private readonly logger: Logger,
  ) {
    this.states = new BehaviorSubject<State>(initial);
    this.events$ = this.events.asObservable();
    this.state$ = this.states.asObservable();
  }

  get state(): State {
    return this.states.value;
  }

  /** True once close() was called. */
  get closing(): boolean {
    return this.released !== undefined;
  }

  /** The promise close() returned, once it was called. */
  get closed(): Promise<void> | undefined {
    return this.released;
  }

  enter(state: State): void {
    this.states.next(state);
  }

  emit(event: Event): void {
    // The event itself is the log record, as each component logged it before.
    this.logger.debug(event as object, event.type);
    this.events.next(event);
  }

  /**
   * Enters "closed", runs `release` (which closes the sockets and settles
   * once they are released), then ends both streams. Once only.
   */
  close(closed: State, release: () => Promise<unknown>): Promise<void> {
    if (this.released) return this.released;
    this.states.next(closed);
    this.released = release().then(() => {
      // Every component's event union has this last event; the type parameter cannot say so.
      this.emit({ type: "close" } as unknown as Event);
      this.events.complete();
      this.states.complete();
    });
    return this.released;
  }
}
