"""PyTorch peer of bench/autoencoder-throughput.ts: the same dense autoencoder, data, Adam and
batch size on one thread. Prints one JSON line: median epoch wall and CPU time over the measured epochs.

usage: python3 autoencoder_throughput.py DATA.f32 ROWS COLS BATCH EPOCHS HIDDEN(e.g. 32,16,8) ACTIVATION(relu|tanh|sigmoid) [LR, default 0.001]
       [COMMANDS_FIFO RESULTS_FIFO: serve one epoch per request instead, see bench/torch-peer.ts]
"""
import json
import os
import statistics
import sys
import time

# One thread means one: Debian's torch does its matMuls in OpenBLAS, whose own thread pool (one
# thread per core, started when numpy or torch loads) torch.set_num_threads does not limit.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402

path, rows, cols, batch, epochs, hidden, activation = sys.argv[1:8]
learning_rate = float(sys.argv[8]) if len(sys.argv) > 8 else 1e-3
rows, cols, batch, epochs = int(rows), int(cols), int(batch), int(epochs)
hidden = [int(width) for width in hidden.split(",")]
torch.set_num_threads(1)
torch.set_num_interop_threads(1)
torch.manual_seed(42)
x = torch.from_numpy(np.fromfile(path, dtype=np.float32).reshape(rows, cols))

sizes = [cols, *hidden, *hidden[::-1][1:], cols]
layers = []
for i in range(1, len(sizes)):
    layers.append(torch.nn.Linear(sizes[i - 1], sizes[i]))
    if i < len(sizes) - 1:
        layers.append({"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[activation]())
model = torch.nn.Sequential(*layers)
optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)


def epoch() -> tuple[float, float, float]:
    order = torch.randperm(rows)
    started = time.perf_counter()
    cpu_started = time.process_time()
    total = torch.zeros(())
    for start in range(0, rows, batch):
        xb = x[order[start : start + batch]]
        optimizer.zero_grad()
        loss = ((model(xb) - xb) ** 2).mean()
        loss.backward()
        optimizer.step()
        total += loss.detach() * xb.shape[0]  # no per-batch read, like the TF.js loop
    mean_loss = total.item() / rows
    return (time.perf_counter() - started) * 1000, (time.process_time() - cpu_started) * 1000, mean_loss


if len(sys.argv) > 10:
    # Served one epoch at a time (bench/torch-peer.ts), to alternate with TF.js's epochs.
    with open(sys.argv[9]) as commands, open(sys.argv[10], "w") as results:
        results.write(json.dumps({
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "processThreads": len(os.listdir("/proc/self/task")),
        }) + "\n")
        results.flush()
        for line in commands:
            if not line.split() or line.split()[0] == "quit":
                break
            wall_ms, cpu_ms, mean_loss = epoch()
            results.write(json.dumps({"wallMs": wall_ms, "cpuMs": cpu_ms, "loss": mean_loss}) + "\n")
            results.flush()
    sys.exit(0)

epoch()  # warm-up
times, cpu_times, losses = zip(*(epoch() for _ in range(epochs)))
print(json.dumps({
    "epochMs": statistics.median(times),
    "epochCpuMs": statistics.median(cpu_times),
    "epochTimesMs": times,
    "lastLoss": losses[-1],
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "processThreads": len(os.listdir("/proc/self/task")),
}))
