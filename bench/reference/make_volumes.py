#!/usr/bin/python3
"""Writes synthetic full-size UPENN-GBM-like volumes for the preprocessing benchmark.

Usage: make_volumes.py OUT_DIR COUNT

Each volume is a 240x240x155 (i, j, k) int16 .nii.gz at 1 mm like the dataset's scans (a smooth
head-shaped intensity field with noise, zero outside the head), with a tumour mask (uint8, an
ellipsoid of labels 1, 2, 4) beside it. Compressed with nibabel's default gzip level. Existing files
are kept, so a rerun costs nothing.
"""
import os
import sys

import nibabel as nib
import numpy as np


def volume(seed, shape=(240, 240, 155)):
    rng = np.random.default_rng(seed)
    i, j, k = np.meshgrid(*[np.linspace(-1, 1, n, dtype=np.float32) for n in shape], indexing='ij')
    head = (i / 0.8) ** 2 + (j / 0.9) ** 2 + (k / 0.85) ** 2 < 1
    field = 600 + 300 * np.sin(3 * i + seed) * np.cos(2 * j) + 200 * k
    image = np.where(head, field + rng.normal(0, 40, shape).astype(np.float32), 0)
    image = np.clip(image, 0, 32767).astype(np.int16)
    ci, cj, ck = rng.uniform(-0.3, 0.3, 3)
    r = ((i - ci) / 0.25) ** 2 + ((j - cj) / 0.2) ** 2 + ((k - ck) / 0.3) ** 2
    mask = np.select([r < 0.3, r < 0.6, r < 1], [1, 4, 2], 0).astype(np.uint8)
    return image, mask


def main():
    out_dir, count = sys.argv[1], int(sys.argv[2])
    os.makedirs(out_dir, exist_ok=True)
    affine = np.diag([-1.0, -1.0, 1.0, 1.0])
    for n in range(count):
        image_path = os.path.join(out_dir, f'case{n}_t1.nii.gz')
        mask_path = os.path.join(out_dir, f'case{n}_mask.nii.gz')
        if os.path.exists(image_path) and os.path.exists(mask_path):
            continue
        image, mask = volume(n)
        for data, path in ((image, image_path), (mask, mask_path)):
            tmp = path + '.tmp.nii.gz'
            nib.save(nib.Nifti1Image(data, affine), tmp)
            os.replace(tmp, path)
    print(out_dir)


if __name__ == '__main__':
    main()
