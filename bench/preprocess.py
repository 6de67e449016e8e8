#!/usr/bin/python3
"""Decode + preprocess full-size UPENN-GBM-like volumes the way the study's Python does it.

Reads a JSON job list on argv[1]: {"patients": [{"mask": path, "images": [path, ...]}], "box": [[z0,z1],[y0,y1],[x0,x1]],
"scale": 0.5, "pad": [D,H,W], "reps": N, "save": optional path for the first result}. For each rep it decodes
every mask once and every image (nibabel + NumPy, the stored dtype as SimpleITK gives it), then masks, crops,
rescales (scikit-image defaults), min-max scales and pads. Prints one JSON line per rep with the timings.
Run with Debian's /usr/bin/python3 (python3-nibabel, python3-skimage).
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts', 'fixtures', 'data'))
import importlib.util

spec = importlib.util.spec_from_file_location('ref', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts', 'fixtures', 'data', 'preprocess-reference.py'))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
import numpy as np


def main():
    job = json.load(open(sys.argv[1]))
    box = [tuple(b) for b in job['box']]
    for rep in range(job['reps']):
        decode = 0.0
        prep = 0.0
        n = 0
        t_all = time.perf_counter()
        c_all = time.process_time()
        for p in job['patients']:
            t = time.perf_counter()
            mask = ref.load_as_sitk(p['mask'])
            decode += time.perf_counter() - t
            for path in p['images']:
                t = time.perf_counter()
                img = ref.load_as_sitk(path)
                t1 = time.perf_counter()
                out = ref.pipeline(img, mask, box, job['scale'], job['pad'])
                t2 = time.perf_counter()
                decode += t1 - t
                prep += t2 - t1
                if rep == 0 and n == 0 and job.get('save'):
                    np.save(job['save'], out.astype(np.float32))
                n += 1
        total = time.perf_counter() - t_all
        cpu = time.process_time() - c_all
        print(json.dumps({'rep': rep, 'volumes': n, 'seconds': total, 'cpu_s': cpu, 'decode_s': decode, 'preprocess_s': prep}), flush=True)


if __name__ == '__main__':
    main()
