#!/usr/bin/python3
"""Converts a PyTorch state_dict of EDMPrecond(SongUNet) to safetensors for this package.

Usage:
    /usr/bin/python3 scripts/convert-state-dict.py IN.pt OUT.safetensors \\
        [--key ema|net] [--add-prefix model.] [--unsafe-pickle]

IN.pt is what torch.save wrote: a state_dict, or a dict holding one (or a module) under
'ema' or 'net' (the EMA weights are taken when both exist; --key chooses). Every tensor is
written as f32 under the same name, in the same order, buffers included (the reference's
`*.resample_filter`; the package's loader ignores them after checking they are the [1,1]
filter). --add-prefix prepends a prefix to every name (e.g. "model." for the state_dict of
a bare SongUNet). Prints the number of tensors and of scalar values (parameters, buffers).
Load the result with `loadParamsFile(path, new SongUNet(config).registry, backend)`.

By default the file is read with torch.load(weights_only=True), which unpickles tensors and
plain containers only; a file that pickles whole modules needs --unsafe-pickle (which runs
arbitrary code from the file: only for files you trust) and the module's classes importable.
The reference's network-snapshot-*.pkl files are pickles of modules with their source code
embedded: load them in the reference's environment and torch.save(net.state_dict()) first.

The reverse direction: our safetensors files (saveParamsFile) load into PyTorch with the
peer's loader, `load_weights(EDMPrecond(config), path)` in bench/peer/song_unet.py, or
with any safetensors reader followed by `net.load_state_dict(tensors, strict=False)` (only
the resample_filter buffers are absent from our files).
"""

import argparse
import os
import sys

import torch

# Keep the repository free of __pycache__ folders.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench",
                                "peer"))
from song_unet import state_dict_from, write_safetensors  # noqa: E402


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="file written by torch.save")
    ap.add_argument("output", help="safetensors file to write")
    ap.add_argument("--key", default=None, help="entry of a dict to take (default ema, net)")
    ap.add_argument("--add-prefix", default="", help="prefix prepended to every name")
    ap.add_argument("--unsafe-pickle", action="store_true",
                    help="full unpickling (runs code from the file)")
    args = ap.parse_args(argv)

    obj = torch.load(args.input, map_location="cpu", weights_only=not args.unsafe_pickle)
    state = state_dict_from(obj, args.key)
    bad = [n for n, t in state.items() if not t.is_floating_point()]
    if bad:
        raise SystemExit(f"non-floating-point tensors cannot be converted: {bad}")
    tensors = {args.add_prefix + n: t for n, t in state.items()}
    write_safetensors(args.output, tensors, {"source": os.path.basename(args.input)})
    buffers = {n for n in tensors if n.endswith(".resample_filter")}
    params = sum(t.numel() for n, t in tensors.items() if n not in buffers)
    bufvals = sum(tensors[n].numel() for n in buffers)
    print(f"{len(tensors)} tensors ({len(tensors) - len(buffers)} parameters, "
          f"{len(buffers)} buffers): {params} parameter values, {bufvals} buffer values "
          f"-> {args.output}")


if __name__ == "__main__":
    main(sys.argv[1:])
