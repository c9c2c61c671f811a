/**
 * Sections of BENCHMARKS.md that different scripts own: `deno task bench` rewrites the file
 * but keeps the sections it does not write (the paper-scale smoke run's), and each script
 * replaces only its own.
 *
 * @module
 */

/** The heading of the section `deno task smoke:paper` writes. */
export const SMOKE_HEADING = "## The paper's network end to end (smoke:paper)";

/**
 * The section under `heading` (the heading line through the line before the next "## "), or
 * "" where the text has none.
 *
 * @param markdown the document
 * @param heading a "## " heading line
 * @returns the section's lines joined, ending in a newline
 */
export function section(markdown: string, heading: string): string {
  const lines = markdown.split("\n");
  const start = lines.indexOf(heading);
  if (start < 0) return "";
  const next = lines.findIndex((l, i) => i > start && l.startsWith("## "));
  const body = lines.slice(start, next < 0 ? undefined : next);
  while (body.length && body.at(-1) === "") body.pop();
  return body.join("\n") + "\n";
}

/**
 * The document with the section under `heading` replaced by `text` (appended if absent).
 *
 * @param markdown the document
 * @param heading a "## " heading line
 * @param text the new section, starting with `heading`
 * @returns the new document
 */
export function replaceSection(markdown: string, heading: string, text: string): string {
  const old = section(markdown, heading);
  const body = text.endsWith("\n") ? text : text + "\n";
  if (!old) return markdown.replace(/\n*$/, "\n\n") + body;
  return markdown.replace(old, body);
}
