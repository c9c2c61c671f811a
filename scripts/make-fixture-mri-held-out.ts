/**
 * The committed held-out MRI slices (fixtures/mri/held-out.h5, read by `deno task mri:sweep`
 * on a clean clone): a few held-out slices of a simulated data set (`deno task mri:simulate`,
 * which needs Debian's mricron-data), copied with their maps and ground truth, deflated, with
 * a provenance sidecar (held-out.json).
 *
 * ```
 * deno task mri:simulate --out out/mri-sim-64x56 --size 64x56
 * deno run -A scripts/make-fixture-mri-held-out.ts --from out/mri-sim-64x56 --out fixtures/mri
 * ```
 */
import { FastMriFile, writeFastMri } from "../src/data/fastmri.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";
import { exitOnUsageError, parseFlags, UsageError } from "./cli.ts";
import { intList } from "./mri/plan.ts";

exitOnUsageError();
const a = parseFlags({
  from: { type: "string", default: "out/mri-sim-64x56" },
  slices: { type: "string", default: "0,2,4,6,8,10,12,14" },
  out: { type: "string", default: "fixtures/mri" },
});
const slices = intList(a.slices!, "slices", 0);
const source = `${a.from}/held-out.h5`;
const dataset = JSON.parse(
  await Deno.readTextFile(`${a.from}/dataset.json`).catch(() => {
    throw new UsageError(
      `${a.from}/dataset.json not found: make the data set first (deno task mri:simulate ` +
        `--out ${a.from} --size 64x56)`,
    );
  }),
);
using f = await FastMriFile.open(source);
const { coils: c, height: h, width: w } = f.info;
const cat = (read: (s: number) => Float32Array) => {
  const parts = slices.map(read);
  const out = new Float32Array(parts.length * parts[0].length);
  parts.forEach((p, i) => out.set(p, i * p.length));
  return out;
};
const held = dataset.splits.find((s: { split: string }) => s.split === "held-out");
await Deno.mkdir(a.out!, { recursive: true });
await writeFastMri(`${a.out}/held-out.h5`, {
  kspace: cat((s) => f.kspace(s)),
  dims: [slices.length, c, h, w],
  rss: cat((s) => f.rss(s)),
  header: f.info.header,
  maps: cat((s) => f.maps(s)),
  groundTruth: cat((s) => f.groundTruth(s)),
  attrs: { data: "simulated k-space", source: dataset.source, split: "held-out" },
}, { gzip: 9 });
const info = {
  data: "simulated k-space",
  file: "held-out.h5",
  size: [h, w],
  coils: c,
  slices: slices.length,
  from: {
    file: source,
    slices,
    z: slices.map((s) => held.z[s]),
    scales: slices.map((s) => held.scales[s]),
  },
  simulation: {
    command: dataset.command,
    source: dataset.source,
    snrDb: dataset.snrDb,
    seed: dataset.seed,
  },
  command: `deno run -A scripts/make-fixture-mri-held-out.ts ${Deno.args.join(" ")}`.trim(),
};
await writeFileAtomic(
  `${a.out}/held-out.json`,
  new TextEncoder().encode(JSON.stringify(info, null, 1) + "\n"),
);
const bytes = (await Deno.stat(`${a.out}/held-out.h5`)).size;
console.log(
  `wrote ${a.out}/held-out.h5 (${slices.length} slices ${h}×${w}, ${c} coils, ${bytes} bytes) and held-out.json`,
);
