"""PyTorch peer of bench/attention-throughput.ts: the same self-attention autoencoder as
src/tf/attention-network.ts, the same windows, trimmed loss, Adam and batch size, on one thread.

usage: python3 attention_throughput.py CONFIG.json COMMANDS_FIFO RESULTS_FIFO

CONFIG holds data (a float32 file of rows × cols), rows, cols, windowSize, stride, windowCount,
batchSize, learningRate, epochs (the cosine schedule's cap), trimmedShare, modelDim, heads,
feedForwardDim, latentDim, blocks, seed and attention ("explicit": matMul + softmax as the TF.js
network writes it; "module": torch.nn.MultiheadAttention, the same weights' count in PyTorch's
own fused module). Optionally weights (TF.js's initial weights, one float32 vector in
AttentionNetwork's order), and checkWindows + checkReconstruction (windows and TF.js's
reconstruction of them with those weights, float32): the largest difference from PyTorch's
reconstruction is reported.

The TypeScript bench drives it one epoch at a time so the two frameworks alternate: it writes
"epoch N" to COMMANDS_FIFO and reads one JSON line from RESULTS_FIFO ({wallMs, cpuMs, loss});
"quit" ends it. The first line written is {parameterCount, torch, threads, processThreads, largestDifference}.
"""
import json
import math
import os
import sys
import time

# One thread means one: Debian's torch does its matMuls in OpenBLAS, whose own thread pool (one
# thread per core, started when numpy or torch loads) torch.set_num_threads does not limit.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

config_path, commands_path, results_path = sys.argv[1:4]
with open(config_path) as file:
    config = json.load(file)

torch.set_num_threads(1)
torch.set_num_interop_threads(1)
torch.manual_seed(config["seed"])

rows, cols, w = config["rows"], config["cols"], config["windowSize"]
d, heads, ff, z = config["modelDim"], config["heads"], config["feedForwardDim"], config["latentDim"]
LAYER_NORM_EPSILON = 1e-5


