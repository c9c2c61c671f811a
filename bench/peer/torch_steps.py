#!/usr/bin/python3
"""PyTorch peer for the network benchmarks: times whole steps of EDMPrecond(SongUNet).

The network is bench/peer/song_unet.py's EDMPrecond, the same architecture and parameter count
as the package's; the steps mirror scripts/bench.ts's network cases:
  "train"   one ambient training step (src/ambient/loss.ts, src/train/train.ts): masks M ~
            Bernoulli(1 - p) and M~ = M * Bernoulli(1 - delta) drawn per step, sigma from
            EDM's log-normal, loss sum(lambda(sigma) (M (D(concat[M~ (M x + sigma n), M~],
            sigma) - M x))^2) / N (the M~ loss computed too, detached, as ours logs it),
            backward, clip_grad_norm_, Adam, EMA (lerp) of every parameter; dropout on;
  "adps"    one A-DPS step (src/sampling/dps.ts, one Euler step, no Heun): D of the
            ambient input with a fixed M~, clamped to [-1, 1], per-sample residual norms of
            the inpainting operator, their gradient w.r.t. x (parameters frozen), the Euler
            and likelihood updates; eval mode;
  "forward" D(concat[M~ x, M~], 1) under torch.inference_mode(); eval mode.
This is a benchmark peer only; Python is never part of the package runtime.
Needs PyTorch (Debian: apt-get install python3-torch; tested with 1.13) and numpy.

Usage:
    echo '{"config": {...}, "batch": 32, "params": 1753281}' \\
        | /usr/bin/python3 bench/peer/torch_steps.py [--threads 2] [--device cpu|cuda]

Input (stdin): one JSON object
    {"config":  SongUNetConfig (imgResolution, inChannels, outChannels, modelChannels,
                channelMult, numBlocks, attnResolutions, dropout); inChannels must be
                2 * outChannels (an ambient network),
     "batch":   images per step,
     "params":  our parameter count (optional; a different count here exits with status 2),
     "cases":   subset of ["train", "adps", "forward"] (default all, in that order),
     "corruption": {"p", "delta"} (default 0.6, 0.1), "lr" (2e-4), "grad_clip" (1.0),
     "ema_beta" (0.999), "zeta" (4.0),
     "min_ms":  time at least this long per case after warm-up (default 1000),
     "warmup":  untimed calls per case (default 20; oneDNN settles after about 20),
     "min_reps": at least this many timed calls (default 5)}
Output (stdout): one JSON object
    {"params": our count of this network, "torch": torch.__version__,
     "threads": torch.get_num_threads(), "device": "cpu" or the CUDA device's name,
     "forward_flops": nominal FLOPs of one forward at this batch (2 x the multiply-adds of
                      its convolutions, linear layers and attention products),
     "results": [{"case", "ms": median ms per call, "ms_min", "cpu_ms": median process CPU
                  ms per call (all threads), "reps",
                  "images_per_s": batch / median s}, ...] in input order}
Progress, the two parameter counts and errors go to stderr; bad input exits with status 2.
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

# The sibling module, imported without leaving a __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from song_unet import SIGMA_DATA, EDMPrecond  # noqa: E402
from torch_device import peer_device  # noqa: E402

P_MEAN, P_STD = -1.2, 1.2
CASES = ("train", "adps", "forward")


def make_steps(spec, device):
    """Builds the network, its optimiser and inputs; returns ({case: call}, parameter count)."""
    cfg, n = spec["config"], spec["batch"]
    c, res = cfg["outChannels"], cfg["imgResolution"]
    if cfg["inChannels"] != 2 * c:
        raise ValueError(f"inChannels {cfg['inChannels']} must be 2 * outChannels {c} "
                         "(an ambient network)")
    corruption = spec.get("corruption", {"p": 0.6, "delta": 0.1})
    p, delta = corruption["p"], corruption["delta"]
    grad_clip, ema_beta = spec.get("grad_clip", 1.0), spec.get("ema_beta", 0.999)
    zeta = spec.get("zeta", 4.0)

    torch.manual_seed(0)
    net = EDMPrecond(cfg).to(device)
    params = list(net.parameters())
    count = sum(t.numel() for t in params)
    ema = [t.detach().clone() for t in params]
    opt = torch.optim.Adam(params, lr=spec.get("lr", 2e-4), betas=(0.9, 0.999), eps=1e-8)
    images = torch.rand(n, c, res, res, device=device) * 2 - 1
    sd2 = SIGMA_DATA ** 2

    def bernoulli(keep, shape):
        return torch.bernoulli(torch.full(shape, keep, device=device))

    def train():
        net.train()
        m = bernoulli(1 - p, (n, 1, res, res))
        mt = m * bernoulli(1 - delta, (n, 1, res, res))
        sigma = (torch.randn(n, device=device) * P_STD + P_MEAN).exp()
        weight = ((sigma * sigma + sd2) / (sigma * sigma * sd2)).reshape(n, 1, 1, 1)
        y = m * images
        noise = torch.randn_like(images) * sigma.reshape(n, 1, 1, 1)
        u = torch.cat([mt * (y + noise), mt.expand(n, c, res, res)], dim=1)
        residual = net(u, sigma) - y
        loss = (weight * (m * residual) ** 2).sum() / n
        # Logged only (ours computes it in the same pass, never differentiates it).
        further = (weight * (mt * residual.detach()) ** 2).sum() / n
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, grad_clip)
        opt.step()
        with torch.no_grad():
            for e, t in zip(ema, params):
                e.lerp_(t, 1 - ema_beta)
        return loss, further

    # A-DPS at the first level of a one-step schedule (sigma_max = 80 -> 0), as ours runs it.
    t_cur, t_next = 80.0, 0.0
    m_op = bernoulli(1 - p, (1, 1, res, res))
    m_tilde = bernoulli((1 - p) * (1 - delta), (1, 1, res, res)).expand(n, 1, res, res)
    y_obs = m_op * images
    sigma_cur = torch.full((n,), t_cur, device=device)
    x_cur = torch.randn(n, c, res, res, device=device) * t_cur
    m_in = m_tilde.expand(n, c, res, res)

    def adps():
        net.eval()
        for t in params:
            t.requires_grad_(False)
        try:
            x = x_cur.detach().requires_grad_(True)
            d = net(torch.cat([m_tilde * x, m_in], dim=1), sigma_cur).clamp(-1, 1)
            r = m_op * d - y_obs
            loss = torch.sqrt(r.pow(2).sum(dim=(1, 2, 3)) + 1e-30).sum()
            (g,) = torch.autograd.grad(loss, x)
            with torch.no_grad():
                d_cur = (x - d) / t_cur
                return x + d_cur * (t_next - t_cur) - zeta * g
        finally:
            for t in params:
                t.requires_grad_(True)

    def forward():
        net.eval()
        with torch.inference_mode():
            return net(torch.cat([m_tilde * x_cur, m_in], dim=1), torch.ones(n, device=device))

    net.eval()
    flops = forward_flops(net, torch.cat([m_tilde * x_cur, m_in], dim=1),
                          torch.ones(n, device=device))
    return {"train": train, "adps": adps, "forward": forward}, count, flops


def forward_flops(net, x, sigma):
    """Nominal FLOPs of one forward: 2 x the multiply-adds of its convolutions, linear layers
    and attention products (the direct algorithms), counted by wrapping those functions."""
    total = 0
    conv2d, linear, bmm = F.conv2d, F.linear, torch.bmm

    def count_conv(inp, w, *rest, **kw):
        nonlocal total
        y = conv2d(inp, w, *rest, **kw)
        total += 2 * y.numel() * w[0].numel()
        return y

    def count_linear(inp, w, *rest, **kw):
        nonlocal total
        y = linear(inp, w, *rest, **kw)
        total += 2 * y.numel() * w.shape[1]
        return y

    def count_bmm(a, b, *rest, **kw):
        nonlocal total
        y = bmm(a, b, *rest, **kw)
        total += 2 * y.numel() * a.shape[2]
        return y

    F.conv2d, F.linear, torch.bmm = count_conv, count_linear, count_bmm
    try:
        with torch.no_grad():
            net(x, sigma)
    finally:
        F.conv2d, F.linear, torch.bmm = conv2d, linear, bmm
    return total


def time_call(call, warmup, min_ms, min_reps, sync):
    """Warm-up calls, then at least min_reps timed calls and min_ms; returns the wall times
    and the process CPU times (all of torch's threads) of the calls, in s."""
    for _ in range(warmup):
        call()
    sync()
    times, cpu_times, total = [], [], 0.0
    while len(times) < min_reps or total * 1e3 < min_ms:
        t0, c0 = time.perf_counter(), time.process_time()
        call()
        sync()  # CUDA runs asynchronously: a step is done when the device is
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
        total += times[-1]
    return times, cpu_times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device, sync, device_name = peer_device(args.device)
    try:
        spec = json.load(sys.stdin)
        if not isinstance(spec, dict) or "config" not in spec or "batch" not in spec:
            raise ValueError("stdin must be a JSON object with config and batch")
        cases = spec.get("cases", list(CASES))
        unknown = [c for c in cases if c not in CASES]
        if unknown:
            raise ValueError(f"unknown cases {unknown}; expected some of {list(CASES)}")
        steps, count, flops = make_steps(spec, device)
        ours = spec.get("params")
        print(f"parameters: ours {ours}, PyTorch {count}", file=sys.stderr)
        if ours is not None and ours != count:
            raise ValueError(f"parameter counts differ: ours {ours}, PyTorch {count}")
    except (ValueError, KeyError, TypeError) as e:
        print(f"torch_steps.py: {e}", file=sys.stderr)
        sys.exit(2)
    results = []
    for case in cases:
        times, cpu_times = time_call(steps[case], spec.get("warmup", 20),
                                     spec.get("min_ms", 1000), spec.get("min_reps", 5), sync)
        sec = statistics.median(times)
        results.append({
            "case": case,
            "ms": round(sec * 1e3, 3),
            "ms_min": round(min(times) * 1e3, 3),
            "cpu_ms": round(statistics.median(cpu_times) * 1e3, 3),
            "reps": len(times),
            "images_per_s": round(spec["batch"] / sec, 3) if sec > 0 else math.inf,
        })
        print(f"{case}: {results[-1]['ms']} ms ({results[-1]['reps']} reps)", file=sys.stderr)
    json.dump({"params": count, "torch": torch.__version__, "threads": torch.get_num_threads(),
               "device": device_name, "forward_flops": flops, "results": results},
              sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
