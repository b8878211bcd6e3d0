/**
 * The reliability patterns of the ZeroMQ guide, public names only. A new
 * pattern module adds one `export *` line here and, if it has internals, one
 * in `./internal`.
 */
export * from "./pirate";
export * from "./majordomo";
export * from "./binary-star";
