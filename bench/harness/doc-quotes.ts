/**
 * The generated results block of docs/benchmarks.md (between the markers
 * below; a full run rewrites it) and the check that the prose around it
 * quotes it.
 */
export const RESULTS_START = "<!-- bench:results:start -->";
export const RESULTS_END = "<!-- bench:results:end -->";

/** Replaces the generated block of the docs page; the prose around it is written by hand. */
export function replaceResultsBlock(doc: string, block: string): string | undefined {
  const a = doc.indexOf(RESULTS_START);
  const b = doc.indexOf(RESULTS_END);
  if (a < 0 || b < a) return undefined;
  return `${doc.slice(0, a + RESULTS_START.length)}\n${block}\n${doc.slice(b)}`;
}

/** The generated block of the docs page, without the markers, or undefined when the markers are missing. */
export function resultsBlock(doc: string): string | undefined {
  const a = doc.indexOf(RESULTS_START);
  const b = doc.indexOf(RESULTS_END);
  if (a < 0 || b < a) return undefined;
  return doc.slice(a + RESULTS_START.length, b).replace(/^\n/, "").replace(/\n$/, "");
}

/**
 * Checks that the hand-written prose of docs/benchmarks.md quotes the
 * generated results block beside it. The convention, stated in the page:
 *  - a ratio written as the tables write them, with two decimals ("7.80x"),
 *    quotes the current results and must appear in the block; figures from
 *    other runs are written otherwise ("8.1x in an earlier run", "about 0.3x");
 *  - every benchmark with a **missed** verdict (its own or a side target's
 *    row, which repeats its title) has a section headed
 *    "## Missed target: <its title> (needs ...; measured <figure>)", where
 *    the figure is one of that benchmark's cells in the block, and no other
 *    benchmark has such a heading.
 * Returns one line per violation; none when the prose and the tables agree.
 */
export function proseQuoteProblems(doc: string): string[] {
  const block = resultsBlock(doc);
  if (block === undefined) return ["no generated results block (bench:results markers) in the page"];
  const prose = doc.replace(block, "");
  const problems: string[] = [];

  const inBlock = new Set(block.match(QUOTED_RATIO) ?? []);
  for (const figure of new Set(prose.match(QUOTED_RATIO) ?? [])) {
    if (!inBlock.has(figure)) problems.push(`the prose quotes ${figure}, which is not in the results tables`);
  }

  const rows = tableRows(block);
  const missed = new Set(
    rows.filter((cells) => cells.length === MAIN_COLUMNS && cells[MAIN_COLUMNS - 1] === "**missed**").map((cells) => cells[0]!),
  );
  const headed = new Set<string>();
  for (const match of prose.matchAll(MISSED_HEADING)) {
    const [, title, figure] = match as unknown as [string, string, string];
    headed.add(title);
    if (!missed.has(title)) {
      problems.push(`"Missed target: ${title}" names no benchmark the table marks **missed**`);
      continue;
    }
    const cells = rows.filter((c) => c[0] === title).flat();
    if (!cells.some((cell) => cell === figure || cell.startsWith(`${figure} `))) {
      problems.push(`"Missed target: ${title}" says measured ${figure}, which is none of that benchmark's figures in the tables`);
    }
  }
  for (const title of missed) {
    if (!headed.has(title)) problems.push(`the table marks "${title}" **missed** but no "## Missed target: ${title} (...)" section explains it`);
  }
  return problems;
}

/** Ratios as report.ts writes them: two decimals, then "x". */
const QUOTED_RATIO = /\b\d+\.\d\dx\b/g;
const MISSED_HEADING = /^## Missed target: (.+) \(needs [^;]+; measured (\S+)\)$/gm;
/** Columns of the main table (report.ts markdownReport): the title first, the verdict last. */
const MAIN_COLUMNS = 9;

/** The cells of every table row in `markdown`, header and separator rows included (they match nothing). */
function tableRows(markdown: string): string[][] {
  return markdown
    .split("\n")
    .filter((line) => line.startsWith("|") && line.endsWith("|"))
    .map((line) =>
      line
        .slice(1, -1)
        .split("|")
        .map((cell) => cell.trim()),
    );
}
