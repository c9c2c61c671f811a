"""Where the PyTorch peers run: the CPU, or a CUDA device timed with explicit synchronisation.

Benchmark peer only; Python is never part of the package runtime.
"""

import sys

import torch


def peer_device(name):
    """Returns (torch.device, sync(), device description) for "cpu" or "cuda"."""
    if name == "cpu":
        return torch.device("cpu"), lambda: None, "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            print("--device cuda: PyTorch sees no CUDA device", file=sys.stderr)
            sys.exit(2)
        return torch.device("cuda"), torch.cuda.synchronize, torch.cuda.get_device_name(0)
    print(f"--device {name}: expected cpu or cuda", file=sys.stderr)
    sys.exit(2)
