/**
 * The README's TypeScript blocks run as written: each is saved to a temporary file, its
 * repository-relative imports (`./mod.ts`, `./src/data/mod.ts`, …) pointed at this repository, and run with `deno run` from the repository
 * root (the shipped priors and test images are read from there). The A-DPS block must also
 * reconstruct better than the measurement it starts from.
 */
import assert from "node:assert/strict";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);

/** The ```ts blocks of a Markdown text, in order. */
export function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

Deno.test("tsBlocks finds fenced ts blocks only", () => {
  const md = "a\n```ts\nconst x = 1;\n```\n```sh\nls\n```\n```ts\nlet y;\n```\n";
  assert.deepEqual(tsBlocks(md), ["const x = 1;\n", "let y;\n"]);
});

Deno.test("README: every ts block runs as written", async (t) => {
  const blocks = tsBlocks(await Deno.readTextFile(`${ROOT}README.md`));
  assert.ok(blocks.length >= 2, `found ${blocks.length} ts blocks`);
  const dir = await Deno.makeTempDir({ prefix: "readme-" });
  try {
    for (const [i, code] of blocks.entries()) {
      await t.step(`block ${i + 1}`, async () => {
        const file = `${dir}/block${i + 1}.ts`;
        await Deno.writeTextFile(file, code.replace(/"\.\/([^"]+\.ts)"/g, `"${ROOT}$1"`));
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--config", `${ROOT}deno.json`, file],
          cwd: ROOT,
        }).output();
        const text = new TextDecoder().decode(out.stdout);
        const err = new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 0, `block ${i + 1} failed:\n${text}\n${err}`);
        const measured = /measured: PSNR ([\d.]+) dB/.exec(text);
        const solved = /A-DPS .*PSNR ([\d.]+) dB/.exec(text);
        if (measured && solved) {
          assert.ok(Number(solved[1]) > Number(measured[1]) + 1, `A-DPS did not help:\n${text}`);
        }
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
