#!/usr/bin/python3
"""Augmentation throughput of the study's Python stack (numpy + scipy.ndimage + scikit-image,
Debian's /usr/bin/python3): elastic deformation as elasticdeform.deform_random_grid(sigma=5,
points=3, order=0) computes it (elasticdeform's own scipy reference: cubic B-spline upsampling of
the grid with map_coordinates(order=3), then map_coordinates(order=0, mode='constant')), and
rotation as skimage.transform.rotate(order=1, preserve_range=True) in the (D, H) plane.

Usage: augment.py D H W N   -> prints one JSON line {"elastic_s", "rotate_s", "both_s", "n"}
"""
import json
import sys
import time

import numpy as np
import scipy.ndimage as ndi
import skimage.transform


def elastic(x, rng):
    points = (3, 3, 3)
    displacement = rng.randn(3, *points) * 5
    coordinates = np.meshgrid(*[np.arange(n) for n in x.shape], indexing='ij')
    xi = np.meshgrid(*[np.linspace(0, p - 1, n) for n, p in zip(x.shape, points)], indexing='ij')
    coordinates = [c + ndi.map_coordinates(displacement[i], xi, order=3) for i, c in enumerate(coordinates)]
    return ndi.map_coordinates(x, coordinates, order=0, mode='constant', cval=0)


def rotate(x, rng):
    return skimage.transform.rotate(x, rng.uniform(-180, 180), order=1, mode='constant', cval=0, preserve_range=True)


def main():
    d, h, w, n = map(int, sys.argv[1:5])
    rng = np.random.RandomState(0)
    volume = rng.rand(d, h, w).astype(np.float32)
    timings = {}
    for name, fn in (('elastic_s', lambda v: elastic(v, rng)), ('rotate_s', lambda v: rotate(v, rng)),
                     ('both_s', lambda v: (elastic(v, rng), rotate(v, rng)))):
        fn(volume)  # warm up
        t = time.perf_counter()
        for _ in range(n):
            fn(volume)
        timings[name] = (time.perf_counter() - t) / n
    print(json.dumps({**timings, 'n': n}))


if __name__ == '__main__':
    main()
