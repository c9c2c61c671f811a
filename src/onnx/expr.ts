/**
 * Lowers an elementwise expression of src/layout/expr.ts's WGSL/JavaScript subset to ONNX nodes: a
 * small precedence-climbing parser whose every sub-expression becomes one node, so the same
 * table that makes the WGSL kernel and its CPU twin makes the graph too.
 *
 * @module
 */
import type { OnnxGraph } from "./graph.ts";

const TOKEN =
  /\s*(\d+\.\d*(?:e[-+]?\d+)?|\d+(?:e[-+]?\d+)?|[A-Za-z_]\w*|&&|\|\||[<>=!]=|[-+*/(),<>])/y;

const BINARY: Record<string, [number, string]> = {
  "||": [1, "Or"],
  "&&": [2, "And"],
  "==": [3, "Equal"],
  "!=": [3, "NotEqual"],
  "<": [4, "Less"],
  ">": [4, "Greater"],
  "<=": [4, "LessOrEqual"],
  ">=": [4, "GreaterOrEqual"],
  "+": [5, "Add"],
  "-": [5, "Sub"],
  "*": [6, "Mul"],
  "/": [6, "Div"],
};

const UNARY_FN: Record<string, string> = {
  exp: "Exp",
  log: "Log",
  sqrt: "Sqrt",
  tanh: "Tanh",
  sin: "Sin",
  cos: "Cos",
  abs: "Abs",
};

function tokenize(expr: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expr.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(expr);
    if (!m) {
      if (expr.slice(at).trim() === "") break;
      throw new Error(`onnx expr: cannot read "${expr.slice(at)}" in "${expr}"`);
    }
    out.push(m[1]);
  }
  return out;
}

/**
 * Appends nodes computing `expr` and returns the name of its value.
 *
 * @param g the graph
 * @param expr expression over `vars` and `p0`, `p1`
 * @param vars value name of each expression variable (including p0, p1 as constants)
 * @returns the result's value name
 * @example
 * ```ts
 * import { OnnxGraph } from "./graph.ts";
 * import { lowerExpr } from "./expr.ts";
 * const g = new OnnxGraph();
 * const y = lowerExpr(g, "a / (1.0 + exp(-a))", { a: "x" }); // SiLU as Div(x, Add(1, Exp(Neg x)))
 * ```
 */
export function lowerExpr(g: OnnxGraph, expr: string, vars: Record<string, string>): string {
  const toks = tokenize(expr);
  let i = 0;
  const peek = () => toks[i];
  const take = (want?: string) => {
    const t = toks[i++];
    if (want !== undefined && t !== want) {
      throw new Error(`onnx expr: expected "${want}", got "${t ?? "end"}" in "${expr}"`);
    }
    return t;
  };
  const one = (op: string, ...input: string[]) => g.node(op, input)[0];
  const args = (): string[] => {
    take("(");
    const list = [binary(0)];
    while (peek() === ",") {
      take(",");
      list.push(binary(0));
    }
    take(")");
    return list;
  };
  const call = (fn: string): string => {
    const a = args();
    if (UNARY_FN[fn] && a.length === 1) return one(UNARY_FN[fn], a[0]);
    if ((fn === "min" || fn === "max") && a.length === 2) {
      return one(fn === "min" ? "Min" : "Max", ...a);
    }
    if (fn === "clamp" && a.length === 3) return one("Min", one("Max", a[0], a[1]), a[2]);
    // WGSL select(f, t, c): t where c holds.
    if (fn === "select" && a.length === 3) return one("Where", a[2], a[1], a[0]);
    throw new Error(`onnx expr: no lowering for ${fn}(${a.length} arguments) in "${expr}"`);
  };
  const atom = (): string => {
    const t = take();
    if (t === undefined) throw new Error(`onnx expr: "${expr}" ends early`);
    if (t === "(") {
      const v = binary(0);
      take(")");
      return v;
    }
    if (t === "-") return one("Neg", atom());
    if (/^\d/.test(t)) return g.float([Number(t)], []);
    if (peek() === "(") return call(t);
    const v = vars[t];
    if (v === undefined) throw new Error(`onnx expr: unknown name "${t}" in "${expr}"`);
    return v;
  };
  const binary = (min: number): string => {
    let lhs = atom();
    for (;;) {
      const op = BINARY[peek()];
      if (!op || op[0] < min) break;
      take();
      const rhs = binary(op[0] + 1);
      lhs = op[1] === "NotEqual" ? one("Not", one("Equal", lhs, rhs)) : one(op[1], lhs, rhs);
    }
    return lhs;
  };
  const v = binary(0);
  if (i !== toks.length) {
    throw new Error(`onnx expr: trailing "${toks.slice(i).join(" ")}" in "${expr}"`);
  }
  return v;
}
