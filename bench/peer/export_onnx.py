#!/usr/bin/python3
"""Exports bench/peer/song_unet.py's EDMPrecond as ONNX (torch.onnx.export, opset 17), the
reference graph bench/onnx_graphs.ts times ours against. Benchmark peer only.

Usage: /usr/bin/python3 bench/peer/export_onnx.py CONFIG.json BATCH OUT.onnx
(PyTorch's own initialisation: the speed does not depend on the weights.)
"""

import json
import os
import sys

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from song_unet import EDMPrecond  # noqa: E402


def main(config, batch, out):
    with open(config) as f:
        cfg = json.load(f)
    net = EDMPrecond(cfg)
    net = net.eval()
    c, r = cfg["inChannels"], cfg["imgResolution"]
    x = torch.randn(int(batch), c, r, r)
    sigma = torch.ones(int(batch))
    torch.onnx.export(net, (x, sigma), out, input_names=["u", "sigma"],
                      output_names=["denoised"], opset_version=17)


if __name__ == "__main__":
    main(*sys.argv[1:])
