#!/usr/bin/python3
"""Converts a PyTorch state_dict of EDMPrecond(SongUNet) to safetensors for this package.

Usage:
    /usr/bin/python3 scripts/convert-state-dict.py IN.pt OUT.safetensors \\
        [--key ema|net] [--add-prefix model.] [--unsafe-pickle] \\
        [--p P --delta D] [--ambient|--clean] [--dropout R] [--name NAME] \\
        [--model-channels C] [--channel-mult 1,2,2,2] [--num-blocks N] [--attn 16] \\
        [--image-size N] [--no-config]

IN.pt is what torch.save wrote: a state_dict, or a dict holding one (or a module) under
'ema' or 'net' (the EMA weights are taken when both exist; --key chooses). Every tensor is
written as f32 under the same name, in the same order, buffers included (the reference's
`*.resample_filter`; the package's loader ignores them after checking they are the [1,1]
filter). --add-prefix prepends a prefix to every name (e.g. "model." for the state_dict of
a bare SongUNet). Prints the number of tensors and of scalar values (parameters, buffers).
Load the result with `loadParamsFile(path, new SongUNet(config).registry, backend)`.

The network's configuration is written as the file's "config" metadata (the form of a run's
config.json), so scripts/sample.ts and scripts/transfer-cs.ts take the file as it is. It is
inferred from the tensor shapes: resolution, channels, channel multipliers, blocks per level,
attention resolutions, and ambient (the input holds the mask channels, twice the output's)
or clean; each flag given is checked against it, and the peer's EDMPrecond(SongUNet) of that
configuration must have exactly the file's names and shapes. What shapes cannot tell comes
from flags: the training corruption --p and --delta (an ambient network's config needs them:
A-DPS draws the further mask M-tilde from them; the paper's CelebA: --p 0.6 --delta 0.1;
without them no config is written, with a warning) and the dropout rate (training only). --no-config writes the tensors alone; such a bare file is read
by the scripts with their --config flag (a JSON file of the same form).

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
import json
import os
import re
import sys

import torch

# Keep the repository free of __pycache__ folders.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench",
                                "peer"))
from song_unet import EDMPrecond, state_dict_from, write_safetensors  # noqa: E402


def infer_network(tensors):
    """SongUNetConfig keys and the image shape from the names and shapes of EDMPrecond's."""
    def need(name):
        if name not in tensors:
            raise SystemExit(f"cannot infer the network: no tensor {name} (not an "
                             f"EDMPrecond(SongUNet) state_dict? a bare SongUNet's needs "
                             f"--add-prefix model.)")
        return tensors[name]

    convs = [m for m in map(re.compile(r"^model\.enc\.(\d+)x\1_conv\.weight$").match, tensors)
             if m]
    if len(convs) != 1:
        raise SystemExit(f"cannot infer the network: {len(convs)} input convolutions "
                         f"model.enc.RxR_conv.weight (expected 1)")
    res = int(convs[0].group(1))
    mc, cin = need(convs[0].group(0)).shape[:2]
    nb = 0
    while f"model.enc.{res}x{res}_block{nb}.conv1.weight" in tensors:
        nb += 1
    mult, attn, r = [], [], res
    while any(n.startswith(f"model.enc.{r}x{r}_") for n in tensors):
        mult.append(need(f"model.enc.{r}x{r}_block{nb - 1}.conv1.weight").shape[0] // mc)
        if f"model.enc.{r}x{r}_block0.qkv.weight" in tensors:
            attn.append(r)
        r //= 2
    cout = need(f"model.dec.{res}x{res}_aux_conv.weight").shape[0]
    if cin not in (cout, 2 * cout):
        raise SystemExit(f"cannot infer the network: {cin} input channels for {cout} output "
                         f"channels (expected {cout}, or {2 * cout} with the ambient masks)")
    net = {"modelChannels": mc, "channelMult": mult, "numBlocks": nb,
           "attnResolutions": sorted(attn)}
    return net, {"res": res, "cin": cin, "cout": cout}


def network_config(tensors, args):
    """The run-config JSON of the file's network: inferred, checked against the flags."""
    net, shape = infer_network(tensors)
    ambient = shape["cin"] == 2 * shape["cout"]
    given = {"modelChannels": args.model_channels, "numBlocks": args.num_blocks,
             "channelMult": args.channel_mult and [int(x) for x in args.channel_mult.split(",")],
             "attnResolutions": None if args.attn is None else
             sorted(int(x) for x in args.attn.split(",") if x.strip()),
             "image-size": args.image_size, "ambient": args.ambient}
    inferred = {**net, "image-size": shape["res"], "ambient": ambient}
    wrong = [f"{k}: flag {v}, file {inferred[k]}" for k, v in given.items()
             if v is not None and v != inferred[k]]
    if wrong:
        raise SystemExit("the flags disagree with the tensor shapes: " + "; ".join(wrong))
    if ambient and (args.p is None or args.delta is None):
        print("no config written: an ambient network (input = image + mask channels) needs its "
              "training corruption, --p P --delta D (the paper's CelebA: --p 0.6 --delta 0.1); "
              "without them the scripts take this file with --config FILE.json", file=sys.stderr)
        return None
    if not ambient and (args.p or args.delta):
        raise SystemExit("a clean network (no mask channels) takes no --p or --delta")
    channels = shape["cout"]
    return {
        "name": args.name or os.path.splitext(os.path.basename(args.output))[0],
        "data": {"kind": "folder", "dir": "", "size": shape["res"], "channels": channels},
        "network": {**net, "dropout": args.dropout},
        "ambient": ambient,
        "corruption": {"p": args.p or 0, "delta": args.delta or 0},
        "corruptionSeed": 0,
    }


def check_against_peer(config, tensors):
    """The peer's EDMPrecond of `config` (on the meta device: no memory) has the same tensors."""
    shape = config["data"]
    cfg = {**config["network"], "imgResolution": shape["size"],
           "inChannels": shape["channels"] * (2 if config["ambient"] else 1),
           "outChannels": shape["channels"]}
    want = {n: list(t.shape) for n, t in EDMPrecond(cfg, device="meta").state_dict().items()}
    got = {n: list(t.shape) for n, t in tensors.items()}
    if want != got:
        missing = sorted(set(want) - set(got))[:3]
        extra = sorted(set(got) - set(want))[:3]
        shapes = [f"{n} {got[n]} vs {want[n]}" for n in want if n in got and got[n] != want[n]]
        raise SystemExit(f"the inferred network {cfg} does not match the file: missing "
                         f"{missing}, unexpected {extra}, shapes {shapes[:3]}")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="file written by torch.save")
    ap.add_argument("output", help="safetensors file to write")
    ap.add_argument("--key", default=None, help="entry of a dict to take (default ema, net)")
    ap.add_argument("--add-prefix", default="", help="prefix prepended to every name")
    ap.add_argument("--unsafe-pickle", action="store_true",
                    help="full unpickling (runs code from the file)")
    ap.add_argument("--p", type=float, help="training erasure level p (ambient)")
    ap.add_argument("--delta", type=float, help="further erasure delta (ambient)")
    kind = ap.add_mutually_exclusive_group()
    kind.add_argument("--ambient", action="store_const", const=True, default=None,
                      help="check: the network takes the mask channels")
    kind.add_argument("--clean", dest="ambient", action="store_const", const=False,
                      help="check: the network takes the image alone")
    ap.add_argument("--dropout", type=float, default=0.0, help="dropout rate (training only)")
    ap.add_argument("--name", help="the config's name (default: the output's file name)")
    ap.add_argument("--model-channels", type=int, help="check against the shapes")
    ap.add_argument("--channel-mult", help="check against the shapes, e.g. 1,2,2,2")
    ap.add_argument("--num-blocks", type=int, help="check against the shapes")
    ap.add_argument("--attn", help="check: attention resolutions, e.g. 16")
    ap.add_argument("--image-size", type=int, help="check against the shapes")
    ap.add_argument("--no-config", action="store_true", help="write no config metadata")
    args = ap.parse_args(argv)

    obj = torch.load(args.input, map_location="cpu", weights_only=not args.unsafe_pickle)
    state = state_dict_from(obj, args.key)
    bad = [n for n, t in state.items() if not t.is_floating_point()]
    if bad:
        raise SystemExit(f"non-floating-point tensors cannot be converted: {bad}")
    tensors = {args.add_prefix + n: t for n, t in state.items()}
    metadata = {"source": os.path.basename(args.input)}
    config = None if args.no_config else network_config(tensors, args)
    if config is not None:
        check_against_peer(config, tensors)
        metadata.update(format="edm-precond-songunet/1", config=json.dumps(config))
        print(f"config: {json.dumps(config)}")
    write_safetensors(args.output, tensors, metadata)
    buffers = {n for n in tensors if n.endswith(".resample_filter")}
    params = sum(t.numel() for n, t in tensors.items() if n not in buffers)
    bufvals = sum(tensors[n].numel() for n in buffers)
    print(f"{len(tensors)} tensors ({len(tensors) - len(buffers)} parameters, "
          f"{len(buffers)} buffers): {params} parameter values, {bufvals} buffer values "
          f"-> {args.output}")


if __name__ == "__main__":
    main(sys.argv[1:])
