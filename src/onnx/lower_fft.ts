/**
 * The orthonormal 2-D DFT of planar complex images (src/ops/fft.ts) as two MatMuls by constant
 * DFT matrices, the centring shifts and the 1/√(HW) folded into them: the columns' transform
 * left-multiplies [Re; Im] stacked along H, the rows' right-multiplies [Re | Im] side by side.
 *
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import type { OnnxBackend } from "./backend.ts";
import { sharedConstant } from "./shared_constant.ts";

/**
 * The n-point DFT as a real block matrix of size 2n: with M = A + iB,
 * M[k, m] = exp(∓2πi (k − h)(m − h)/n)/√n (h = ⌊n/2⌋ when centred, else 0; M is symmetric),
 * `left` gives [[A, −B], [B, A]] (M·z for z = [Re; Im]), else [[A, B], [−B, A]] ([Re | Im]·M).
 */
function dftBlock(n: number, inverse: boolean, centred: boolean, left: boolean): Float32Array {
  const h = centred ? Math.floor(n / 2) : 0;
  const sign = inverse ? 1 : -1;
  const out = new Float32Array(4 * n * n);
  const at = (r: number, c: number) => r * 2 * n + c;
  for (let k = 0; k < n; k++) {
    for (let m = 0; m < n; m++) {
      // The phase's integer part taken mod n first keeps its f64 rounding small.
      const t = ((((k - h) * (m - h)) % n) + n) % n;
      const re = Math.cos(2 * Math.PI * t / n) / Math.sqrt(n);
      const im = sign * Math.sin(2 * Math.PI * t / n) / Math.sqrt(n);
      out[at(k, m)] = re;
      out[at(n + k, n + m)] = re;
      out[at(left ? n + k : k, left ? m : n + m)] = im;
      out[at(left ? k : n + k, left ? n + m : m)] = -im;
    }
  }
  return out;
}

/**
 * y = F x over the last two dims of planar complex x [..., 2, H, W] (src/ops/fft.ts).
 *
 * @param b the tracing backend
 * @param x [..., 2, H, W]
 * @param inverse exp(+2πi…)
 * @param centred fftshift ∘ F ∘ ifftshift
 * @returns the transform, same shape
 */
export function fft2Onnx(b: OnnxBackend, x: Tensor, inverse: boolean, centred: boolean): Tensor {
  const g = b.graph;
  const r = x.shape.length;
  const [H, W] = x.shape.slice(r - 2);
  const n = x.size / (2 * H * W);
  const stacked = b.node("Reshape", [x, g.int64([n, 2 * H, W])], [n, 2 * H, W]);
  const block = (len: number, left: boolean) =>
    sharedConstant(
      g,
      `dft ${len} ${inverse} ${centred} ${left}`,
      [2 * len, 2 * len],
      () => dftBlock(len, inverse, centred, left),
    );
  const cols = b.node("MatMul", [block(H, true), stacked], [n, 2 * H, W]);
  const sideBySide = b.node("Reshape", [
    b.node("Transpose", [b.view(cols, [n, 2, H, W])], [n, H, 2, W], { perm: [0, 2, 1, 3] }),
    g.int64([n, H, 2 * W]),
  ], [n, H, 2 * W]);
  const rows = b.node("MatMul", [sideBySide, block(W, false)], [n, H, 2 * W]);
  const y = b.node("Transpose", [b.view(rows, [n, H, 2, W])], [n, 2, H, W], {
    perm: [0, 2, 1, 3],
  });
  return b.view(y, x.shape);
}
