import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { ImplName } from "./lib";

/** One measured point: median messages per second at a message size. */
export interface ThroughputPoint {
  impl: ImplName;
  size: number;
  perSec: number;
}

const IMPLS: readonly ImplName[] = ["privateer", "zeromq.js", "libzmq"];
const COLOURS: Record<ImplName, string> = {
  privateer: "#d6452b",
  "zeromq.js": "#2b6cd6",
  libzmq: "#6b6b6b",
};

/**
 * Renders throughput against message size as an SVG with Vega-Lite, both
 * axes logarithmic: messages/s in one panel (what small messages are about),
 * MiB/s in the other (what large ones are about), one line per
 * implementation. Rendered headless (no canvas needed for SVG).
 */
export async function throughputChart(points: readonly ThroughputPoint[], caption: string): Promise<string> {
  const values = points.flatMap((p) => [
    { impl: p.impl, size: p.size, panel: "messages per second", value: p.perSec },
    { impl: p.impl, size: p.size, panel: "MiB per second", value: (p.perSec * p.size) / 1048576 },
  ]);
  const impls = IMPLS.filter((impl) => points.some((p) => p.impl === impl));
  const sizes = [...new Set(points.map((p) => p.size))].sort((a, b) => a - b);
  const spec: TopLevelSpec = {
    title: {
      text: "PUSH to PULL over tcp, two processes: throughput by message size",
      subtitle: caption,
      anchor: "middle",
    },
    background: "#ffffff",
    data: { values },
    facet: { column: { field: "panel", type: "nominal", title: null, sort: ["messages per second", "MiB per second"] } },
    resolve: { scale: { y: "independent" } },
    config: { legend: { orient: "top" } },
    spec: {
      width: 380,
      height: 280,
      mark: { type: "line", point: true, strokeWidth: 2.5 },
      encoding: {
        x: {
          field: "size",
          type: "quantitative",
          title: "message size",
          scale: { type: "log", base: 2 },
          axis: {
            values: sizes,
            labelExpr:
              "datum.value >= 1048576 ? format(datum.value / 1048576, 'd') + ' MiB' : " +
              "datum.value >= 1024 ? format(datum.value / 1024, 'd') + ' KiB' : datum.value + ' B'",
          },
        },
        y: { field: "value", type: "quantitative", title: null, scale: { type: "log" }, axis: { format: "~s" } },
        color: {
          field: "impl",
          type: "nominal",
          title: null,
          legend: { orient: "top", direction: "horizontal", symbolStrokeWidth: 3, labelFontSize: 12 },
          scale: { domain: impls, range: impls.map((impl) => COLOURS[impl]) },
        },
        strokeDash: {
          field: "impl",
          type: "nominal",
          scale: { domain: impls, range: impls.map((impl) => (impl === "libzmq" ? [6, 4] : [1, 0])) },
        },
      },
    },
  };
  return renderSvg(spec);
}

/**
 * Renders any Vega-Lite spec to SVG, headless, so every chart in the project
 * (the benchmarks', the chaos reports') comes out of the same renderer.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
