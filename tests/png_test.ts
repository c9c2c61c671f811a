import assert from "node:assert/strict";
import sharp from "sharp";
import { crc32, encodePng, imageGrid, writePngGrid } from "../src/io/png.ts";

/** Decodes a PNG with sharp (libpng: checks the signature, every chunk CRC and zlib adler32). */
async function decodeWithSharp(png: Uint8Array) {
  const { channels } = await sharp(png).metadata();
  // sharp expands grayscale to RGB on raw output unless one channel is extracted.
  const img = sharp(png, { failOn: "warning" });
  const { data, info } = await (channels === 1 ? img.extractChannel(0) : img).raw().toBuffer({
    resolveWithObject: true,
  });
  assert.equal(info.channels, channels);
  return { width: info.width, height: info.height, channels, pixels: data };
}

/** The chunks of a PNG, read by hand: [type, data]. */
function chunks(png: Uint8Array): [string, Uint8Array][] {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: [string, Uint8Array][] = [];
  for (let at = 8; at < png.length;) {
    const len = v.getUint32(at);
    out.push([
      String.fromCharCode(...png.subarray(at + 4, at + 8)),
      png.subarray(at + 8, at + 8 + len),
    ]);
    at += 12 + len;
  }
  return out;
}

/** The byte that [−1, 1] value `x` should become, written independently of png.ts. */
const byte = (x: number) => Math.min(255, Math.max(0, Math.floor((x + 1) * 127.5 + 0.5)));

Deno.test("crc32 check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

Deno.test("value mapping: clipped to [-1, 1], rounded to 0..255, NaN -> 0", () => {
  const xs = [-2, -1, -0.5, 0, 0.5, 1, 3, NaN, 1 / 127.5 - 1, -1 + 0.6 / 127.5];
  const g = imageGrid(new Float32Array(xs), [1, 1, 1, xs.length], { pad: 0 });
  assert.deepEqual([...g.pixels], [0, 0, 64, 128, 191, 255, 255, 0, 1, 1]);
});

Deno.test("grid layout and padding (RGB): 5 images, 3 columns, pad 2", async () => {
  const [n, c, h, w] = [5, 3, 2, 3];
  const data = new Float32Array(n * c * h * w).map((_, i) => Math.sin(i * 0.7) * 1.1);
  const g = imageGrid(data, [n, c, h, w], { cols: 3, pad: 2, padValue: -1 });
  assert.deepEqual([g.width, g.height, g.channels], [2 + 3 * (w + 2), 2 + 2 * (h + 2), 3]);
  // Every pixel: inside image i at (y, x), or padding (also the empty sixth cell).
  for (let Y = 0; Y < g.height; Y++) {
    for (let X = 0; X < g.width; X++) {
      const col = Math.floor((X - 2) / (w + 2)), x = (X - 2) % (w + 2);
      const row = Math.floor((Y - 2) / (h + 2)), y = (Y - 2) % (h + 2);
      const i = row * 3 + col;
      const inside = X >= 2 && Y >= 2 && x < w && y < h && i < n;
      for (let ch = 0; ch < c; ch++) {
        const want = inside ? byte(data[((i * c + ch) * h + y) * w + x]) : 0;
        assert.equal(g.pixels[(Y * g.width + X) * c + ch], want, `(${X}, ${Y}, ${ch})`);
      }
    }
  }
  const png = await encodePng(g);
  const d = await decodeWithSharp(png);
  assert.deepEqual([d.width, d.height, d.channels], [g.width, g.height, 3]);
  assert.deepEqual([...d.pixels], [...g.pixels]);
});

Deno.test("grayscale PNG, default options, hand-parsed chunks", async () => {
  const [n, h, w] = [3, 4, 5];
  const data = new Float32Array(n * h * w).map((_, i) => (i % 7) / 3 - 1);
  const g = imageGrid(data, [n, 1, h, w]); // cols ⌈√3⌉ = 2, pad 2, white padding
  assert.deepEqual([g.width, g.height, g.channels], [2 + 2 * 7, 2 + 2 * 6, 1]);
  assert.equal(g.pixels[0], 255);
  assert.equal(g.pixels[2 * g.width + 2], byte(data[0]));
  assert.equal(g.pixels[(2 + 6) * g.width + 2], byte(data[2 * h * w])); // third image, row 2
  assert.equal(g.pixels[(2 + 6) * g.width + 2 + 7], 255); // the empty fourth cell
  const png = await encodePng(g);
  const d = await decodeWithSharp(png);
  assert.deepEqual([d.width, d.height, d.channels], [g.width, g.height, 1]);
  assert.deepEqual([...d.pixels], [...g.pixels]);

  const cs = chunks(png);
  assert.deepEqual(cs.map(([t]) => t), ["IHDR", "IDAT", "IEND"]);
  const ihdr = new DataView(cs[0][1].buffer, cs[0][1].byteOffset, 13);
  assert.deepEqual(
    [ihdr.getUint32(0), ihdr.getUint32(4), ...cs[0][1].subarray(8)],
    [g.width, g.height, 8, 0, 0, 0, 0],
  );
  const stream = new Blob([cs[1][1].slice()]).stream().pipeThrough(
    new DecompressionStream("deflate"),
  );
  const rawRows = new Uint8Array(await new Response(stream).arrayBuffer());
  assert.equal(rawRows.length, (g.width + 1) * g.height);
  for (let y = 0; y < g.height; y++) {
    assert.equal(rawRows[y * (g.width + 1)], 0, "filter byte");
    assert.deepEqual(
      [...rawRows.subarray(y * (g.width + 1) + 1, (y + 1) * (g.width + 1))],
      [...g.pixels.subarray(y * g.width, (y + 1) * g.width)],
    );
  }
});

Deno.test("a larger random RGB image round-trips; writePngGrid writes atomically", async () => {
  const [n, c, h, w] = [6, 3, 32, 32];
  let s = 1;
  const data = new Float32Array(n * c * h * w).map(() =>
    ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1
  );
  const dir = await Deno.makeTempDir({ prefix: "png_test_" });
  try {
    const path = `${dir}/grid.png`;
    await writePngGrid(path, data, [n, c, h, w], { cols: 4, pad: 1, padValue: 0 });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["grid.png"]);
    const d = await decodeWithSharp(await Deno.readFile(path));
    const g = imageGrid(data, [n, c, h, w], { cols: 4, pad: 1, padValue: 0 });
    assert.deepEqual([d.width, d.height, d.channels], [1 + 4 * 33, 1 + 2 * 33, 3]);
    assert.deepEqual([...d.pixels], [...g.pixels]);
    assert.equal(d.pixels[0], 128);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad shapes are refused", async () => {
  assert.throws(() => imageGrid(new Float32Array(8), [2, 2, 1, 2]), /1 or 3/);
  assert.throws(() => imageGrid(new Float32Array(7), [2, 1, 2, 2]), /7 values/);
  assert.throws(() => imageGrid(new Float32Array(4), [1, 2, 2]), /\[n, C, H, W\]/);
  assert.throws(() => imageGrid(new Float32Array(4), [1, 1, 2, 2], { pad: -1 }), /pad/);
  await assert.rejects(
    () => encodePng({ width: 2, height: 2, channels: 3, pixels: new Uint8Array(11) }),
    /11 bytes/,
  );
});
