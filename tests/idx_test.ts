import assert from "node:assert/strict";
import {
  decodeIdx,
  encodeIdx,
  FASHION_MNIST_DIR,
  fashionMnistToTensorData,
  gzip,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  isGzip,
  readFashionMnist,
  readIdxImages,
  readIdxLabels,
} from "../src/data/idx.ts";

const FIX = new URL("../fixtures/fmnist/", import.meta.url).pathname;

/** A scratch file holding `bytes`, removed after `fn`. */
async function withTempFile(bytes: Uint8Array, fn: (path: string) => Promise<void>) {
  const path = await Deno.makeTempFile({ suffix: ".idx" });
  try {
    await Deno.writeFile(path, bytes);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("fixtures: gzipped IDX with the expected magic and shapes", async () => {
  const raw = await Deno.readFile(`${FIX}train-images-idx3-ubyte.gz`);
  assert.ok(isGzip(raw));
  for (const [split, n] of [["train", 512], ["t10k", 64]] as const) {
    const { images, labels } = await readFashionMnist(split, FIX);
    assert.deepEqual([images.count, images.rows, images.cols], [n, 28, 28]);
    assert.equal(images.data.length, n * 28 * 28);
    assert.equal(labels.count, n);
    assert.ok(labels.data.every((l) => l <= 9));
    // A real image slice uses the whole byte range.
    assert.equal(images.data.reduce((a, b) => Math.max(a, b)), 255);
    assert.equal(images.data.reduce((a, b) => Math.min(a, b)), 0);
  }
  // Fashion-MNIST's first training labels (Ankle boot, T-shirt, T-shirt, Dress, T-shirt).
  assert.deepEqual(
    [...(await readIdxLabels(`${FIX}train-labels-idx1-ubyte.gz`)).data.slice(0, 5)],
    [
      9,
      0,
      0,
      3,
      0,
    ],
  );
});

Deno.test("fixtures match the Debian dataset", async (t) => {
  try {
    await Deno.stat(FASHION_MNIST_DIR);
  } catch {
    console.warn(`skipping: ${FASHION_MNIST_DIR} absent (apt-get install dataset-fashion-mnist)`);
    return;
  }
  for (const [split, n] of [["train", 512], ["t10k", 64]] as const) {
    await t.step(split, async () => {
      const full = await readFashionMnist(split, FASHION_MNIST_DIR);
      const fix = await readFashionMnist(split, FIX);
      assert.equal(full.images.count, split === "train" ? 60000 : 10000);
      const px = 28 * 28;
      for (const i of [0, 1, n - 1]) {
        assert.deepEqual(
          fix.images.data.subarray(i * px, (i + 1) * px),
          full.images.data.subarray(i * px, (i + 1) * px),
        );
      }
      assert.deepEqual(fix.labels.data, full.labels.data.subarray(0, n));
    });
  }
});

Deno.test("encodeIdx/decodeIdx round trip, plain and gzipped", async () => {
  const data = Uint8Array.from({ length: 2 * 3 * 5 }, (_, i) => (i * 37) % 256);
  const bytes = encodeIdx([2, 3, 5], data);
  assert.deepEqual([...bytes.subarray(0, 8)], [0, 0, 8, 3, 0, 0, 0, 2]);
  assert.deepEqual(decodeIdx(bytes, IDX_IMAGES_MAGIC), { dims: [2, 3, 5], data });
  for (const file of [bytes, await gzip(bytes)]) {
    await withTempFile(file, async (path) => {
      const img = await readIdxImages(path);
      assert.deepEqual([img.count, img.rows, img.cols], [2, 3, 5]);
      assert.deepEqual(img.data, data);
    });
  }
});

Deno.test("bad files give clear errors", async (t) => {
  const good = encodeIdx([4, 28, 28], new Uint8Array(4 * 28 * 28));
  await t.step("missing file names the Debian package", async () => {
    await assert.rejects(
      () => readIdxImages("/nonexistent/train-images-idx3-ubyte.gz"),
      /no such file.*apt-get install dataset-fashion-mnist.*\/usr\/share\/datasets\/fashion-mnist\//,
    );
  });
  await t.step("bad magic", async () => {
    await withTempFile(good, async (path) => {
      await assert.rejects(() => readIdxLabels(path), /magic 0x00000803.*expected 0x00000801/);
    });
    const text = new TextEncoder().encode("<html>not found</html>");
    await withTempFile(text, async (path) => {
      await assert.rejects(() => readIdxImages(path), /not an IDX file of unsigned bytes/);
    });
    assert.throws(
      () => decodeIdx(encodeIdx([3], new Uint8Array(3)), IDX_IMAGES_MAGIC),
      /expected 0x00000803/,
    );
    assert.doesNotThrow(() => decodeIdx(encodeIdx([3], new Uint8Array(3)), IDX_LABELS_MAGIC));
  });
  await t.step("truncated data, plain", async () => {
    await withTempFile(good.subarray(0, good.length - 100), async (path) => {
      await assert.rejects(
        () => readIdxImages(path),
        /truncated: \[4,28,28\] needs 3136 data bytes, file has 3036/,
      );
    });
    await withTempFile(good.subarray(0, 10), async (path) => {
      await assert.rejects(() => readIdxImages(path), /truncated header/);
    });
    await withTempFile(good.subarray(0, 2), async (path) => {
      await assert.rejects(() => readIdxImages(path), /shorter than the 4-byte magic/);
    });
  });
  await t.step("truncated and corrupt gzip", async () => {
    const gz = await Deno.readFile(`${FIX}t10k-images-idx3-ubyte.gz`);
    await withTempFile(gz.subarray(0, gz.length >> 1), async (path) => {
      await assert.rejects(() => readIdxImages(path), /corrupt or truncated gzip/);
    });
    const corrupt = gz.slice();
    for (let i = 100; i < 200; i++) corrupt[i] ^= 0x5a;
    await withTempFile(corrupt, async (path) => {
      await assert.rejects(() => readIdxImages(path), /corrupt or truncated gzip/);
    });
  });
});

Deno.test("fashionMnistToTensorData: range, scaling and padding", async () => {
  const images = await readIdxImages(`${FIX}t10k-images-idx3-ubyte.gz`);
  const x = fashionMnistToTensorData(images);
  assert.equal(x.length, 64 * 32 * 32);
  let lo = Infinity, hi = -Infinity;
  for (const v of x) lo = Math.min(lo, v), hi = Math.max(hi, v);
  assert.equal(lo, -1);
  assert.equal(hi, 1);
  for (const n of [0, 17, 63]) {
    for (let y = 0; y < 32; y++) {
      for (let c = 0; c < 32; c++) {
        const v = x[(n * 32 + y) * 32 + c];
        const inside = y >= 2 && y < 30 && c >= 2 && c < 30;
        const want = inside ? images.data[(n * 28 + y - 2) * 28 + c - 2] / 127.5 - 1 : -1;
        assert.equal(v, Math.fround(want), `image ${n} at (${y}, ${c})`);
      }
    }
  }
  // Non-default padding on a tiny hand-made image.
  const tiny = { count: 1, rows: 1, cols: 2, data: new Uint8Array([0, 255]) };
  assert.deepEqual([...fashionMnistToTensorData(tiny, { pad: 1 })], [
    -1,
    -1,
    -1,
    -1,
    -1,
    -1,
    1,
    -1,
    -1,
    -1,
    -1,
    -1,
  ]);
  assert.deepEqual([...fashionMnistToTensorData(tiny, { pad: 0 })], [-1, 1]);
  assert.throws(() => fashionMnistToTensorData(tiny, { pad: -1 }), /pad must be/);
});
