"""Writes the metric fixtures (fixtures/metrics/) and scikit-image's values for them.

Each pair is an image and a degraded copy, built deterministically from skimage.data crops
with seeded noise and blur, stored as raw little-endian float32 in planar [C, H, W] order
(complex images as [2, H, W]: Re, Im). golden.json records the shapes, the data ranges and
skimage's peak_signal_noise_ratio / structural_similarity / normalized_root_mse, computed in
float64 on exactly the float32 values written, so tests/metrics_test.ts can match them.

    apt-get install -y python3-skimage
    /usr/bin/python3 scripts/make-metric-goldens.py [out-dir]
"""
import json
import os
import sys

import numpy as np
import scipy.ndimage as ndi
import skimage
from skimage import data
from skimage.metrics import (normalized_root_mse, peak_signal_noise_ratio,
                             structural_similarity)

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..",
                                                          "fixtures", "metrics")


def f32(a):
    """What the fixture file holds, back in float64 (the values skimage sees)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def save(name, chw):
    """Writes a planar float32 little-endian file and returns its name."""
    fname = f"{name}.f32"
    np.asarray(chw, dtype="<f4").tofile(os.path.join(OUT, fname))
    return fname


def real_pair(name, gt_chw, x_chw, data_range):
    gt, x = f32(gt_chw), f32(x_chw)
    gt_hwc, x_hwc = np.moveaxis(gt, 0, -1), np.moveaxis(x, 0, -1)
    multichannel = gt.shape[0] > 1
    ssim = (structural_similarity(gt_hwc, x_hwc, data_range=data_range, channel_axis=-1)
            if multichannel else structural_similarity(gt[0], x[0], data_range=data_range))
    return {
        "name": name,
        "kind": "real",
        "shape": list(gt.shape),
        "gt": save(f"{name}_gt", gt),
        "x": save(f"{name}_x", x),
        "dataRange": data_range,
        "psnr": peak_signal_noise_ratio(gt, x, data_range=data_range),
        "ssim": ssim,
        "nrmse": normalized_root_mse(gt, x),
    }


def complex_pair(name, gt_c, x_c):
    gt = f32(np.stack([gt_c.real, gt_c.imag]))
    x = f32(np.stack([x_c.real, x_c.imag]))
    mg = np.hypot(gt[0], gt[1])
    mx = np.hypot(x[0], x[1])
    # docs/method.md §6: magnitude images, SSIM range max|gt| − min|gt|, PSNR peak max|gt|.
    return {
        "name": name,
        "kind": "complex",
        "shape": list(gt.shape),
        "gt": save(f"{name}_gt", gt),
        "x": save(f"{name}_x", x),
        "psnr": peak_signal_noise_ratio(mg, mx, data_range=mg.max()),
        "ssim": structural_similarity(mg, mx, data_range=mg.max() - mg.min()),
        "nrmse": normalized_root_mse(mg, mx),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240308)
    camera = data.camera().astype(np.float64) / 255.0
    astro = data.astronaut().astype(np.float64) / 255.0

    pairs = []
    # Gray 64×64 in [0, 1] with additive noise.
    g = camera[180:244, 220:284]
    pairs.append(real_pair("camera_noise", g[None], (g + 0.08 * rng.standard_normal(g.shape))[None],
                           1.0))
    # Gray, odd and non-square (61×50), blurred plus mild noise: catches H/W mix-ups.
    g = camera[300:361, 100:150]
    xb = ndi.gaussian_filter(g, 1.2) + 0.02 * rng.standard_normal(g.shape)
    pairs.append(real_pair("camera_blur", g[None], xb[None], 1.0))
    # RGB 48×40 in [−1, 1] (the package's image scale), noise and a colour shift.
    a = np.moveaxis(astro[40:88, 180:220] * 2 - 1, -1, 0)
    xa = a + 0.15 * rng.standard_normal(a.shape) + np.array([0.05, -0.03, 0.0])[:, None, None]
    pairs.append(real_pair("astronaut_rgb", a, xa, 2.0))
    # Complex 40×32: a magnitude with a smooth phase; the estimate adds complex noise.
    m = camera[120:160, 230:262]
    yy, xx = np.mgrid[0:40, 0:32]
    gt_c = m * np.exp(1j * (0.08 * xx - 0.05 * yy + 0.3))
    x_c = gt_c + 0.05 * (rng.standard_normal(m.shape) + 1j * rng.standard_normal(m.shape))
    pairs.append(complex_pair("complex_mri", gt_c, x_c))

    golden = {
        "generator": "scripts/make-metric-goldens.py",
        "skimage": skimage.__version__,
        "pairs": pairs,
    }
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=2)
        f.write("\n")
    print(json.dumps(golden, indent=2))


if __name__ == "__main__":
    main()
