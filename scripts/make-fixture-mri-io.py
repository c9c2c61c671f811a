#!/usr/bin/python3
"""Regenerates fixtures/mri/{colin27-crop.nii.gz, fastmri-tiny.h5, io.json}: reader fixtures
written by independent tools (numpy, gzip, h5py), so tests/mri_io_test.ts checks our readers
against them. Needs Debian's mricron-data and python3-h5py:
  apt-get install -y mricron-data python3-h5py && /usr/bin/python3 scripts/make-fixture-mri-io.py
"""
import gzip, json, struct, subprocess
import numpy as np
import h5py

SRC = "/usr/share/mricron/templates/ch2better.nii.gz"
OUT = "fixtures/mri/"

# NIfTI: a 12×10×6 crop of Colin27 around the centre, header copied from the source with
# the dims and vox_offset changed (uint8 voxels, x fastest).
raw = gzip.open(SRC).read()
dims = struct.unpack_from("<8h", raw, 40)
off = int(struct.unpack_from("<f", raw, 108)[0])
nx, ny, nz = dims[1:4]
vol = np.frombuffer(raw, np.uint8, nx * ny * nz, off).reshape(nz, ny, nx)
z0, y0, x0 = nz // 2, ny // 2, nx // 2
crop = np.ascontiguousarray(vol[z0:z0 + 6, y0:y0 + 10, x0:x0 + 12])
hdr = bytearray(raw[:348])
struct.pack_into("<8h", hdr, 40, 3, 12, 10, 6, 1, 1, 1, 1)
struct.pack_into("<f", hdr, 108, 352.0)
with gzip.GzipFile(OUT + "colin27-crop.nii.gz", "wb", mtime=0) as f:
    f.write(bytes(hdr) + b"\0\0\0\0" + crop.tobytes())

# fastMRI layout: kspace [2 slices, 3 coils, 8, 6] complex64, reconstruction_rss, header.
rng = np.random.default_rng(16)
k = (rng.standard_normal((2, 3, 8, 6)) + 1j * rng.standard_normal((2, 3, 8, 6))).astype(np.complex64)
rss = np.sqrt((np.abs(k) ** 2).sum(1)).astype(np.float32)
with h5py.File(OUT + "fastmri-tiny.h5", "w") as f:
    f["kspace"] = k
    f["reconstruction_rss"] = rss
    f["ismrmrd_header"] = b"<ismrmrdHeader><encoding>tiny</encoding></ismrmrdHeader>"
    f.attrs["acquisition"] = "AXT2"

json.dump({
    "nifti": {"dims": [12, 10, 6], "pixdim": [float(v) for v in struct.unpack_from("<3f", raw, 80)],
              "voxels": crop.ravel().tolist(), "sourceVoxel": [x0, y0, z0]},
    "fastmri": {"re": k.real.ravel().tolist(), "im": k.imag.ravel().tolist(), "rss": rss.ravel().tolist()},
}, open(OUT + "io.json", "w"))
subprocess.run(["deno", "fmt", OUT + "io.json"], check=True)  # as the repo's fmt check wants
