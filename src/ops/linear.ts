/**
 * The fully connected layer's op, PyTorch layout: y = x·wᵀ + b.
 *
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import { add } from "./elementwise.ts";
import { matmul } from "./matmul.ts";
import { reshape } from "./reshape.ts";

/**
 * y = x·wᵀ + b, differentiable in x, w and b (through matmul and the broadcast add).
 *
 * @param x [N, in] (any leading dimensions: [..., in])
 * @param w [out, in], as torch.nn.Linear stores it
 * @param b optional bias [out]
 * @returns [N, out] ([..., out])
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { linear } from "./linear.ts";
 * const be = cpuBackend();
 * const x = be.fromArray([1, 2], [1, 2]);
 * const w = be.fromArray([1, 0, 0, 1, 1, 1], [3, 2]);
 * const y = linear(x, w, be.fromArray([0, 0, 10], [3])); // [[1, 2, 13]]
 * ```
 */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  if (w.shape.length !== 2) throw new Error(`linear: weight must be [out, in], got [${w.shape}]`);
  const [outF, inF] = w.shape;
  if (x.shape.length < 1 || x.shape[x.shape.length - 1] !== inF) {
    throw new Error(`linear: input [${x.shape}] does not end in ${inF} features (w [${w.shape}])`);
  }
  if (b && (b.shape.length !== 1 || b.shape[0] !== outF)) {
    throw new Error(`linear: bias [${b.shape}] should be [${outF}]`);
  }
  const lead = x.shape.slice(0, -1);
  const x2 = x.shape.length === 2 ? x : reshape(x, [-1, inF]);
  let y = matmul(x2, w, { transB: true });
  if (b) y = add(y, b);
  return x.shape.length === 2 ? y : reshape(y, [...lead, outF]);
}
