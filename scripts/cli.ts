/**
 * Command-line errors: a user's mistake (a bad flag, a missing file, a config that
 * contradicts a run's record) is a `UsageError` and prints one line, `error: …`, with exit
 * status 2; anything else is a bug and keeps its stack trace.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "../src/core/usage_error.ts";

export { UsageError };

/**
 * Makes the calling script print an uncaught `UsageError` as `error: <message>` and exit
 * with status 2; other errors are left alone (Deno prints their trace, status 1).
 *
 * @example
 * ```ts ignore
 * import { exitOnUsageError, UsageError } from "./cli.ts";
 * exitOnUsageError();
 * throw new UsageError("--steps must be a positive integer, got 0");
 * ```
 */
export function exitOnUsageError(): void {
  const report = (e: unknown, event: Event) => {
    if (!(e instanceof UsageError)) return;
    event.preventDefault();
    console.error(`error: ${e.message}`);
    Deno.exit(2);
  };
  globalThis.addEventListener("unhandledrejection", (ev) => report(ev.reason, ev));
  globalThis.addEventListener("error", (ev) => report(ev.error, ev));
}

/** A negative number as a flag's value: `--x -0.1` means `--x=-0.1`. */
const NEGATIVE = /^-(\d|\.\d|Infinity$)/;

/**
 * `node:util` parseArgs (strict), with `--x -0.1` read as `--x=-0.1` for string flags and
 * every parse failure (unknown flag, missing value, stray argument) a UsageError.
 *
 * @param options the flags, as for parseArgs
 * @param args the command line (default `Deno.args`)
 * @returns the flags' values
 * @example
 * ```ts
 * import { parseFlags } from "./cli.ts";
 * const v = parseFlags({ p: { type: "string" } }, ["--p", "-0.1"]);
 * console.log(v.p); // "-0.1"
 * ```
 */
export function parseFlags<T extends ParseArgsOptionsConfig>(
  options: T,
  args: readonly string[] = Deno.args,
): ReturnType<typeof parseArgs<{ options: T }>>["values"] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith("--") ? args[i].slice(2) : null;
    if (name && options[name]?.type === "string" && NEGATIVE.test(args[i + 1] ?? "")) {
      joined.push(`${args[i]}=${args[++i]}`);
    } else joined.push(args[i]);
  }
  try {
    return parseArgs({ options, args: joined }).values;
  } catch (e) {
    const code = (e as { code?: string }).code ?? "";
    if (!code.startsWith("ERR_PARSE_ARGS")) throw e;
    // parseArgs' hints about positionals and "--" do not apply to these scripts.
    const first = (e as Error).message.split(/\.\s/)[0].replace(/\.$/, "");
    throw new UsageError(`${first}; --help lists the flags`);
  }
}

/**
 * A number flag: the value, or undefined when the flag was not given.
 *
 * @param v the flag's text
 * @param flag its name, for the message
 * @param kind "int" (an integer), "positive" (an integer ≥ 1) or "number" (finite)
 * @returns the number
 * @example
 * ```ts
 * import { numberFlag } from "./cli.ts";
 * numberFlag("32", "batch", "positive"); // 32
 * ```
 */
export function numberFlag(
  v: string | undefined,
  flag: string,
  kind: "int" | "positive" | "number" = "number",
): number | undefined {
  if (v === undefined) return undefined;
  const n = v.trim() === "" ? NaN : Number(v);
  const ok = kind === "number"
    ? Number.isFinite(n)
    : Number.isInteger(n) && (kind === "int" || n >= 1);
  if (!ok) {
    const what = kind === "number" ? "a number" : kind === "int" ? "an integer" : "an integer ≥ 1";
    throw new UsageError(`--${flag} must be ${what}, got "${v}"`);
  }
  return n;
}
