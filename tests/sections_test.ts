/** BENCHMARKS.md sections: the smoke run replaces only its own, the bench keeps it. */
import assert from "node:assert/strict";
import { replaceSection, section, SMOKE_HEADING } from "../bench/sections.ts";

const DOC = `# Benchmarks\n\n## Kernels\n\nk\n\n${SMOKE_HEADING}\n\nold\n\n## Later\n\nl\n`;

Deno.test("sections: read, replace in place, append where absent", () => {
  assert.equal(section(DOC, SMOKE_HEADING), `${SMOKE_HEADING}\n\nold\n`);
  assert.equal(section(DOC, "## Missing"), "");
  const next = replaceSection(DOC, SMOKE_HEADING, `${SMOKE_HEADING}\n\nnew`);
  assert.equal(next, DOC.replace("old", "new"));
  const added = replaceSection("# B\n\n## K\n\nk\n", SMOKE_HEADING, `${SMOKE_HEADING}\n\nx\n`);
  assert.equal(added, `# B\n\n## K\n\nk\n\n${SMOKE_HEADING}\n\nx\n`);
  assert.equal(section(added, SMOKE_HEADING), `${SMOKE_HEADING}\n\nx\n`);
});
