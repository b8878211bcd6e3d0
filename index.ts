/**
 * Privateer: ZeroMQ (ZMTP 3.1) in pure TypeScript, wire-compatible with
 * libzmq, with the socket API of zeromq.js v6, plus the reliability patterns of
 * the ZeroMQ guide as RxJS streams. This is the package's main entry
 * (`import { Dealer, MajordomoBroker } from "privateer"`).
 *
 * It lives at the root, not in src/, because the patterns themselves import
 * the sockets from src/: re-exporting both from here keeps the graph acyclic.
 *
 * @packageDocumentation
 * @module privateer
 */
export * from "./src";
export * from "./patterns";
