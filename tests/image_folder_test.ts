import assert from "node:assert/strict";
import sharp from "sharp";
import { UsageError } from "../scripts/cli.ts";
import { loadDataset } from "../src/data/load_dataset.ts";
import { encodeIdx } from "../src/data/idx.ts";
import { readCelebA, readImageFolder } from "../src/data/image_folder.ts";

/** Interleaved 8-bit pixels with their size, the independent description of a test image. */
interface Raw {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array;
}

/** A raw image whose every sample is `f(x, y, c)`. */
function raw(
  width: number,
  height: number,
  channels: Raw["channels"],
  f: (x: number, y: number, c: number) => number,
): Raw {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = f(x, y, c);
    }
  }
  return { width, height, channels, data };
}

/** Encodes a raw image with sharp. */
async function encode(img: Raw, format: "png" | "jpeg"): Promise<Uint8Array> {
  const s = sharp(img.data, {
    raw: { width: img.width, height: img.height, channels: img.channels },
  });
  const buf = format === "png"
    ? await s.png().toBuffer()
    : await s.jpeg({ quality: 95 }).toBuffer();
  return new Uint8Array(buf);
}

/** A scratch folder holding `files`, removed after `fn`. */
async function withFolder(
  files: Record<string, Uint8Array | "dir">,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "image_folder_test_" });
  try {
    for (const [name, bytes] of Object.entries(files)) {
      if (bytes === "dir") await Deno.mkdir(`${dir}/${name}`, { recursive: true });
      else await Deno.writeFile(`${dir}/${name}`, bytes);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Expected [C, size, size] in [−1, 1] of a crop at (left, top) with no resampling. */
function expectCrop(img: Raw, left: number, top: number, size: number, channels: 1 | 3) {
  const out = new Float64Array(channels * size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const at = ((y + top) * img.width + x + left) * img.channels;
      // Gray (+alpha) sources replicate their one channel; alpha is dropped.
      const rgb = img.channels < 3
        ? [img.data[at], img.data[at], img.data[at]]
        : [img.data[at], img.data[at + 1], img.data[at + 2]];
      if (channels === 3) {
        for (let c = 0; c < 3; c++) out[(c * size + y) * size + x] = rgb[c] / 127.5 - 1;
      } else {
        out[y * size + x] = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 127.5 - 1;
      }
    }
  }
  return out;
}

function assertClose(actual: Float32Array, expected: ArrayLike<number>, tol: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
    }
  }
}

const pattern = (x: number, y: number, c: number) => (x * 41 + y * 23 + c * 67 + 5) % 256;

Deno.test("centre crops without resampling match the source pixels exactly", async () => {
  const tall = raw(6, 10, 3, pattern); // square crop at top 2
  const wide = raw(9, 6, 3, pattern); // square crop at left 1 (offset rounded down)
  const gray = raw(7, 6, 1, pattern); // square crop at left 0
  const rgba = raw(6, 7, 4, (x, y, c) => (c === 3 ? 40 * x + y : pattern(x, y, c)));
  const files = {
    "a_tall.png": await encode(tall, "png"),
    "b_wide.png": await encode(wide, "png"),
    "c_gray.png": await encode(gray, "png"),
    "d_rgba.png": await encode(rgba, "png"),
  };
  const expected = [[tall, 0, 2], [wide, 1, 0], [gray, 0, 0], [rgba, 0, 0]] as const;
  await withFolder(files, async (dir) => {
    for (const channels of [3, 1] as const) {
      const r = await readImageFolder(dir, { size: 6, channels, crop: "center-square" });
      assert.equal(r.count, 4);
      assert.equal(r.skipped, 0);
      assert.deepEqual(r.files, Object.keys(files).map((n) => `${dir}/${n}`));
      const per = channels * 36;
      expected.forEach(([img, left, top], i) => {
        assertClose(
          r.data.subarray(i * per, (i + 1) * per),
          expectCrop(img, left, top, 6, channels),
          1e-6,
          `${r.files[i]} C=${channels}`,
        );
      });
    }
    // A numeric crop: 4×4 centred in 6×10 starts at (1, 3); in 9×6 at (2, 1).
    const r = await readImageFolder(dir, { size: 4, channels: 3, crop: 4, limit: 2 });
    assert.equal(r.count, 2);
    assertClose(r.data.subarray(0, 48), expectCrop(tall, 1, 3, 4, 3), 1e-6, "crop 4 tall");
    assertClose(r.data.subarray(48), expectCrop(wide, 2, 1, 4, 3), 1e-6, "crop 4 wide");
  });
});

