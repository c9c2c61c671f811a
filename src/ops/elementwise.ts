/**
 * Elementwise ops declared as data: each entry's forward and backward expressions generate
 * both the WGSL kernel and its CPU twin. Binary ops broadcast over batch and channel.
 *
 * @module
 */
import { record } from "./autograd.ts";
import type { Tensor } from "../core/tensor.ts";
import { map } from "./map.ts";
import { sumTo } from "./reduce.ts";

/** A unary op: forward over `a` (and params p0, p1); backward over a, y (output), g. */
export interface UnaryDef {
  /** y = f(a, p0, p1). */
  f: string;
  /** ∂L/∂a given g = ∂L/∂y. */
  df: string;
}

/** Every unary op, by name. */
export const UNARY = {
  neg: { f: "-a", df: "-g" },
  scale: { f: "a * p0", df: "g * p0" },
  addScalar: { f: "a + p0", df: "g" },
  silu: {
    f: "a / (1.0 + exp(-a))",
    df: "g * (1.0 / (1.0 + exp(-a))) * (1.0 + a * (1.0 - 1.0 / (1.0 + exp(-a))))",
  },
  sigmoid: { f: "1.0 / (1.0 + exp(-a))", df: "g * y * (1.0 - y)" },
  exp: { f: "exp(a)", df: "g * y" },
  log: { f: "log(a)", df: "g / a" },
  sqrt: { f: "sqrt(a)", df: "g * 0.5 / y" },
  square: { f: "a * a", df: "2.0 * a * g" },
  tanh: { f: "tanh(a)", df: "g * (1.0 - y * y)" },
  clip: { f: "clamp(a, p0, p1)", df: "select(0.0, g, a >= p0 && a <= p1)" },
} as const satisfies Record<string, UnaryDef>;

/** Name of a unary op. */
export type UnaryName = keyof typeof UNARY;

/**
 * Applies unary op `name` with params.
 *
 * @param name op name from UNARY
 * @param x input
 * @param params p0, p1
 * @returns the result
 */
export function unary(name: UnaryName, x: Tensor, params: readonly number[] = []): Tensor {
  const def: UnaryDef = UNARY[name];
  const y = map(name, def.f, ["a"], [x], params);
  record(y, [x], (g) => [map(`${name}.backward`, def.df, ["a", "y", "g"], [x, y, g], params)]);
  return y;
}

/** −x. */
export const neg = (x: Tensor): Tensor => unary("neg", x);
/** s·x for a number s. */
export const scale = (x: Tensor, s: number): Tensor => unary("scale", x, [s]);
/** x + s for a number s. */
export const addScalar = (x: Tensor, s: number): Tensor => unary("addScalar", x, [s]);
/** x·sigmoid(x). */
export const silu = (x: Tensor): Tensor => unary("silu", x);
/** 1/(1+e^{−x}). */
export const sigmoid = (x: Tensor): Tensor => unary("sigmoid", x);
/** eˣ. */
export const exp = (x: Tensor): Tensor => unary("exp", x);
/** ln x. */
export const log = (x: Tensor): Tensor => unary("log", x);
/** √x. */
export const sqrt = (x: Tensor): Tensor => unary("sqrt", x);
/** x². */
export const square = (x: Tensor): Tensor => unary("square", x);
/** tanh x. */
export const tanh = (x: Tensor): Tensor => unary("tanh", x);
/** min(max(x, lo), hi); the gradient passes where lo ≤ x ≤ hi. */
export const clip = (x: Tensor, lo: number, hi: number): Tensor => unary("clip", x, [lo, hi]);

/** A broadcasting binary op: forward over a, b (and p0); the partial derivatives times g. */
interface BinaryDef {
  f: string;
  da: string;
  db: string;
}

const BINARY = {
  add: { f: "a + b", da: "g", db: "g" },
  sub: { f: "a - b", da: "g", db: "-g" },
  mul: { f: "a * b", da: "g * b", db: "g * a" },
  div: { f: "a / b", da: "g / b", db: "-g * a / (b * b)" },
  addScaled: { f: "(a + b) * p0", da: "g * p0", db: "g * p0" },
} as const satisfies Record<string, BinaryDef>;

function binary(
  name: keyof typeof BINARY,
  a: Tensor,
  b: Tensor,
  params: readonly number[] = [],
): Tensor {
  const def: BinaryDef = BINARY[name];
  const y = map(name, def.f, ["a", "b"], [a, b], params);
  record(y, [a, b], (g) => {
    const vars = ["a", "b", "g"];
    const ga = def.da === "g" ? g : map(`${name}.da`, def.da, vars, [a, b, g], params);
    // Equal partials (a sum and its scale) are computed once.
    const gb = def.db === "g"
      ? g
      : def.db === def.da
      ? ga
      : map(`${name}.db`, def.db, vars, [a, b, g], params);
    return [sumTo(ga, a.shape), sumTo(gb, b.shape)];
  });
  return y;
}

/**
 * a + b with broadcasting.
 *
 * @param a first operand
 * @param b second operand
 * @returns the sum
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { add } from "./elementwise.ts";
 * const b = cpuBackend();
 * const y = add(b.fromArray([1, 2, 3, 4], [2, 2]), b.fromArray([10, 20], [1, 2]));
 * ```
 */
export const add = (a: Tensor, b: Tensor): Tensor => binary("add", a, b);
/** a − b with broadcasting. */
export const sub = (a: Tensor, b: Tensor): Tensor => binary("sub", a, b);
/** a · b with broadcasting. */
export const mul = (a: Tensor, b: Tensor): Tensor => binary("mul", a, b);
/** a / b with broadcasting. */
export const div = (a: Tensor, b: Tensor): Tensor => binary("div", a, b);
/** (a + b)·s with broadcasting, for a number s: a residual sum and its scale in one pass. */
export const addScaled = (a: Tensor, b: Tensor, s: number): Tensor =>
  binary("addScaled", a, b, [s]);

/**
 * where(mask, a, b): a where mask ≠ 0, else b, all broadcast (masks are 0/1 floats).
 *
 * @param mask condition, e.g. a [N,1,H,W] pixel mask over [N,C,H,W] images
 * @param a values where the mask is set
 * @param b values elsewhere
 * @returns the selection
 */
export function where(mask: Tensor, a: Tensor, b: Tensor): Tensor {
  const y = map("where", "select(b, a, m != 0.0)", ["m", "a", "b"], [mask, a, b]);
  record(y, [null, a, b], (g) => [
    null,
    sumTo(map("where.da", "select(0.0, g, m != 0.0)", ["m", "g"], [mask, g]), a.shape),
    sumTo(map("where.db", "select(g, 0.0, m != 0.0)", ["m", "g"], [mask, g]), b.shape),
  ]);
  return y;
}
