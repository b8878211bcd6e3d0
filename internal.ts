/**
 * `privateer/internal`: everything the main entry exports plus the pieces
 * behind it (the Majordomo broker engine, MDP and PPP wire encoders and
 * constants, the link seam). Meant for tests, tools and wire-level peers; it
 * carries no stability promise between minor versions.
 *
 * @packageDocumentation
 */
export * from "./index";
export * from "./patterns/internal";
