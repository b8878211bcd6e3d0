import pino, { type Logger } from "pino";

export type { Logger } from "pino";

/**
 * The logger used when the user gives none. Silent: a library must not write
 * to the application's stdout unless asked to.
 */
let rootLogger: Logger = pino({ level: "silent" });

/** Sets the logger every socket created afterwards derives its child loggers from. */
export function setLogger(logger: Logger): void {
  rootLogger = logger;
}

/** The logger for one component, e.g. `componentLogger("socket", { type: "DEALER" })`. */
export function componentLogger(component: string, bindings: Record<string, unknown> = {}, parent?: Logger): Logger {
  return (parent ?? rootLogger).child({ component, ...bindings });
}
