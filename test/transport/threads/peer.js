// Worker-thread entry for the cross-thread inproc tests: lets the worker load
// the TypeScript sources (transpiled on require, like the exactly-once
// fixtures' child processes), then runs the fixture named in workerData.
require("../../patterns/exactly-once/fixtures/ts-register.js");
const { workerData } = require("node:worker_threads");
require(require("node:path").join(__dirname, workerData.fixture));
