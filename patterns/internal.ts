/** Internals of every pattern module (see `privateer/internal`). */
export * from "./pirate/internal";
export * from "./majordomo/internal";
export * from "./binary-star/internal";