Deno.test("resizing: ramps keep their slope, constant JPEGs stay constant, [-1, 1] scaling", async () => {
  // v = 64 + 4x over 32 columns; shrinking x by 4 puts output column j at source 4j + 1.5.
  const ramp = raw(32, 16, 3, (x, _y, c) => (c === 1 ? 64 + 4 * x : c === 0 ? 255 : 0));
  const flat = raw(24, 40, 3, (_x, _y, c) => [10, 200, 30][c]);
  await withFolder({
    "ramp.png": await encode(ramp, "png"),
    "flat.jpg": await encode(flat, "jpeg"),
  }, async (dir) => {
    const r = await readImageFolder(dir, { size: 8, channels: 3 }); // no crop: stretched
    assert.deepEqual(r.files.map((f) => f.slice(dir.length + 1)), ["flat.jpg", "ramp.png"]);
    const hw = 64;
    const flatImg = r.data.subarray(0, 3 * hw);
    for (let c = 0; c < 3; c++) {
      const want = [10, 200, 30][c] / 127.5 - 1;
      // JPEG (4:2:0 chroma, quality 95) keeps a flat colour within 2 levels.
      assertClose(
        flatImg.subarray(c * hw, (c + 1) * hw),
        new Array(hw).fill(want),
        2 / 127.5,
        "flat",
      );
    }
    const rampImg = r.data.subarray(3 * hw);
    assertClose(rampImg.subarray(0, hw), new Array(hw).fill(1), 0, "red = 255 -> 1");
    assertClose(rampImg.subarray(2 * hw), new Array(hw).fill(-1), 0, "blue = 0 -> -1");
    for (let y = 0; y < 8; y++) {
      // Interior columns (the border ones see the edge extension).
      for (let x = 1; x < 7; x++) {
        const got = (rampImg[hw + y * 8 + x] + 1) * 127.5;
        const want = 64 + 4 * (4 * x + 1.5);
        assert.ok(Math.abs(got - want) <= 1.5, `ramp (${x}, ${y}): ${got} vs ${want}`);
      }
    }
  });
});

Deno.test("corrupt files are skipped, counted and reported; sorting, limit, other files", async () => {
  const a = raw(5, 5, 3, pattern);
  const png = await encode(a, "png");
  const jpg = await encode(raw(5, 5, 3, () => 128), "jpeg");
  const files = {
    "B_upper.JPG": jpg, // code-unit order puts upper case first
    "a.png": png,
    "b_junk.jpg": new TextEncoder().encode("not an image at all"),
    "c_truncated.png": png.slice(0, png.length - 30),
    "d_empty.webp": new Uint8Array(0),
    "e_small.png": await encode(raw(3, 5, 3, pattern), "png"),
    "notes.txt": new TextEncoder().encode("ignored"),
    "folder.png": "dir" as const,
  };
  await withFolder(files, async (dir) => {
    const skips: string[] = [];
    const r = await readImageFolder(dir, {
      size: 4,
      channels: 3,
      crop: 4,
      onSkip: (file, reason) => {
        assert.ok(reason.length > 0);
        skips.push(file.slice(dir.length + 1));
      },
    });
    assert.equal(r.count, 2);
    assert.deepEqual(r.files, [`${dir}/B_upper.JPG`, `${dir}/a.png`]);
    assert.equal(r.skipped, 4);
    assert.deepEqual(skips, ["b_junk.jpg", "c_truncated.png", "d_empty.webp", "e_small.png"]);
    assert.equal(r.data.length, 2 * 3 * 16);
    assertClose(r.data.subarray(48), expectCrop(a, 0, 0, 4, 3), 1e-6, "a.png after a skip");

    // The limit counts images read; it stops before reaching the corrupt files.
    const one = await readImageFolder(dir, { size: 4, channels: 1, crop: 4, limit: 1 });
    assert.deepEqual([one.count, one.skipped, one.data.length], [1, 0, 16]);
    // Without a crop the 3×5 image is read too (stretched).
    const all = await readImageFolder(dir, { size: 4, channels: 1, limit: 10 });
    assert.deepEqual([all.count, all.skipped], [3, 3]);
  });
});

