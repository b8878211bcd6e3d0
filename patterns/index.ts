export * from "./pirate";
export * from "./majordomo";
