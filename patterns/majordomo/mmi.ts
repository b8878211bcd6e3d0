import type { ServiceRegistry } from "./service-registry";

/** The reserved namespace (8/MMI): the broker answers these services itself. */
export const MMI_PREFIX = "mmi.";

/** True for service names in the `mmi.` namespace. */
export function isMmiService(service: string): boolean {
  return service.startsWith(MMI_PREFIX);
}

/**
 * Answers an MMI request; returns the reply body.
 *
 * - `mmi.service` (8/MMI): body[0] names a service; "200" if a worker is registered for it, else "404".
 * - `mmi.services` (ours): one frame, a JSON array of `{name, workers, idle, queued}` for every known service.
 * - any other `mmi.*`: "501".
 */
export function answerMmi(service: string, body: readonly Buffer[], registry: ServiceRegistry): Buffer[] {
  switch (service) {
    case "mmi.service": {
      const name = body[0]?.toString() ?? "";
      return [Buffer.from(registry.hasWorkers(name) ? "200" : "404")];
    }
    case "mmi.services":
      return [Buffer.from(JSON.stringify(registry.status()))];
    default:
      return [Buffer.from("501")];
  }
}
