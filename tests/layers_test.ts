/**
 * The layers read bottom-up: the core (tensor, backends, scope, the CPU twin, the WebGPU
 * engine and its kernel layouts) never imports autograd or an op, directly or through
 * another file, so the ops and the tape sit on top with no arrow back.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The core: src's loose engine files, the CPU twin, and gpu/ with its kernels. */
const CORE_FILES = [
  "src/core/tensor.ts",
  "src/core/backend.ts",
  "src/core/select_backend.ts",
  "src/core/scope.ts",
  "src/core/shape.ts",
  "src/core/rng.ts",
  "src/layout/expr.ts",
  "src/layout/block_copy.ts",
  "src/layout/fft_plan.ts",
  "src/layout/matmul_layout.ts",
  "src/layout/reduce_plan.ts",
];
const CORE_DIRS = ["src/cpu", "gpu"];

/** True for the layers the core must not reach: the tape and the ops. */
const isAbove = (path: string) => path === "src/ops/autograd.ts" || path.startsWith("src/ops/");

/** Relative module specifiers a file imports (static, re-exports, dynamic); comments skipped. */
function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const specs: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\s*\(\s*["']([^"']+)["']/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) specs.push(m[1]);
  return specs.filter((s) => s.startsWith("."));
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...walk(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** For each file reachable from `start`, the chain of imports that first reached it. */
function reachable(start: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[start, [start]]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const spec of importsOf(Deno.readTextFileSync(join(ROOT, file)))) {
      const next = normalize(join(dirname(file), spec));
      if (seen.has(next)) continue;
      seen.set(next, [...seen.get(file)!, next]);
      queue.push(next);
    }
  }
  return seen;
}

Deno.test("the import parser sees static, multi-line, side-effect and dynamic imports", () => {
  const src = [
    '/** @example\n * ```ts\n * import { x } from "./in_a_comment.ts";\n * ```\n */',
    'import { a } from "./a.ts";',
    'import {\n  b,\n  c,\n} from "../b.ts";',
    'import type { T } from "./t.ts";',
    'export { d } from "./d.ts";',
    'import "./side.ts";',
    'const m = await import("./dyn.ts");',
    'import { assert } from "node:assert";',
    '// import { no } from "./line_comment.ts";',
  ].join("\n");
  assert.deepEqual(importsOf(src).sort(), [
    "../b.ts",
    "./a.ts",
    "./d.ts",
    "./dyn.ts",
    "./side.ts",
    "./t.ts",
  ]);
});

Deno.test("the check catches a real arrow up: an op reaches autograd", () => {
  // src/ops/elementwise.ts imports the tape, so were it core the test below would fail.
  assert.ok([...reachable("src/ops/elementwise.ts").keys()].includes("src/ops/autograd.ts"));
});

Deno.test("nothing in the core imports autograd or an op, even indirectly", () => {
  const core = [...CORE_FILES, ...CORE_DIRS.flatMap(walk)];
  assert.ok(core.length > 40, `found only ${core.length} core files: did the tree move?`);
  for (const f of CORE_FILES) assert.ok(Deno.statSync(join(ROOT, f)).isFile, `${f} missing`);
  const arrows: string[] = [];
  for (const file of core) {
    for (const [dest, chain] of reachable(file)) {
      if (isAbove(dest)) arrows.push(chain.join(" → "));
    }
  }
  assert.deepEqual(arrows, [], `core files reach autograd or an op:\n${arrows.join("\n")}`);
});
