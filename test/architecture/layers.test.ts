import { checkLayers, readSources, relativeImports, repositoryRoot } from "./layers";

const tree = readSources(repositoryRoot(), ["src", "patterns"]);

describe("layering (docs/architecture.md)", () => {
  it("reads the whole of src/ and patterns/", () => {
    // A walk that silently found nothing would make the rule pass vacuously.
    expect(tree.size).toBeGreaterThan(100);
    expect(tree.has("src/socket/socket-base.ts")).toBe(true);
    expect(tree.has("patterns/majordomo/broker.ts")).toBe(true);
  });

  it("every import in src/ and patterns/ points down or stays in its folder", () => {
    expect(checkLayers(tree)).toEqual([]);
  });

  it("finds static, type-only, dynamic, side-effect and require imports", () => {
    const text = [
      'import { a } from "./a";',
      'import type { B } from "../b";',
      'export { c } from "./c";',
      'const d = await import("../d");',
      'import "./e";',
      'const f = require("./f");',
      'import { g } from "rxjs";',
    ].join("\n");
    expect(relativeImports(text)).toEqual(["./a", "../b", "./c", "../d", "./e", "./f"]);
  });

  describe("negative controls: the rule catches each kind of breach in the real tree", () => {
    // The check runs over the whole tree with one line added to one file; only that file's findings are compared,
    // so each control says what the added line alone causes.
    const withEdit = (file: string, line: string): Map<string, string> => {
      const copy = new Map(tree);
      copy.set(file, `${line}\n${copy.get(file)!}`);
      return copy;
    };
    const checkEdited = (file: string, line: string) => checkLayers(withEdit(file, line)).filter((v) => v.from === file);

    it("the transport importing the socket layer (the import this issue removed)", () => {
      const v = checkEdited("src/transport/transport.ts", 'import type { SocketBase } from "../socket/socket-base";');
      expect(v).toEqual([expect.objectContaining({ from: "src/transport/transport.ts", to: "src/socket/socket-base.ts", why: "upward: transport imports socket" })]);
    });

    it("the engine loading a socket type at run time", () => {
      const v = checkEdited("src/engine/zmtp-engine.ts", 'const m = import("../socket-types/dealer");');
      expect(v.map((x) => x.why)).toEqual(["upward: engine imports socket types"]);
    });

    it("a pattern reaching inside a socket", () => {
      const v = checkEdited("patterns/pirate/worker-pool.ts", 'import { SocketBase } from "../../src/socket/socket-base";');
      expect(v.map((x) => x.why)).toEqual(["a pattern reaches inside the core instead of using its public API"]);
    });

    it("one pattern family importing a sibling, and the shared folder importing a family", () => {
      const sideways = checkEdited("patterns/pirate/backoff.ts", 'import { BinaryStar } from "../binary-star";');
      expect(sideways.map((x) => x.why)).toEqual(["sideways: patterns/pirate/ imports its sibling patterns/binary-star/"]);
      const upward = checkEdited("patterns/shared/validate.ts", 'import { MajordomoBroker } from "../majordomo";');
      expect(upward.map((x) => x.why)).toEqual(["upward: patterns/shared/ imports patterns/majordomo/"]);
    });

    it("an import that resolves to nothing", () => {
      const v = checkEdited("src/pipe/pipe.ts", 'import { x } from "./no-such-file";');
      expect(v.map((x) => x.why)).toEqual(["import does not resolve to a file in src/ or patterns/"]);
    });
  });
});
