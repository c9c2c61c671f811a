/**
 * Runs a Python benchmark peer under bench/peer/: JSON in on stdin, JSON out on stdout.
 *
 * @module
 */

/**
 * The Python that runs the peers: `$ADPS_PYTHON`, else /usr/bin/python3 where it exists (Debian's
 * interpreter carries python3-torch; a pyenv python3 earlier on PATH does not), else python3.
 *
 * @returns the interpreter's path or name
 */
export async function peerPython(): Promise<string> {
  return Deno.env.get("ADPS_PYTHON") ?? await Deno.stat("/usr/bin/python3").then(
    () => "/usr/bin/python3",
    () => "python3",
  );
}

/**
 * Runs `bench/peer/<script>` with `input` as JSON on stdin and parses its stdout, echoing
 * the peer's stderr (progress) line by line. The interpreter is `$ADPS_PYTHON`, else
 * /usr/bin/python3 where it exists, else python3 on the PATH.
 *
 * @param script file name under bench/peer/, e.g. "torch_steps.py"
 * @param input what the peer reads from stdin (serialised with JSON.stringify)
 * @param device where PyTorch runs: "cpu" or "cuda" (the peer's --device)
 * @returns the parsed output, or a one-line reason why the peer did not run
 */
export async function runPeer<T>(
  script: string,
  input: unknown,
  device = "cpu",
): Promise<T | string> {
  let p;
  try {
    p = new Deno.Command(await peerPython(), {
      args: [new URL(`./peer/${script}`, import.meta.url).pathname, "--device", device],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch {
    return "python3 not found";
  }
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(input)));
  await w.close();
  // Echo the peer's progress (and checks such as parameter counts) as it comes; keep the
  // last line, which names the error when it fails.
  let last = "";
  const echo = (async () => {
    let buf = "";
    for await (const chunk of p.stderr.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const line of lines.filter((l) => l.trim())) {
        console.log(`  ${script}: ${line}`);
        last = line;
      }
    }
    if (buf.trim()) console.log(`  ${script}: ${(last = buf)}`);
  })();
  const [status, text] = await Promise.all([p.status, new Response(p.stdout).text(), echo]);
  if (!status.success) return last.trim() || `exited with status ${status.code}`;
  return JSON.parse(text) as T;
}
