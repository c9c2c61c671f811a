#!/usr/bin/python3
"""Regenerates fixtures/mri/bart/: one simulated k-space slice (48×40, 4 coils, from
`deno task mri:simulate`), a column mask at R = 2 with 10 ACS columns, and what Debian's
BART 0.8 makes of it: L1-wavelet (`pics -l1`, Haar without cycle spinning and unit data
scaling, i.e. our objective; and the paper's plain command), SENSE (`pics -l2 -r 0`) and
ESPIRiT maps (`ecalib -m 1`). tests/mri_recon_test.ts compares ours against them.
  apt-get install -y bart mricron-data python3-h5py && /usr/bin/python3 scripts/make-fixture-mri-bart.py
"""
import json, os, subprocess, sys, tempfile
import numpy as np
import h5py

OUT = "fixtures/mri/bart/"
LAMBDA, ITERS, R, ACS = 0.005, 100, 2, 10
os.makedirs(OUT, exist_ok=True)
tmp = tempfile.mkdtemp()
subprocess.run(["deno", "task", "mri:simulate", "--out", tmp, "--size", "48x40", "--coils", "4",
                "--slices", "18", "--held-out", "2", "--snr", "30", "--seed", "0"], check=True)

def complex_of(a):  # float32 [..., 2] → complex64
    return (a[..., 0] + 1j * a[..., 1]).astype(np.complex64)

with h5py.File(os.path.join(tmp, "held-out.h5"), "r") as f:
    k = complex_of(f["kspace"][0])      # [C, H, W]
    maps = complex_of(f["maps"][0])     # [C, H, W]
    gt = complex_of(f["ground_truth"][0])  # [H, W]
C, H, W = k.shape
rng = np.random.default_rng(16)
mask = np.zeros(W, np.float32)
a0 = W // 2 - ACS // 2
mask[a0:a0 + ACS] = 1
rest = [c for c in range(W) if not mask[c]]
mask[rng.choice(rest, W // R - ACS, replace=False)] = 1
ku = k * mask[None, None, :]

def write_cfl(name, arr_chw):
    """Our [.., H, W] row-major array as BART dims [W, H, 1, C] (first dim fastest)."""
    a = np.asarray(arr_chw, np.complex64)
    dims = [W, H, 1, a.shape[0] if a.ndim == 3 else 1]
    with open(name + ".hdr", "w") as f:
        f.write("# Dimensions\n" + " ".join(map(str, dims + [1] * 12)) + "\n")
    a.tofile(name + ".cfl")

def read_cfl(name, coils):
    return np.fromfile(name + ".cfl", np.complex64).reshape(coils, H, W) if coils else \
        np.fromfile(name + ".cfl", np.complex64).reshape(H, W)

write_cfl(OUT + "kspace", ku)
write_cfl(OUT + "maps", maps)
write_cfl(OUT + "ground_truth", gt[None])
np.savetxt(OUT + "mask.txt", mask[None], fmt="%d")
bart = lambda *a: subprocess.run(["bart", *map(str, a)], check=True, capture_output=True)
bart("pics", "-l1", "-r", LAMBDA, "-i", ITERS, "-S", "--wavelet", "haar", "-n", "-w", 1,
     OUT + "kspace", OUT + "maps", OUT + "pics_l1_haar")
bart("pics", "-l1", "-r", LAMBDA, "-i", ITERS, "-S", OUT + "kspace", OUT + "maps", OUT + "pics_l1")
bart("pics", "-l2", "-r", 0, "-i", 30, "-w", 1, OUT + "kspace", OUT + "maps", OUT + "pics_sense")
bart("ecalib", "-m", 1, "-r", ACS, OUT + "kspace", OUT + "ecalib_maps")

nrmse = lambda a, b: float(np.linalg.norm(np.abs(a) - np.abs(b)) / np.linalg.norm(np.abs(b)))
summary = {"lambda": LAMBDA, "iterations": ITERS, "R": R, "acs": ACS, "dims": [C, H, W],
           "commands": {
               "pics_l1_haar": f"bart pics -l1 -r {LAMBDA} -i {ITERS} -S --wavelet haar -n -w 1 kspace maps",
               "pics_l1": f"bart pics -l1 -r {LAMBDA} -i {ITERS} -S kspace maps",
               "pics_sense": "bart pics -l2 -r 0 -i 30 -w 1 kspace maps",
               "ecalib_maps": f"bart ecalib -m 1 -r {ACS} kspace"},
           "nrmse_vs_ground_truth": {n: nrmse(read_cfl(OUT + n, 0), gt)
                                     for n in ["pics_l1_haar", "pics_l1", "pics_sense"]},
           "data": "simulated k-space", "bart": subprocess.run(["bart", "version"], capture_output=True, text=True).stdout.strip()}
json.dump(summary, open(OUT + "bart.json", "w"), indent=1)
print(json.dumps(summary["nrmse_vs_ground_truth"]))
subprocess.run(["deno", "fmt", OUT + "bart.json"], check=True)  # as the repo's fmt check wants
