#!/usr/bin/python3
"""PyTorch peer of the package's denoiser: EDMPrecond around the "DDPM++" U-Net (SongUNet).

Written for this package from docs/method.md §2.4 and from src/nn/*.ts (it is not the NVlabs code):
the same architecture and the same parameter names, so that
  * our safetensors checkpoints load here (`load_weights`), and state_dicts saved here
    (or by the reference code) convert to our format (scripts/convert-state-dict.py);
  * tests/interop_test.ts can compare our forward pass with an independent implementation.
Python is never part of the package runtime. Needs PyTorch (Debian: python3-torch) and numpy.

Architecture (EDM SongUNet with the standard encoder/decoder, no labels, no augmentation):
  noise embedding: sinusoidal, freqs = (1/10000)^(j/(C/2 - 1)) (endpoint), laid out as
    [sin, cos] (the reference's [cos, sin] with halves swapped), then
    silu(map_layer0), silu(map_layer1) (width 4·model_channels);
  block: h = conv0(silu(norm0(x))); h = silu(norm1(h + affine(emb))) (no adaptive scale);
    h = conv1(dropout(h)); h = (h + skip(x)) / sqrt(2); optionally one-head self-attention
    h = (proj(attn(qkv(norm2(h)))) + h) / sqrt(2); GroupNorm eps 1e-6, groups
    min(32, C // 4); up/down blocks resample (nearest 2x up, 2x2 average down: the [1,1]
    filter) inside conv0 and inside the 1x1 skip;
  output: aux_conv(silu(aux_norm(h))) at full resolution.
  preconditioning: D(x, s) = c_skip·x[:, :out_channels] + c_out·F(c_in·x, ln(s)/4).

Usage:
    /usr/bin/python3 bench/peer/song_unet.py forward --config cfg.json --weights W \\
        --input in.safetensors --out out.safetensors [--dtype float32|float64]
        W: a .safetensors file (ours, names as below) or a torch.save'd state_dict / dict
        holding one under 'ema' or 'net'. The input holds "x" [N, in, R, R] and "sigma" [N];
        the output holds "D" [N, out, R, R] (f32, or f64 with --dtype float64).
    /usr/bin/python3 bench/peer/song_unet.py count --config cfg.json [--config cfg2.json ...]
        prints the number of parameters of each configuration, one a line.
    /usr/bin/python3 bench/peer/song_unet.py init --config cfg.json --out sd.pt \\
        [--seed S] [--perturb] [--key ema]
        saves torch.save(state_dict) (wrapped as {key: state_dict} with --key); --perturb
        replaces every value by a non-trivial random one (the zero-initialised layers too).
cfg.json uses the package's SongUNetConfig keys: imgResolution, inChannels, outChannels,
modelChannels, channelMult, numBlocks, attnResolutions, dropout.
Parameter names: model.map_layer0.weight, model.enc.32x32_conv.weight,
model.enc.16x16_block0.norm0.weight, model.dec.64x64_aux_conv.bias, ...; up/down
convolutions also carry the reference's `resample_filter` buffer ([1, 1, 2, 2] of 1/4).
"""

import argparse
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SIGMA_DATA = 0.5
SKIP_SCALE = math.sqrt(0.5)
EPS = 1e-6

# ---------------------------------------------------------------------------- safetensors

_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2"}


def read_safetensors(path):
    """Returns ({name: tensor}, metadata) of a safetensors file (F32, F64, F16 tensors)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file (shorter than 8 bytes)")
    (hlen,) = struct.unpack("<Q", data[:8])
    if 8 + hlen > len(data):
        raise ValueError(f"{path}: header length {hlen} exceeds the file (truncated?)")
    header = json.loads(data[8:8 + hlen])
    metadata = header.pop("__metadata__", None) or {}
    base = 8 + hlen
    out = {}
    for name, h in header.items():
        start, end = h["data_offsets"]
        if base + end > len(data):
            raise ValueError(f"{path}: {name} runs past the end of the file (truncated?)")
        if h["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: {name} has unsupported dtype {h['dtype']}")
        arr = np.frombuffer(data, dtype=_DTYPES[h["dtype"]], count=math.prod(h["shape"]),
                            offset=base + start)
        out[name] = torch.from_numpy(arr.copy()).reshape(h["shape"])
    return out, metadata


def write_safetensors(path, tensors, metadata=None, dtype=torch.float32):
    """Writes {name: tensor} as little-endian F32 (or F64), data 8-byte aligned."""
    tag = {torch.float32: "F32", torch.float64: "F64"}[dtype]
    header = {"__metadata__": metadata} if metadata else {}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        # numpy writes the host byte order: little-endian on every platform torch ships for.
        blob = t.detach().to(dtype).contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": tag, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for blob in blobs:
            f.write(blob)


# ---------------------------------------------------------------------------------- layers


def _xavier(shape, fan_in, fan_out, gain, device):
    """EDM's xavier_uniform init (times init_weight `gain`); no values on the meta device."""
    w = torch.empty(shape, device=device)
    if w.device.type != "meta":
        bound = gain * math.sqrt(6 / (fan_in + fan_out))
        w.uniform_(-bound, bound)
    return nn.Parameter(w)


