/**
 * The package's entry points: each one deno.json exports exists, only `./data` pulls in the
 * native `sharp` and only `./onnx` the native `onnxruntime-node` (so `import "./mod.ts"` works
 * where no native package can load).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
const exportsMap: Record<string, string> = config.exports;

/** Every module in an entry's graph, static and dynamic imports alike (npm: ones included). */
async function graphOf(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, `deno info ${entry}: ${new TextDecoder().decode(out.stderr)}`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  // Not info.npmPackages: that lists every package the lock file resolves, used or not.
  return info.modules.map((m: { specifier: string }) => m.specifier);
}

const usesSharp = (graph: string[]) => graph.some((s) => /^npm:\/?sharp@/.test(s));
const usesOrt = (graph: string[]) => graph.some((s) => /^npm:\/?onnxruntime-node@/.test(s));

Deno.test("deno.json exports the method and six sub-paths, each an existing file", async () => {
  assert.deepEqual(Object.keys(exportsMap), [
    ".",
    "./ops",
    "./nn",
    "./data",
    "./gpu",
    "./web",
    "./onnx",
  ]);
  for (const path of Object.values(exportsMap)) {
    assert.ok((await Deno.stat(`${ROOT}${path}`)).isFile, `${path} missing`);
  }
});

Deno.test("only ./data loads sharp and only ./onnx onnxruntime-node", async () => {
  for (const [name, path] of Object.entries(exportsMap)) {
    const graph = await graphOf(path);
    assert.ok(graph.length > 1, `${name}: empty graph`);
    assert.equal(usesSharp(graph), name === "./data", `${name} (${path}) and npm:sharp`);
    assert.equal(usesOrt(graph), name === "./onnx", `${name} (${path}) and onnxruntime-node`);
  }
});

Deno.test("./web (the browser entry) imports no npm: or node: module at all", async () => {
  const graph = await graphOf(exportsMap["./web"]);
  assert.deepEqual(graph.filter((s) => /^(npm|node):/.test(s)), []);
});
