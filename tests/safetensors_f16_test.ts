/**
 * F16 safetensors (the small shipped MRI priors): every value is stored as its nearest half
 * and read back as exactly that, the file holds 2 bytes a value, and F32 is unchanged.
 */
import assert from "node:assert/strict";
import { decodeSafetensors, encodeSafetensors } from "../src/io/safetensors.ts";
import { Rng } from "../src/core/rng.ts";

Deno.test("encodeSafetensors F16: values round to the nearest half and read back exactly", () => {
  const rng = new Rng(4);
  const awkward = [0, -0, 1 / 3, -2.5e-7, 6e-8, 1e-5, 65504, -70000, 0.1];
  const tensors = new Map([
    ["a", { shape: [3, 7], data: Float32Array.from(rng.normals(21, 0.05)) }],
    ["b", { shape: [awkward.length], data: Float32Array.from(awkward) }],
    ["c", { shape: [1], data: new Float32Array([Math.PI]) }],
  ]);
  const bytes = encodeSafetensors({ tensors, metadata: { step: "1" } }, { dtype: "F16" });
  const f32 = encodeSafetensors({ tensors, metadata: { step: "1" } });
  // 2 bytes a value after the header (whose length is the first 8 bytes), 4 for F32.
  const data = (b: Uint8Array) =>
    b.length - 8 - Number(new DataView(b.buffer).getBigUint64(0, true));
  assert.deepEqual([data(bytes), data(f32)], [2 * 31, 4 * 31]);
  const back = decodeSafetensors(bytes);
  for (const [name, t] of tensors) {
    const got = back.tensors.get(name)!;
    assert.deepEqual(got.shape, t.shape);
    assert.deepEqual([...got.data], [...t.data].map(Math.f16round), name);
  }
  // The rounding happened: π and 1/3 are not halves; −70000 overflows to −Infinity.
  assert.notEqual(back.tensors.get("c")!.data[0], Math.fround(Math.PI));
  assert.equal(back.tensors.get("b")!.data[7], -Infinity);
  assert.deepEqual(decodeSafetensors(f32).tensors.get("c")!.data, tensors.get("c")!.data);
});