Deno.test("errors name the folder and the problem", async () => {
  await assert.rejects(
    () => readImageFolder("/nonexistent/faces", { size: 8, channels: 3 }),
    /image folder not found: \/nonexistent\/faces/,
  );
  await withFolder({ "x.txt": new Uint8Array(1), "bad.png": new Uint8Array(8) }, async (dir) => {
    await assert.rejects(
      () => readImageFolder(`${dir}/x.txt`, { size: 8, channels: 3 }),
      /not a folder/,
    );
    let skipped = 0;
    await assert.rejects(
      () => readImageFolder(dir, { size: 8, channels: 3, onSkip: () => skipped++ }),
      (e: Error) => e.message.includes(dir) && /none of the 1 image files/.test(e.message),
    );
    assert.equal(skipped, 1);
    await Deno.remove(`${dir}/bad.png`);
    await assert.rejects(() => readImageFolder(dir, { size: 8, channels: 3 }), /no image files/);
    // deno-lint-ignore no-explicit-any
    await assert.rejects(() => readImageFolder(dir, { size: 8, channels: 2 as any }), /1 or 3/);
    await assert.rejects(() => readImageFolder(dir, { size: 0, channels: 3 }), /size/);
  });
});

Deno.test("readCelebA: the centred 178×178 square of 178×218, resized to 64×64 RGB", async () => {
  await assert.rejects(() => readCelebA("/nonexistent/celeba"), (e: Error) => {
    for (const s of ["/nonexistent/celeba", "img_align_celeba", "202 599", "--data"]) {
      assert.ok(e.message.includes(s), `message lacks ${s}: ${e.message}`);
    }
    return e.message.includes("deno task train:fmnist-inpaint");
  });
  // Red outside rows 20..197, the crop CelebA's preparation keeps: any red in the output
  // means the crop is misplaced by even one row.
  const face = (shade: number) =>
    raw(178, 218, 3, (_x, y, c) => (y < 20 || y >= 198 ? [255, 0, 0][c] : [0, shade, 255][c]));
  const files = {
    "img_align_celeba/000001.png": await encode(face(0), "png"),
    "img_align_celeba/000002.png": await encode(face(100), "png"),
  };
  await withFolder({ "img_align_celeba": "dir", ...files }, async (parent) => {
    for (const dir of [`${parent}/img_align_celeba`, parent]) {
      const r = await readCelebA(dir, { limit: 5 });
      assert.equal(r.count, 2);
      assert.equal(r.data.length, 2 * 3 * 64 * 64);
      assert.equal(r.files[0], `${parent}/img_align_celeba/000001.png`);
      const hw = 64 * 64;
      for (const [i, shade] of [[0, 0], [1, 100]]) {
        const img = r.data.subarray(i * 3 * hw, (i + 1) * 3 * hw);
        assertClose(img.subarray(0, hw), new Array(hw).fill(-1), 0, "red");
        assertClose(img.subarray(hw, 2 * hw), new Array(hw).fill(shade / 127.5 - 1), 1e-6, "green");
        assertClose(img.subarray(2 * hw), new Array(hw).fill(1), 0, "blue");
      }
    }
  });
});

Deno.test("loadDataset names the first skipped files, reports progress, refuses an empty set", async () => {
  const png = await encode(raw(5, 5, 3, pattern), "png");
  const junk = new TextEncoder().encode("not an image");
  const files = { "a.png": png, "b.png": junk, "c.png": junk, "d.png": junk, "e.png": junk };
  await withFolder(files, async (dir) => {
    const warned: string[] = [];
    const warn = console.warn;
    console.warn = (m: string) => warned.push(m);
    const seen: [number, number][] = [];
    try {
      const ds = await loadDataset(
        { kind: "folder", dir, size: 4, channels: 1 },
        { onProgress: (done, total) => seen.push([done, total]) },
      );
      assert.equal(ds.count, 1);
    } finally {
      console.warn = warn;
    }
    assert.equal(warned.length, 1);
    const [w] = warned;
    assert.match(w, /^skipped 4 unreadable image\(s\) in /);
    for (const name of ["b.png", "c.png", "d.png"]) assert.ok(w.includes(`${dir}/${name} (`), w);
    assert.ok(!w.includes("e.png") && w.endsWith(", and 1 more"), w);
    assert.deepEqual(seen.at(-1), [5, 5]);
    for (const limit of [0, -1, 1.5]) {
      await assert.rejects(
        () => loadDataset({ kind: "folder", dir, size: 4, channels: 1, limit }),
        (e: Error) => e instanceof UsageError && /limit must be a positive integer/.test(e.message),
      );
    }
  });
  // An IDX file of zero images is no data set either.
  const dir = await Deno.makeTempDir({ prefix: "image_folder_test_" });
  try {
    await Deno.writeFile(
      `${dir}/train-images-idx3-ubyte.gz`,
      encodeIdx([0, 28, 28], new Uint8Array(0)),
    );
    await assert.rejects(
      () => loadDataset({ kind: "fmnist", dir }),
      (e: Error) => e instanceof UsageError && /holds no images/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
