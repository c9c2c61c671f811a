/**
 * Makes the committed held-out slices of the simulated MRI data (fixtures/mri/), so the MRI
 * study reproduces on a clean clone without Debian's mricron-data: every fourth held-out slice
 * of `deno task mri:simulate --size 64x56` (4 of 16, under 1 MB), gzip-compressed, with their maps and
 * ground truth, in the fastMRI layout the simulation writes.
 *
 * ```
 * deno task mri:simulate --out out/mri-sim-64x56 --size 64x56
 * deno run -A scripts/make-fixture-mri-held-out.ts --data out/mri-sim-64x56 \
 *   --out fixtures/mri/sim-64x56-held-out.h5
 * ```
 *
 * @module
 */
import { FastMriFile, writeFastMri } from "../src/data/fastmri.ts";
import { exitOnUsageError, parseFlags, UsageError } from "./cli.ts";

exitOnUsageError();
const a = parseFlags({ data: { type: "string" }, out: { type: "string" } });
if (!a.data || !a.out) {
  throw new UsageError("usage: make-fixture-mri-held-out.ts --data SIM_DIR --out FILE.h5");
}
using f = await FastMriFile.open(`${a.data}/held-out.h5`);
const { slices, coils, height: h, width: w, header, attrs } = f.info;
const pick = Array.from({ length: Math.ceil(slices / 4) }, (_, i) => 4 * i);
const join = (read: (s: number) => Float32Array) => {
  const parts = pick.map(read);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
};
const info = JSON.parse(await Deno.readTextFile(`${a.data}/dataset.json`));
const z = info.splits.find((s: { split: string }) => s.split === "held-out").z as number[];
await writeFastMri(a.out, {
  kspace: join((s) => f.kspace(s)),
  dims: [pick.length, coils, h, w],
  rss: join((s) => f.rss(s)),
  maps: join((s) => f.maps(s)),
  groundTruth: join((s) => f.groundTruth(s)),
  header,
  attrs: {
    ...Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, String(v)])),
    fixture: `held-out slices ${pick.join(",")} (z ${pick.map((i) => z[i]).join(",")}) of ` +
      `${info.command}`,
  },
  gzip: 9,
});
console.log(`wrote ${a.out}: ${pick.length} held-out slices, ${coils} coils, ${h}×${w}`);
