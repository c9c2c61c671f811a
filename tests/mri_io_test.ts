import assert from "node:assert/strict";
import h5wasm from "h5wasm/node";
import { readCfl, writeCfl } from "../src/data/cfl.ts";
import { FastMriFile, writeFastMri } from "../src/data/fastmri.ts";
import { parseNifti, readNifti } from "../src/data/nifti.ts";
import { assertClose } from "./harness.ts";

const io = JSON.parse(await Deno.readTextFile("fixtures/mri/io.json"));
const EXACT = { atol: 0, rtol: 0 };

Deno.test("nifti: a Colin27 crop written by numpy/gzip reads voxel for voxel", async () => {
  const v = await readNifti("fixtures/mri/colin27-crop.nii.gz");
  assert.deepEqual(v.dims, io.nifti.dims);
  assert.equal(v.datatype, 2);
  assertClose(v.pixdim, io.nifti.pixdim, EXACT, "pixdim");
  assertClose(v.data, io.nifti.voxels, EXACT, "voxels");
});

const BIG = "/usr/share/mricron/templates/ch2better.nii.gz";
const hasBig = await Deno.stat(BIG).then(() => true, () => false);

Deno.test({
  name: "nifti: the full Colin27 (mricron-data) matches the committed crop",
  ignore: !hasBig,
  fn: async () => {
    const v = await readNifti(BIG);
    assert.deepEqual(v.dims, [301, 370, 316]);
    const [x0, y0, z0] = io.nifti.sourceVoxel;
    const got = [];
    for (let z = 0; z < 6; z++) {
      for (let y = 0; y < 10; y++) {
        for (let x = 0; x < 12; x++) got.push(v.data[((z0 + z) * 370 + y0 + y) * 301 + x0 + x]);
      }
    }
    assertClose(got, io.nifti.voxels, EXACT, "crop");
  },
});

Deno.test("nifti: bad files get one line naming them", async () => {
  await assert.rejects(parseNifti(new Uint8Array(100), "a.nii"), /a\.nii: not a NIfTI-1 file/);
  const bytes = new Uint8Array(400);
  new DataView(bytes.buffer).setInt32(0, 348, true);
  await assert.rejects(parseNifti(bytes, "b.nii"), /b\.nii: not a single-file NIfTI-1/);
  await assert.rejects(
    parseNifti(new Uint8Array([0x1f, 0x8b, 1, 2, 3]), "c.nii.gz"),
    /c\.nii\.gz: gzip data is corrupt/,
  );
  const good = await Deno.readFile("fixtures/mri/colin27-crop.nii.gz");
  const plain = new Uint8Array(
    await new Response(new Blob([good]).stream().pipeThrough(new DecompressionStream("gzip")))
      .arrayBuffer(),
  );
  await assert.rejects(
    parseNifti(plain.subarray(0, 500), "d.nii"),
    /d\.nii: 720 voxels.*truncated/,
  );
});

Deno.test("fastmri: h5py's complex64 k-space, RSS and header (planar [C, 2, H, W])", async () => {
  using f = await FastMriFile.open("fixtures/mri/fastmri-tiny.h5");
  const { slices, coils, height, width, header, attrs, has } = f.info;
  assert.deepEqual([slices, coils, height, width], [2, 3, 8, 6]);
  assert.match(header, /<encoding>tiny<\/encoding>/);
  assert.equal(attrs.acquisition, "AXT2");
  assert.deepEqual(has, { maps: false, groundTruth: false, rss: true });
  const hw = height * width;
  for (let s = 0; s < slices; s++) {
    const k = f.kspace(s);
    const re = [], im = [];
    for (let c = 0; c < coils; c++) {
      re.push(...k.subarray(2 * c * hw, (2 * c + 1) * hw));
      im.push(...k.subarray((2 * c + 1) * hw, (2 * c + 2) * hw));
    }
    const n = coils * hw;
    assertClose(re, io.fastmri.re.slice(s * n, (s + 1) * n), EXACT, `Re slice ${s}`);
    assertClose(im, io.fastmri.im.slice(s * n, (s + 1) * n), EXACT, `Im slice ${s}`);
    assertClose(f.rss(s), io.fastmri.rss.slice(s * hw, (s + 1) * hw), EXACT, `rss ${s}`);
  }
  assert.throws(() => f.kspace(2), /slice 2 is outside 0\.\.1/);
  assert.throws(() => f.maps(0), /no "maps" dataset/);
});

const tmp = await Deno.makeTempDir();

