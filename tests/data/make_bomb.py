"""Write ``bomb.npz`` (3 KB): a zip whose one bzip2 member, ``raster.npy``, expands to a
valid 4 GiB .npy of zeros (a (64, 2**26) uint8 raster). numpy's savez writes deflate, whose
ratio cannot pass about 1000:1; bzip2 packs this 1,400,000:1. The file is committed because
compressing 4 GiB takes a minute or two; rerun ``python tests/data/make_bomb.py`` to remake it.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

SHAPE = (64, 2**26)  # 4 GiB of uint8


def make_bomb(path: Path, shape=SHAPE, chunk: int = 64 << 20) -> Path:
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False,
              "shape": tuple(shape)}
    total = int(np.prod(shape))
    zeros = bytes(chunk)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_BZIP2, compresslevel=9) as zf:
        with zf.open("raster.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array_header_1_0(fh, header)
            left = total
            while left:
                n = min(left, chunk)
                fh.write(zeros if n == chunk else bytes(n))
                left -= n
    return path


if __name__ == "__main__":
    out = make_bomb(Path(__file__).with_name("bomb.npz"))
    print(f"{out}: {out.stat().st_size} bytes")
