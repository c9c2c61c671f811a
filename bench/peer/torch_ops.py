#!/usr/bin/python3
"""PyTorch peer for the op benchmarks: times the same cases as our kernels, for comparison.

This is a benchmark peer only; Python is never part of the package runtime.
Needs PyTorch (Debian: apt-get install python3-torch; tested with 1.13).

Usage:
    echo '[{"op": "matmul", "shape": {"M": 256, "N": 256, "K": 256}}]' \
        | python3 bench/peer/torch_ops.py [--threads 2] [--device cpu|cuda]

Input (stdin): a JSON list of cases, each
    {"op": OP, "shape": {...}, "reps": R?, "warmup": W?}
with OP and shape keys:
    "conv2d_fwd"   {N, C, K, H, W, k}   y = conv2d(x[N,C,H,W], w[K,C,k,k]), stride 1,
    "conv2d_dgrad" {N, C, K, H, W, k}   padding k//2 ("same"); dgrad = dL/dx, wgrad = dL/dw
    "conv2d_wgrad" {N, C, K, H, W, k}   (torch.nn.grad.conv2d_input / conv2d_weight)
    "matmul"       {M, N, K}            [M,K] @ [K,N]
    "group_norm"   {N, C, H, W, G}      F.group_norm(x[N,C,H,W], G, weight[C], bias[C])
    "attention"    {N, C, H, W, heads}  EDM UNetBlock self-attention on qkv[N,3C,H,W]: per head
                                        softmax(qᵀk/√c) then v·wᵀ (c = C/heads, L = H·W)
    "fft2c"        {N, H, W}            fftshift(fft2(ifftshift(x), norm="ortho")) over the last
                                        two dims of complex64 x[N,H,W] (fastMRI's fft2c)
All tensors are float32, contiguous, filled with standard normal values (seed 0).
"reps" (timed calls) defaults to enough calls for about 1 s, clamped to [5, 50];
"warmup" (untimed calls) defaults to at least 3 calls and 0.5 s; an explicit W means exactly W
(with W = 0 and no "reps", 5 reps).

Output (stdout): a JSON list, one object per case, in input order:
    {"op", "shape",
     "ms":      median wall time of one call in milliseconds (time.perf_counter),
     "ms_min":  fastest call,
     "reps":    timed calls,
     "gflops":  FLOPs / median time / 1e9, or null for group_norm,
     "gbps":    bytes / median time / 1e9 for group_norm, or null otherwise,
     "threads": torch.get_num_threads(), "torch": torch.__version__,
     "device":  "cpu" or the CUDA device's name,
     "blas":    PyTorch's BLAS_INFO build setting (matmul runs on it; "generic" means the
                reference BLAS behind Debian's libblas.so.3 alternative, which is slow;
                convolutions run on oneDNN whatever this says)}
FLOPs: conv (each of fwd, dgrad, wgrad) 2·N·K·C·k²·H·W; matmul 2·M·N·K; attention the two
batched products, 4·N·C·L² (softmax not counted); fft2c the nominal 5·N·H·W·log2(H·W) of a
complex FFT.
group_norm bytes: 4·(2·N·C·H·W + 2·C): x read once, y written once, weight and bias read
(the minimum traffic; the op may read x more than once).
Progress and errors go to stderr; a bad case exits with status 2.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_device import peer_device  # noqa: E402
from torch.nn.grad import conv2d_input, conv2d_weight

BLAS_INFO = next(
    (part.split("=", 1)[1] for part in torch.__config__.show().replace(",", " ").split()
     if part.startswith("BLAS_INFO=")),
    "unknown",
)

SHAPE_KEYS = {
    "conv2d_fwd": ("N", "C", "K", "H", "W", "k"),
    "conv2d_dgrad": ("N", "C", "K", "H", "W", "k"),
    "conv2d_wgrad": ("N", "C", "K", "H", "W", "k"),
    "matmul": ("M", "N", "K"),
    "group_norm": ("N", "C", "H", "W", "G"),
    "attention": ("N", "C", "H", "W", "heads"),
    "fft2c": ("N", "H", "W"),
}


def make_call(op, s, device):
    """Builds the inputs of one case and returns (call, flops or None, bytes or None)."""
    g = torch.Generator().manual_seed(0)
    randn = lambda *shape: torch.randn(*shape, generator=g).to(device)
    if op.startswith("conv2d_"):
        n, c, k_out, h, w, k = (s[key] for key in SHAPE_KEYS[op])
        pad = k // 2
        x, wt, gy = randn(n, c, h, w), randn(k_out, c, k, k), randn(n, k_out, h, w)
        flops = 2 * n * k_out * c * k * k * h * w
        if op == "conv2d_fwd":
            return (lambda: F.conv2d(x, wt, padding=pad)), flops, None
        if op == "conv2d_dgrad":
            return (lambda: conv2d_input(x.shape, wt, gy, padding=pad)), flops, None
        return (lambda: conv2d_weight(x, wt.shape, gy, padding=pad)), flops, None
    if op == "matmul":
        m, n, k = s["M"], s["N"], s["K"]
        a, b = randn(m, k), randn(k, n)
        return (lambda: torch.matmul(a, b)), 2 * m * n * k, None
    if op == "group_norm":
        n, c, h, w, groups = (s[key] for key in SHAPE_KEYS[op])
        if c % groups:
            raise ValueError(f"group_norm: C={c} is not a multiple of G={groups}")
        x, weight, bias = randn(n, c, h, w), randn(c), randn(c)
        nbytes = 4 * (2 * n * c * h * w + 2 * c)
        return (lambda: F.group_norm(x, groups, weight, bias, 1e-5)), None, nbytes
    if op == "attention":
        n, c, h, w, heads = (s[key] for key in SHAPE_KEYS[op])
        if c % heads:
            raise ValueError(f"attention: heads={heads} does not divide C={c}")
        qkv, ch, length = randn(n, 3 * c, h, w), c // heads, h * w

        def call():
            q, k, v = qkv.reshape(n * heads, ch, 3, length).unbind(2)
            wt = torch.softmax(torch.einsum("ncq,nck->nqk", q, k / math.sqrt(ch)), dim=2)
            return torch.einsum("nqk,nck->ncq", wt, v).reshape(n, c, h, w)

        return call, 4 * n * c * length * length, None
    if op == "fft2c":
        n, h, w = (s[key] for key in SHAPE_KEYS[op])
        x, dims = torch.complex(randn(n, h, w), randn(n, h, w)), (-2, -1)

        def call():
            shifted = torch.fft.ifftshift(x, dim=dims)
            return torch.fft.fftshift(torch.fft.fft2(shifted, norm="ortho"), dim=dims)

        return call, 5 * n * h * w * math.log2(h * w), None
    raise ValueError(f"unknown op {op!r}; expected one of {sorted(SHAPE_KEYS)}")


def time_case(case, device, sync, device_name):
    """Runs warm-up calls, then times `reps` calls; returns the result object."""
    op, shape = case["op"], case["shape"]
    missing = [key for key in SHAPE_KEYS.get(op, ()) if key not in shape]
    if missing:
        raise ValueError(f"{op}: shape lacks {missing}")
    call, flops, nbytes = make_call(op, shape, device)
    with torch.inference_mode():
        # oneDNN and the allocator take several calls to settle, so warm up by time too.
        warmup, start, per_call = case.get("warmup"), time.perf_counter(), 0.0
        done = 0
        while done < (warmup if warmup is not None else 3) or (
            warmup is None and time.perf_counter() - start < 0.5
        ):
            t0 = time.perf_counter()
            call()
            sync()
            per_call = time.perf_counter() - t0
            done += 1
        reps = case.get("reps") or (
            min(50, max(5, math.ceil(1.0 / max(per_call, 1e-6)))) if done else 5
        )
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            call()
            sync()  # CUDA runs asynchronously: a call is done when the device is
            times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    return {
        "op": op,
        "shape": shape,
        "ms": round(sec * 1e3, 4),
        "ms_min": round(min(times) * 1e3, 4),
        "reps": reps,
        "gflops": round(flops / sec / 1e9, 3) if flops is not None else None,
        "gbps": round(nbytes / sec / 1e9, 3) if nbytes is not None else None,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "blas": BLAS_INFO,
        "device": device_name,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device, sync, device_name = peer_device(args.device)
    try:
        cases = json.load(sys.stdin)
        if not isinstance(cases, list):
            raise ValueError("stdin must be a JSON list of cases")
        results = []
        for case in cases:
            results.append(time_case(case, device, sync, device_name))
            r = results[-1]
            print(f"{r['op']} {r['shape']}: {r['ms']} ms", file=sys.stderr)
    except (ValueError, KeyError, TypeError) as e:
        print(f"torch_ops.py: {e}", file=sys.stderr)
        sys.exit(2)
    json.dump(results, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
