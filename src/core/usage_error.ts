/**
 * The error of a user's mistake, kept apart from the command-line helpers (scripts/cli.ts) so the
 * library raises it without importing `node:util` (a browser has none).
 *
 * @module
 */

/** A mistake in what the user asked for; the message says what to do instead. */
export class UsageError extends Error {
  /** Error name. */
  override name = "UsageError";
}