def positional_encoding(steps: int, dim: int) -> torch.Tensor:
    """Sinusoidal positions, the formula of attention-network.ts's positionalEncoding."""
    encoding = torch.zeros(steps, dim)
    for position in range(steps):
        for i in range(dim):
            angle = position / 10000 ** ((2 * (i // 2)) / dim)
            encoding[position, i] = math.sin(angle) if i % 2 == 0 else math.cos(angle)
    return encoding


def linear(inputs: int, outputs: int) -> nn.Linear:
    """Glorot-uniform kernel and zero bias, as AttentionNetwork.initialWeights."""
    layer = nn.Linear(inputs, outputs)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class Block(nn.Module):
    """Multi-head self-attention, residual, layer norm, feed-forward (relu), residual, layer norm."""

    def __init__(self) -> None:
        super().__init__()
        if config["attention"] == "module":
            self.attention = nn.MultiheadAttention(d, heads, batch_first=True)
            nn.init.xavier_uniform_(self.attention.out_proj.weight)
        else:
            self.query, self.key, self.value = linear(d, d), linear(d, d), linear(d, d)
            self.attention_output = linear(d, d)
        self.norm1 = nn.LayerNorm(d, eps=LAYER_NORM_EPSILON)
        self.feed_forward1, self.feed_forward2 = linear(d, ff), linear(ff, d)
        self.norm2 = nn.LayerNorm(d, eps=LAYER_NORM_EPSILON)

    def attend(self, h: torch.Tensor) -> torch.Tensor:
        if config["attention"] == "module":
            return self.attention(h, h, h, need_weights=False)[0]
        batch, steps, head_dim = h.shape[0], h.shape[1], d // heads

        def split_heads(x: torch.Tensor) -> torch.Tensor:
            return x.view(batch, steps, heads, head_dim).transpose(1, 2)

        q, k, v = split_heads(self.query(h)), split_heads(self.key(h)), split_heads(self.value(h))
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1 / math.sqrt(head_dim))
        attended = torch.matmul(torch.softmax(scores, dim=-1), v)
        return self.attention_output(attended.transpose(1, 2).reshape(batch, steps, d))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h1 = self.norm1(h + self.attend(h))
        return self.norm2(h1 + self.feed_forward2(torch.relu(self.feed_forward1(h1))))


class AttentionAutoencoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.input = linear(cols, d)
        self.encoder = nn.Sequential(*(Block() for _ in range(config["blocks"])))
        self.bottleneck = linear(w * d, z)
        self.expand = linear(z, w * d)
        self.decoder = nn.Sequential(*(Block() for _ in range(config["blocks"])))
        self.output = linear(d, cols)
        self.register_buffer("positions", positional_encoding(w, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        h = self.encoder(self.input(x) + self.positions)
        latent = torch.tanh(self.bottleneck(h.reshape(batch, w * d)))
        h = self.decoder(self.expand(latent).view(batch, w, d) + self.positions)
        return self.output(h)


def trimmed_loss(reconstruction: torch.Tensor, x: torch.Tensor, share: float) -> torch.Tensor:
    """Mean of the per-window MSEs, leaving out the `share` (rounded down) with the largest error."""
    errors = ((reconstruction - x) ** 2).mean(dim=(1, 2))
    if share <= 0:
        return errors.mean()
    keep = errors.shape[0] - math.floor(errors.shape[0] * share)
    return torch.topk(errors, keep, largest=False, sorted=False).values.mean()


def load_weights(model: AttentionAutoencoder, flat: torch.Tensor) -> None:
    """Copies TF.js's initial weights (one float32 vector in AttentionNetwork's weight order;
    kernels [in, out], PyTorch's weights [out, in]) into the model."""
    offset = 0

    def take(*shape: int) -> torch.Tensor:
        nonlocal offset
        size = math.prod(shape)
        piece = flat[offset : offset + size].view(*shape)
        offset += size
        return piece

    def dense(layer: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
        kernel = take(layer.in_features, layer.out_features).t()
        return kernel, take(layer.out_features)

    def block(b: Block) -> None:
        if config["attention"] == "module":
            parts = []
            for _ in range(3):
                parts.append((take(d, d).t(), take(d)))
            b.attention.in_proj_weight.copy_(torch.cat([kernel for kernel, _ in parts]))
            b.attention.in_proj_bias.copy_(torch.cat([bias for _, bias in parts]))
            b.attention.out_proj.weight.copy_(take(d, d).t())
            b.attention.out_proj.bias.copy_(take(d))
        else:
            for layer in (b.query, b.key, b.value, b.attention_output):
                kernel, bias = dense(layer)
                layer.weight.copy_(kernel)
                layer.bias.copy_(bias)
        for norm, layers in ((b.norm1, (b.feed_forward1, b.feed_forward2)), (b.norm2, ())):
            norm.weight.copy_(take(d))
            norm.bias.copy_(take(d))
            for layer in layers:
                kernel, bias = dense(layer)
                layer.weight.copy_(kernel)
                layer.bias.copy_(bias)

    def copy_dense(layer: nn.Linear) -> None:
        kernel, bias = dense(layer)
        layer.weight.copy_(kernel)
        layer.bias.copy_(bias)

    with torch.no_grad():
        copy_dense(model.input)
        for b in model.encoder:
            block(b)
        copy_dense(model.bottleneck)
        copy_dense(model.expand)
        for b in model.decoder:
            block(b)
        copy_dense(model.output)
    if offset != flat.numel():
        raise ValueError(f"TF.js weights: {flat.numel()} numbers, the network takes {offset}")


model = AttentionAutoencoder()
check = None
if "weights" in config:
    load_weights(model, torch.from_numpy(np.fromfile(config["weights"], dtype=np.float32)))
    if "checkWindows" in config:
        # TF.js's reconstruction of the same windows with the same weights: the same function?
        check_windows = torch.from_numpy(np.fromfile(config["checkWindows"], dtype=np.float32)).view(-1, w, cols)
        expected = torch.from_numpy(np.fromfile(config["checkReconstruction"], dtype=np.float32)).view(-1, w, cols)
        with torch.no_grad():
            check = float((model(check_windows) - expected).abs().max())
optimizer = torch.optim.Adam(model.parameters(), lr=config["learningRate"])
values = torch.from_numpy(np.fromfile(config["data"], dtype=np.float32).reshape(rows, cols))
# Every full window as a view [fullWindows, w, cols]; a batch gathers (copies) its windows.
windows = values.unfold(0, w, 1).transpose(1, 2)
stride, window_count, batch_size = config["stride"], config["windowCount"], config["batchSize"]
generator = torch.Generator().manual_seed(config["seed"] + 1)


def learning_rate_at(epoch: int) -> float:
    """The cosine schedule of learningRateAt in src/detectors/autoencoder.ts."""
    epochs, rate = config["epochs"], config["learningRate"]
    if config.get("schedule", "cosine") == "constant" or epochs <= 1:
        return rate
    progress = (epoch - 1) / (epochs - 1)
    return rate * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))


def epoch(number: int) -> dict:
    started = time.perf_counter()
    cpu_started = time.process_time()
    for group in optimizer.param_groups:
        group["lr"] = learning_rate_at(number)
    order = torch.randperm(window_count, generator=generator)
    offset = int(torch.randint(stride, (1,), generator=generator)) if stride > 1 else 0
    total = torch.zeros(())
    for start in range(0, window_count, batch_size):
        xb = windows[offset + order[start : start + batch_size] * stride].contiguous()
        optimizer.zero_grad()
        loss = trimmed_loss(model(xb), xb, config["trimmedShare"])
        loss.backward()
        optimizer.step()
        total += loss.detach() * xb.shape[0]  # no per-batch read, like the TF.js loop
    loss = total.item() / window_count
    return {
        "wallMs": (time.perf_counter() - started) * 1000,
        "cpuMs": (time.process_time() - cpu_started) * 1000,
        "loss": loss,
    }


with open(commands_path) as commands, open(results_path, "w") as results:
    parameter_count = sum(p.numel() for p in model.parameters())
    results.write(json.dumps({
        "parameterCount": parameter_count,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "processThreads": len(os.listdir("/proc/self/task")),
        "largestDifference": check,
    }) + "\n")
    results.flush()
    for line in commands:
        command = line.split()
        if not command or command[0] == "quit":
            break
        results.write(json.dumps(epoch(int(command[1]))) + "\n")
        results.flush()
