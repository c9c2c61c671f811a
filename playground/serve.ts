/**
 * Serves the playground on localhost: the page (playground/), its bundle (playground/dist,
 * from `deno task playground:build`) and the shipped fixtures it loads (fixtures/models,
 * fixtures/fmnist). Nothing else of the repository is served.
 *
 * ```
 * deno task playground:build && deno task playground --port 8000
 * ```
 */
import { exitOnUsageError, parseFlags, UsageError } from "../scripts/cli.ts";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  safetensors: "application/octet-stream",
  gz: "application/octet-stream",
};
const SERVED = [
  /^\/playground\/[\w.-]+$/,
  /^\/playground\/dist\/[\w.-]+$/,
  /^\/fixtures\/(models|fmnist)\//,
];

exitOnUsageError();
const a = parseFlags({
  port: { type: "string", default: "8000" },
  help: { type: "boolean", short: "h", default: false },
});
if (a.help) {
  console.log("usage: deno task playground [--port 8000]");
  Deno.exit(0);
}
const port = Number(a.port);
if (!(Number.isInteger(port) && port >= 0 && port < 65536)) {
  throw new UsageError(`--port must be an integer in [0, 65535], got ${a.port}`);
}
const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const bundle = `${ROOT}playground/dist/main.js`;
if (!await Deno.stat(bundle).then(() => true, () => false)) {
  throw new UsageError(`${bundle} is missing: run deno task playground:build first`);
}

Deno.serve({
  port,
  hostname: "127.0.0.1",
  onListen: ({ port }) => console.log(`playground: http://127.0.0.1:${port}/`),
}, async (req) => {
  let path = decodeURIComponent(new URL(req.url).pathname);
  if (path === "/") path = "/playground/index.html";
  if (path.includes("..") || !SERVED.some((r) => r.test(path))) {
    return new Response("not found", { status: 404 });
  }
  try {
    const body = await Deno.readFile(`${ROOT}${path.slice(1)}`);
    const type = TYPES[path.split(".").pop()!] ?? "application/octet-stream";
    return new Response(body, { headers: { "content-type": type } });
  } catch {
    return new Response("not found", { status: 404 });
  }
});
