/** Settings both projects share. */
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  // "privateer" and "privateer/internal" resolve to the sources, as the
  // tsconfig paths do, so tests import the package by name.
  moduleNameMapper: {
    "^privateer$": "<rootDir>/index.ts",
    "^privateer/internal$": "<rootDir>/internal.ts",
    "^privateer/metrics$": "<rootDir>/patterns/metrics/index.ts",
    "^privateer/exactly-once$": "<rootDir>/patterns/exactly-once/index.ts",
  },
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...common,
      displayName: "unit",
      roots: ["<rootDir>/test"],
      testMatch: ["**/*.test.ts"],
    },
    {
      // Containers and real process faults (docs/chaos.md). testTimeout is a
      // global option, so each chaos test passes its own generous timeout; the
      // suite is one file, so its scenarios run one after another.
      // Just this project: npx jest --selectProjects chaos --runInBand
      ...common,
      displayName: "chaos",
      roots: ["<rootDir>/chaos"],
      testMatch: ["**/*.test.ts"],
      // chaos/build holds the compiled copy of the sources that the containers run.
      modulePathIgnorePatterns: ["<rootDir>/chaos/build/"],
    },
  ],
  testTimeout: 20000,
  // Two test files at a time. Jest's default on a 2-core machine is one (cores - 1), but most suites
  // spend their time waiting on sockets, child processes and containers, not computing; two halve
  // the wall time of `npm test` there.
  maxWorkers: 2,
  // Lists the suites skipped for a missing peer (pyzmq, Docker) and how to install it.
  reporters: ["default", "<rootDir>/test/helpers/skip-summary-reporter.js"],
};
