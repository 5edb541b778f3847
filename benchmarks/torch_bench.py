#!/usr/bin/python3
"""PyTorch's side of `make bench`: images/s of torchvision ResNets on this CPU.

  torch_bench.py MODEL BATCH HxWxC CLASSES train|eval|infer [--steps N] [--warmup N] [--threads N]

Prints one line: 'torch <model> <mode> median_s=<s> images_per_s=<x> fastest_s=<s>'.  Training
is forward, backward and an SGD step with momentum, as flatnet's profile does; eval runs under torch.no_grad(),
infer under torch.inference_mode() (benchmarks/infer.sh, against gen --infer).
"""
import argparse
import statistics
import time

import torch
import torchvision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("batch", type=int)
    ap.add_argument("input")
    ap.add_argument("classes", type=int)
    ap.add_argument("mode", choices=["train", "eval", "infer"])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    h, w, c = (int(v) for v in a.input.split("x"))
    model = getattr(torchvision.models, a.model)(num_classes=a.classes)
    if c != 3:
        old = model.conv1
        model.conv1 = torch.nn.Conv2d(c, old.out_channels, old.kernel_size, old.stride,
                                      old.padding, bias=False)
    x = torch.rand(a.batch, c, h, w)
    y = torch.randint(0, a.classes, (a.batch,))
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        if a.mode == "train":
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        elif a.mode == "infer":
            with torch.inference_mode():
                model(x)
        else:
            with torch.no_grad():
                model(x)

    model.train(a.mode == "train")
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    print(f"torch {a.model} {a.mode} median_s={med:.4f} images_per_s={a.batch / med:.2f} "
          f"fastest_s={min(times):.4f}")


if __name__ == "__main__":
    main()
