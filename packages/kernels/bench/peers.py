"""Python peers of the kernel benchmarks, timed in the same run. Prints one JSON line."""
import json
import sys
import time

import numpy as np


def best(repeats, body):
    """Best wall time and best CPU time (ms) of `repeats` runs."""
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        body()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls) * 1000, min(cpus) * 1000


def main():
    task = sys.argv[1]
    if task == "iforest":
        from sklearn.ensemble import IsolationForest

        path, rows, cols = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        X = np.fromfile(path, dtype="<f8").reshape(rows, cols)
        t0, c0 = time.perf_counter(), time.process_time()
        forest = IsolationForest(n_estimators=100, max_samples=256, random_state=0, n_jobs=1).fit(X)
        t1 = time.perf_counter()
        forest.score_samples(X)
        t2, c2 = time.perf_counter(), time.process_time()
        print(json.dumps({"fit_ms": (t1 - t0) * 1000, "score_ms": (t2 - t1) * 1000, "cpu_ms": (c2 - c0) * 1000}))
    elif task == "rolling":
        import pandas as pd

        values = pd.Series(np.fromfile(sys.argv[2], dtype="<f8"))
        window = int(sys.argv[3])

        def run():
            r = values.rolling(window)
            r.mean()
            r.std()

        wall, cpu = best(3, run)
        print(json.dumps({"ms": wall, "cpu_ms": cpu}))
    elif task == "winsorize":
        values = np.fromfile(sys.argv[2], dtype="<f8")

        def run():
            low, high = np.percentile(values, [1, 99])
            np.clip(values, low, high)

        wall, cpu = best(3, run)
        print(json.dumps({"ms": wall, "cpu_ms": cpu}))
    else:
        raise SystemExit(f"unknown task {task}")


if __name__ == "__main__":
    main()