def _filled(n, value, device):
    return nn.Parameter(torch.full((n,), float(value), device=device))


class Linear(nn.Module):
    """y = x W^T + b, W [out, in]."""

    def __init__(self, fin, fout, gain=1.0, device=None):
        super().__init__()
        self.weight = _xavier((fout, fin), fin, fout, gain, device)
        self.bias = _filled(fout, 0, device)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class Conv2d(nn.Module):
    """Optional 2x resampling with the [1,1] filter, then a k x k 'same' convolution + bias."""

    def __init__(self, cin, cout, kernel, up=False, down=False, gain=1.0, device=None):
        super().__init__()
        self.up, self.down = up, down
        if kernel:
            fan_in, fan_out = cin * kernel * kernel, cout * kernel * kernel
            self.weight = _xavier((cout, cin, kernel, kernel), fan_in, fan_out, gain, device)
            self.bias = _filled(cout, 0, device)
        else:
            self.weight = self.bias = None
        if up or down:
            # Kept only so that state_dicts match the reference's; the resampling below is
            # what this filter (outer([1,1], [1,1]) / 4) computes.
            self.register_buffer("resample_filter", torch.full((1, 1, 2, 2), 0.25, device=device))

    def forward(self, x):
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.down:
            x = F.avg_pool2d(x, 2)
        if self.weight is not None:
            # int(): torch.onnx's tracer hands shapes over as tensors.
            x = F.conv2d(x, self.weight, self.bias, padding=int(self.weight.shape[-1]) // 2)
        return x


class GroupNorm(nn.Module):
    """GroupNorm with min(32, C // 4) groups and per-channel scale/shift."""

    def __init__(self, channels, device=None):
        super().__init__()
        self.groups = min(32, channels // 4)
        self.weight = _filled(channels, 1, device)
        self.bias = _filled(channels, 0, device)

    def forward(self, x):
        return F.group_norm(x, self.groups, self.weight, self.bias, eps=EPS)


class UNetBlock(nn.Module):
    """Residual block: norm-silu-conv, embedding shift, norm-silu-dropout-conv, skip, attention."""

    def __init__(self, cin, cout, emb_channels, up=False, down=False, attention=False,
                 dropout=0.0, device=None):
        super().__init__()
        self.in_channels = cin
        self.dropout = dropout
        self.norm0 = GroupNorm(cin, device)
        self.conv0 = Conv2d(cin, cout, 3, up=up, down=down, device=device)
        self.affine = Linear(emb_channels, cout, device=device)
        self.norm1 = GroupNorm(cout, device)
        self.conv1 = Conv2d(cout, cout, 3, gain=1e-5, device=device)
        self.skip = None
        if cin != cout or up or down:
            self.skip = Conv2d(cin, cout, 1, up=up, down=down, device=device)
        self.attention = attention
        if attention:
            self.norm2 = GroupNorm(cout, device)
            self.qkv = Conv2d(cout, 3 * cout, 1, gain=math.sqrt(0.2), device=device)
            self.proj = Conv2d(cout, cout, 1, gain=1e-5, device=device)

    def forward(self, x, emb):
        h = self.conv0(F.silu(self.norm0(x)))
        h = F.silu(self.norm1(h + self.affine(emb)[:, :, None, None]))
        h = self.conv1(F.dropout(h, p=self.dropout, training=self.training))
        h = (h + (x if self.skip is None else self.skip(x))) * SKIP_SCALE
        if self.attention:
            n, c, height, width = h.shape
            # Channel 3i + j of qkv is component i of q (j = 0), k (j = 1) or v (j = 2).
            qkv = self.qkv(self.norm2(h)).reshape(n, c, 3, height * width)
            q, k, v = qkv.unbind(2)
            w = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(c), dim=2)
            a = torch.bmm(v, w.transpose(1, 2)).reshape(n, c, height, width)
            h = (self.proj(a) + h) * SKIP_SCALE
        return h


# ------------------------------------------------------------------------------- networks


class SongUNet(nn.Module):
    """The U-Net backbone F(x, c_noise); `cfg` uses the package's SongUNetConfig keys."""

    def __init__(self, cfg, device=None):
        super().__init__()
        mc = cfg["modelChannels"]
        mult = cfg["channelMult"]
        nb = cfg["numBlocks"]
        attn = set(cfg["attnResolutions"])
        emb = 4 * mc
        self.noise_channels = mc
        self.map_layer0 = Linear(mc, emb, device=device)
        self.map_layer1 = Linear(emb, emb, device=device)

        def block(cin, cout, **flags):
            return UNetBlock(cin, cout, emb, dropout=cfg["dropout"], device=device, **flags)

        self.enc = nn.ModuleDict()
        channels = cfg["inChannels"]
        for level, m in enumerate(mult):
            res = cfg["imgResolution"] >> level
            if level == 0:
                self.enc[f"{res}x{res}_conv"] = Conv2d(channels, mc, 3, device=device)
                channels = mc
            else:
                self.enc[f"{res}x{res}_down"] = block(channels, channels, down=True)
            for i in range(nb):
                self.enc[f"{res}x{res}_block{i}"] = block(channels, mc * m,
                                                          attention=res in attn)
                channels = mc * m
        skips = [mc if name.endswith("_conv") else b.conv1.weight.shape[0]
                 for name, b in self.enc.items()]

        self.dec = nn.ModuleDict()
        for level in reversed(range(len(mult))):
            res = cfg["imgResolution"] >> level
            if level == len(mult) - 1:
                self.dec[f"{res}x{res}_in0"] = block(channels, channels, attention=True)
                self.dec[f"{res}x{res}_in1"] = block(channels, channels)
            else:
                self.dec[f"{res}x{res}_up"] = block(channels, channels, up=True)
            for i in range(nb + 1):
                cin = channels + skips.pop()
                channels = mc * mult[level]
                self.dec[f"{res}x{res}_block{i}"] = block(
                    cin, channels, attention=(i == nb and res in attn))
        res = cfg["imgResolution"]
        self.dec[f"{res}x{res}_aux_norm"] = GroupNorm(channels, device)
        self.dec[f"{res}x{res}_aux_conv"] = Conv2d(channels, cfg["outChannels"], 3, gain=1e-5,
                                                   device=device)

    def embed(self, noise_labels):
        """Sinusoidal embedding [sin | cos] of the noise labels, then the two-layer MLP."""
        half = self.noise_channels // 2
        j = torch.arange(half, dtype=noise_labels.dtype, device=noise_labels.device)
        freqs = torch.pow(torch.tensor(1e-4, dtype=noise_labels.dtype), j / (half - 1))
        phase = noise_labels[:, None] * freqs[None, :]
        emb = torch.cat([torch.sin(phase), torch.cos(phase)], dim=1)
        emb = F.silu(self.map_layer0(emb))
        return F.silu(self.map_layer1(emb))

    def forward(self, x, noise_labels):
        emb = self.embed(noise_labels)
        skips = []
        for layer in self.enc.values():
            x = layer(x) if isinstance(layer, Conv2d) else layer(x, emb)
            skips.append(x)
        out = None
        for name, layer in self.dec.items():
            if name.endswith("_aux_norm"):
                continue
            if name.endswith("_aux_conv"):
                norm = self.dec[name.replace("_aux_conv", "_aux_norm")]
                out = layer(F.silu(norm(x)))
                continue
            if x.shape[1] != layer.in_channels:
                x = torch.cat([x, skips.pop()], dim=1)
            x = layer(x, emb)
        return out


class EDMPrecond(nn.Module):
    """D(x, sigma) = c_skip x[:, :out] + c_out F(c_in x, ln(sigma) / 4)."""

    def __init__(self, cfg, sigma_data=SIGMA_DATA, device=None):
        super().__init__()
        self.out_channels = cfg["outChannels"]
        self.sigma_data = sigma_data
        self.model = SongUNet(cfg, device=device)

    def forward(self, x, sigma):
        s = sigma.to(x.dtype).reshape(-1, 1, 1, 1)
        sd2 = self.sigma_data ** 2
        c_skip = sd2 / (s * s + sd2)
        c_out = s * self.sigma_data / torch.sqrt(s * s + sd2)
        c_in = 1 / torch.sqrt(s * s + sd2)
        f = self.model(c_in * x, torch.log(s).flatten() / 4)
        return c_skip * x[:, :self.out_channels] + c_out * f


# --------------------------------------------------------------------------- checkpoints


def state_dict_from(obj, key=None):
    """The state_dict inside what torch.load returned: a state_dict, a module, or a dict
    holding either under `key` (default: 'ema', else 'net')."""
    if isinstance(obj, dict) and not all(torch.is_tensor(v) for v in obj.values()):
        if key is None:
            key = next((k for k in ("ema", "net") if k in obj), None)
        if key is None or key not in obj:
            raise ValueError(f"no state_dict found: keys {sorted(map(str, obj))}; name one "
                             "with --key")
        obj = obj[key]
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise ValueError("not a state_dict (a dict of tensors) or a module")
    return obj


def load_weights(net, path, key=None):
    """Loads our safetensors file, or a torch.save'd state_dict, into `net`, strictly:
    only the resample_filter buffers may be absent (our files do not store them)."""
    if path.endswith(".safetensors"):
        state, _ = read_safetensors(path)
    else:
        state = state_dict_from(torch.load(path, map_location="cpu"), key)
    result = net.load_state_dict(state, strict=False)
    missing = [n for n in result.missing_keys if not n.endswith(".resample_filter")]
    if missing or result.unexpected_keys:
        raise ValueError(f"{path}: missing {missing}, unexpected {result.unexpected_keys}")
    for name, buf in net.named_buffers():
        if name.endswith(".resample_filter") and not torch.all(buf == 0.25):
            raise ValueError(f"{path}: {name} is not the [1,1] filter this peer implements")


def perturb_(net, seed):
    """Non-trivial values for every parameter (the zero-initialised layers included), so a
    forward comparison exercises every path."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            std = 0.1 if name.endswith("bias") else 0.3
            noise = torch.randn(p.shape, generator=g, dtype=torch.float64) * std
            if ".norm" in name or "_norm" in name:
                noise += 1.0 if name.endswith("weight") else 0.0
            p.copy_(noise.to(p.dtype))


def count_parameters(cfg):
    """Number of scalar parameters (built on the meta device: nothing is allocated)."""
    net = EDMPrecond(cfg, device="meta")
    return sum(p.numel() for p in net.parameters())


# ------------------------------------------------------------------------------------ CLI


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    fw = sub.add_parser("forward", help="D(x, sigma) for the tensors in --input")
    fw.add_argument("--config", required=True)
    fw.add_argument("--weights", required=True)
    fw.add_argument("--key", default=None, help="entry of a torch.save'd dict (ema, net)")
    fw.add_argument("--input", required=True)
    fw.add_argument("--out", required=True)
    fw.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    fw.add_argument("--threads", type=int, default=0)
    ct = sub.add_parser("count", help="print the number of parameters")
    ct.add_argument("--config", required=True, action="append", help="repeatable")
    it = sub.add_parser("init", help="save a freshly initialised state_dict with torch.save")
    it.add_argument("--config", required=True)
    it.add_argument("--out", required=True)
    it.add_argument("--seed", type=int, default=0)
    it.add_argument("--perturb", action="store_true")
    it.add_argument("--key", default=None, help="save {key: state_dict} (e.g. ema)")
    args = ap.parse_args(argv)
    if args.cmd == "count":
        for path in args.config:
            with open(path) as f:
                print(count_parameters(json.load(f)))
        return
    with open(args.config) as f:
        cfg = json.load(f)
    if args.cmd == "init":
        torch.manual_seed(args.seed)
        net = EDMPrecond(cfg)
        if args.perturb:
            perturb_(net, args.seed)
        state = net.state_dict()
        torch.save({args.key: state} if args.key else state, args.out)
    else:
        if args.threads:
            torch.set_num_threads(args.threads)
        dtype = getattr(torch, args.dtype)
        net = EDMPrecond(cfg)
        load_weights(net, args.weights, args.key)
        net = net.to(dtype).eval()
        tensors, _ = read_safetensors(args.input)
        with torch.no_grad():
            d = net(tensors["x"].to(dtype), tensors["sigma"].to(dtype))
        write_safetensors(args.out, {"D": d}, dtype=dtype)


if __name__ == "__main__":
    main(sys.argv[1:])
