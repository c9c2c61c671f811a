import assert from "node:assert/strict";
import { hasGpu } from "./harness.ts";

/** A child that acquires the device as the package does, then reports the shared objects it mapped. */
const CHILD = `
import { getGpuDevice } from ${JSON.stringify(new URL("../gpu/device.ts", import.meta.url).href)};
const gpu = await getGpuDevice();
const maps = Deno.readTextFileSync("/proc/self/maps");
console.log(JSON.stringify({ adapter: gpu?.description ?? null, egl: maps.includes("libEGL") }));
`;

Deno.test({
  name: "device: on Linux the adapter request asks wgpu for Vulkan alone, so libEGL never loads",
  // glvnd's libEGL aborts `deno test` at exit ("double free") about one run in ten.
  ignore: !hasGpu || Deno.build.os !== "linux",
  async fn() {
    const env = Deno.env.toObject();
    delete env.DENO_WEBGPU_BACKEND; // the package's default, not CI's export
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--unstable-webgpu", "--ext=ts", CHILD],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const report = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.notEqual(report.adapter, null, "no adapter with the Vulkan-only default");
    assert.equal(report.egl, false, "libEGL was mapped: wgpu probed OpenGL");
  },
});
