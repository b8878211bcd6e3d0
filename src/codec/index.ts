export * from "./frame";
export * from "./greeting";
export * from "./metadata";
export * from "./command";
export * from "./frame-decoder";
export * from "./frame-encoder";
export * from "./subscription";
