/**
 * concat (torch.cat) and slice (torch.narrow) along any axis, each the other's backward.
 *
 * @module
 */
import { gpuBuffer } from "../../gpu/backend.ts";
import { copyBlockGpu } from "../../gpu/kernels/concat.ts";
import { record } from "./autograd.ts";
import { type BlockCopy, reverseBlock } from "../layout/block_copy.ts";
import { cpuData } from "../cpu/backend.ts";
import { copyBlockCpu } from "../cpu/concat.ts";
import type { OnnxBackend } from "../onnx/backend.ts";
import { unsliceOnnx } from "../onnx/lower_grad.ts";
import { concatOnnx, sliceOnnx } from "../onnx/lower_tensor.ts";
import type { Tensor } from "../core/tensor.ts";
import { onBackend } from "./dispatch.ts";

function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new Error(`${op}: axis ${axis} out of range for rank ${rank}`);
  }
  return a;
}

/** Elements before `axis` (rows) and after it (inner), for the block-copy view. */
function split(shape: readonly number[], axis: number): [number, number] {
  const prod = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
  return [prod(shape.slice(0, axis)), prod(shape.slice(axis + 1))];
}

/**
 * A new tensor of `shape` (zeros where no block lands, when `zeroFill`) holding every block;
 * `onnx` is the same copy as graph nodes, where the caller has one.
 */
function copyBlocks(
  label: string,
  shape: readonly number[],
  blocks: readonly { src: Tensor; b: BlockCopy }[],
  zeroFill: boolean,
  onnx?: (be: OnnxBackend) => Tensor,
): Tensor {
  return onBackend(
    label,
    blocks.map((k) => k.src),
    {
      cpu: (be) => {
        const out = zeroFill ? be.full(shape, 0) : be.empty(shape);
        for (const k of blocks) copyBlockCpu(cpuData(k.src), cpuData(out), k.b);
        return out;
      },
      webgpu: (be) => {
        const out = zeroFill ? be.full(shape, 0) : be.empty(shape);
        for (const k of blocks) {
          copyBlockGpu(be.engine, label, gpuBuffer(k.src), gpuBuffer(out), k.b);
        }
        return out;
      },
      ...(onnx ? { onnx } : {}),
    },
  );
}

/**
 * Narrows `x` to `length` entries of `axis` starting at `start` (a contiguous copy).
 *
 * @param x input
 * @param axis the axis to cut (negative counts from the end)
 * @param start first index kept
 * @param length number of indices kept
 * @returns x with shape[axis] = length
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { slice } from "./concat.ts";
 * const x = cpuBackend().fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
 * const y = slice(x, 1, 1, 2); // [[2, 3], [5, 6]]
 * ```
 */
export function slice(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normAxis("slice", axis, x.shape.length);
  const d = x.shape[a];
  if (
    !Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 ||
    start + length > d
  ) {
    throw new Error(`slice: [${start}, ${start + length}) is outside axis ${a} of [${x.shape}]`);
  }
  const [rows, inner] = split(x.shape, a);
  const shape = x.shape.map((v, k) => (k === a ? length : v));
  const label = `slice [${x.shape}] axis ${a} [${start}, ${start + length})`;
  const b: BlockCopy = {
    rows,
    cols: length * inner,
    srcRow: d * inner,
    srcOff: start * inner,
    dstRow: length * inner,
    dstOff: 0,
  };
  const y = copyBlocks(
    label,
    shape,
    [{ src: x, b }],
    false,
    (be) => sliceOnnx(be, x, a, start, length),
  );
  // The gradient is g scattered into zeros at the sliced position.
  record(y, [x], (g) => [
    copyBlocks(
      `${label}.backward`,
      x.shape,
      [{ src: g, b: reverseBlock(b) }],
      true,
      (be) => unsliceOnnx(be, g, a, start, x.shape),
    ),
  ]);
  return y;
}

/**
 * Joins tensors along `axis`; all other dimensions must agree (torch.cat).
 *
 * @param xs tensors, at least one, all of the same rank
 * @param axis the axis to join along (negative counts from the end)
 * @returns the concatenation
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { concat } from "./concat.ts";
 * const be = cpuBackend();
 * const y = concat([be.fromArray([1, 2], [2, 1]), be.fromArray([3, 4, 5, 6], [2, 2])], 1);
 * // [[1, 3, 4], [2, 5, 6]]
 * ```
 */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error("concat: no tensors");
  const rank = xs[0].shape.length;
  const a = normAxis("concat", axis, rank);
  const shapes = () => xs.map((t) => `[${t.shape}]`).join(", ");
  for (const t of xs) {
    if (t.shape.length !== rank || t.shape.some((v, k) => k !== a && v !== xs[0].shape[k])) {
      throw new Error(`concat: shapes ${shapes()} differ outside axis ${a}`);
    }
  }
  const total = xs.reduce((s, t) => s + t.shape[a], 0);
  const shape = xs[0].shape.map((v, k) => (k === a ? total : v));
  const [rows, inner] = split(shape, a);
  const starts: number[] = [];
  let at = 0;
  const blocks = xs.map((t) => {
    starts.push(at);
    const cols = t.shape[a] * inner;
    const b: BlockCopy = {
      rows,
      cols,
      srcRow: cols,
      srcOff: 0,
      dstRow: total * inner,
      dstOff: at * inner,
    };
    at += t.shape[a];
    return { src: t, b };
  });
  const label = `concat ${shapes()} axis ${a}`;
  const y = copyBlocks(label, shape, blocks, false, (be) => concatOnnx(be, xs, a, shape));
  record(y, xs, (g) => xs.map((t, i) => slice(g, a, starts[i], t.shape[a])));
  return y;
}
