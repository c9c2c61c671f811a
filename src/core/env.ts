/**
 * The host's environment where there is one: Deno's variables and OS, and nothing (undefined)
 * in a browser or without --allow-env, so the core imports and runs in both.
 *
 * @module
 */

/** The part of the `Deno` global the core reads, absent in a browser. */
interface DenoHost {
  env: { get(name: string): string | undefined; set(name: string, value: string): void };
  build: { os: string };
}

const host = (globalThis as { Deno?: DenoHost }).Deno;

/**
 * An environment variable, or undefined (unset, no permission, or no Deno).
 *
 * @param name the variable
 * @returns its value
 * @example
 * ```ts
 * import { envGet } from "./env.ts";
 * const backend = envGet("ADPS_BACKEND") ?? "webgpu";
 * ```
 */
export function envGet(name: string): string | undefined {
  try {
    return host?.env.get(name);
  } catch {
    return undefined; // No --allow-env: callers fall back to their defaults.
  }
}

/**
 * Sets `name` to `value` unless it is set; a no-op without Deno or --allow-env.
 *
 * @param name the variable
 * @param value its default
 */
export function envDefault(name: string, value: string): void {
  try {
    if (host && !host.env.get(name)) host.env.set(name, value);
  } catch {
    // No --allow-env: the defaults set here are remedies, not requirements.
  }
}

/**
 * The OS Deno runs on ("linux", "darwin", …), or undefined in a browser.
 *
 * @returns the OS name
 */
export function hostOs(): string | undefined {
  return host?.build.os;
}