Deno.test("fastmri: our writer round-trips k-space, maps, ground truth; NaN k-space is refused", async () => {
  const dims: [number, number, number, number] = [2, 2, 4, 3];
  const n = 2 * 2 * 2 * 4 * 3;
  const kspace = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
  const maps = Float32Array.from({ length: n }, (_, i) => Math.cos(i));
  const groundTruth = Float32Array.from({ length: 2 * 2 * 12 }, (_, i) => i);
  const rss = new Float32Array(2 * 12).fill(1);
  const path = `${tmp}/sim.h5`;
  await writeFastMri(path, {
    kspace,
    dims,
    rss,
    maps,
    groundTruth,
    header: "<x/>",
    attrs: { data: "simulated k-space" },
  });
  assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name), ["sim.h5"], "no temporary left");
  using f = await FastMriFile.open(path);
  assert.equal(f.info.attrs.data, "simulated k-space");
  assertClose([...f.kspace(0), ...f.kspace(1)], kspace, EXACT, "kspace");
  assertClose([...f.maps(0), ...f.maps(1)], maps, EXACT, "maps");
  assertClose([...f.groundTruth(0), ...f.groundTruth(1)], groundTruth, EXACT, "ground truth");
  kspace[60] = NaN;
  await writeFastMri(`${tmp}/nan.h5`, { kspace, dims, rss, header: "" });
  using g = await FastMriFile.open(`${tmp}/nan.h5`);
  assert.doesNotThrow(() => g.kspace(0));
  assert.throws(() => g.kspace(1), /nan\.h5: kspace slice 1 holds NaN or Inf/);
  await assert.rejects(
    writeFastMri(`${tmp}/bad.h5`, { kspace, dims, rss: new Float32Array(3), header: "" }),
    /bad\.h5: rss has 3 values, dims \[2,2,4,3\] need 24/,
  );
});

Deno.test("fastmri: missing keys, wrong shapes and non-HDF5 files get one line naming the file", async () => {
  await h5wasm.ready;
  const write = (name: string, fill: (f: InstanceType<typeof h5wasm.File>) => void) => {
    const f = new h5wasm.File(`${tmp}/${name}`, "w");
    fill(f);
    f.close();
    return `${tmp}/${name}`;
  };
  const noK = write("nok.h5", (f) => f.create_dataset({ name: "foo", data: new Float32Array(2) }));
  await assert.rejects(FastMriFile.open(noK), /nok\.h5: no "kspace" dataset .* it has: foo/);
  const badShape = write("shape.h5", (f) => {
    f.create_dataset({ name: "kspace", data: new Float32Array(6), shape: [1, 2, 3], dtype: "<f" });
    f.create_dataset({ name: "ismrmrd_header", data: "" });
  });
  await assert.rejects(FastMriFile.open(badShape), /shape\.h5: kspace is \[1,2,3\]/);
  const badMaps = write("maps.h5", (f) => {
    f.create_dataset({
      name: "kspace",
      data: new Float32Array(24),
      shape: [1, 2, 3, 2, 2],
      dtype: "<f",
    });
    f.create_dataset({
      name: "maps",
      data: new Float32Array(24),
      shape: [1, 2, 2, 3, 2],
      dtype: "<f",
    });
    f.create_dataset({ name: "ismrmrd_header", data: "" });
  });
  await assert.rejects(FastMriFile.open(badMaps), /maps\.h5: maps is \[1,2,2,3,2\], but kspace/);
  await Deno.writeTextFile(`${tmp}/text.h5`, "hello");
  await assert.rejects(
    FastMriFile.open(`${tmp}/text.h5`),
    /text\.h5: not an HDF5 file \(no HDF5 signature\)/,
  );
  await assert.rejects(FastMriFile.open(`${tmp}/none.h5`), /none\.h5: no such file/);
});

Deno.test("cfl: write then read; headers and sizes that disagree are named", async () => {
  const data = Float32Array.from({ length: 2 * 4 * 3 * 2 }, (_, i) => i - 7.5);
  await writeCfl(`${tmp}/a`, [4, 3, 1, 2], data);
  assert.equal((await Deno.readTextFile(`${tmp}/a.hdr`)).split("\n")[1].split(" ").length, 16);
  const back = await readCfl(`${tmp}/a`);
  assert.deepEqual(back.dims, [4, 3, 1, 2]);
  assertClose(back.data, data, EXACT, "values");
  await Deno.writeTextFile(`${tmp}/a.hdr`, "# Dimensions\n4 4 1 2\n");
  await assert.rejects(
    readCfl(`${tmp}/a`),
    /a\.cfl: 192 bytes, but .*a\.hdr dims \[4,4,1,2\] need 256/,
  );
  await Deno.writeTextFile(`${tmp}/a.hdr`, "# Dims\n4 3\n");
  await assert.rejects(readCfl(`${tmp}/a`), /a\.hdr: not a BART header/);
  await assert.rejects(
    writeCfl(`${tmp}/b`, [5, 3], data),
    /b\.cfl: 48 floats do not fill complex dims \[5,3\]/,
  );
});
