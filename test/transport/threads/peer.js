// Worker-thread entry for the cross-thread inproc tests and examples: loads the
// TypeScript sources by transpiling each .ts file to CommonJS on require (no
// type checking: the test run's tsc does that), then runs the file named in
// workerData.fixture. Transpiled output is cached on disk by content hash,
// since every worker thread starts with an empty module cache and
// transpiling the library takes seconds.
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { workerData } = require("node:worker_threads");
const ts = require("typescript");

const cacheDir = path.join(os.tmpdir(), `privateer-ts-cache-${ts.version}`);
fs.mkdirSync(cacheDir, { recursive: true });

require.extensions[".ts"] = (module, filename) => {
  const source = fs.readFileSync(filename, "utf8");
  const key = createHash("sha1").update(filename).update("\0").update(source).digest("hex");
  const cached = path.join(cacheDir, `${key}.js`);
  let output;
  try {
    output = fs.readFileSync(cached, "utf8");
  } catch {
    output = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    // Written aside and renamed, so a concurrent reader never sees half a file.
    const temporary = `${cached}.${process.pid}.${require("node:worker_threads").threadId}`;
    fs.writeFileSync(temporary, output);
    fs.renameSync(temporary, cached);
  }
  module._compile(output, filename);
};

require(path.resolve(__dirname, workerData.fixture));
