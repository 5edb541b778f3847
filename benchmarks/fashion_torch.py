#!/usr/bin/python3
"""PyTorch's side of docs/RESULTS.md: the recipe flatnet's `train` runs, in PyTorch.

  fashion_torch.py --data DIR/train --valid DIR/test [--net resnet20 --depth 20]
                   [--epochs 30 --batch 128 --lr 0.1 --wd 5e-4 --nesterov
                    --schedule cosine --augment flip,crop=4] [--log history.csv]
                   [--threads 2] [--seed 1]

Reads the same image folders as flatnet (DIR/<class>/*.png, classes in name
order, pixels scaled to [0,1], nothing else), builds the same network
(networks/resnet20.lua or networks/resnet18_small.lua: torchvision's
BasicBlock, a 1x1 conv + BN projection where the shape changes, torchvision's
initialisation) and trains it the way runtime/train.c does: batches of
--batch drawn from a shuffled epoch with the last partial batch dropped,
SGD with torch's momentum and weight decay, the learning rate of
runtime/schedule.c (set per step, so warm-up matches too), random mirror and
zero-padded random crop.  Writes the same CSV history as `train --log`
(epoch, lr, train loss and accuracy, valid loss and accuracy, training seconds,
images/s), so tools/plot.sh draws either.

--weights FILE trains nothing: it loads a checkpoint flatnet's `train` wrote
(torchvision's names, load_state_dict(strict=True)) and evaluates it on
--valid, which shows that both sides build the same network.  Debian 12 has
no python3-safetensors: the file is read with json and torch.frombuffer.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torchvision.models.resnet import BasicBlock


def load_folder(root):
    """DIR/<class>/<image> as a uint8 tensor [n, 1, h, w] and labels; classes by name."""
    classes = sorted(c for c in os.listdir(root)
                     if not c.startswith(".") and os.path.isdir(os.path.join(root, c)))
    images, labels = [], []
    for label, c in enumerate(classes):
        folder = os.path.join(root, c)
        for name in sorted(os.listdir(folder)):
            if name.startswith("."):
                continue
            with Image.open(os.path.join(folder, name)) as im:
                images.append(np.asarray(im.convert("L"), dtype=np.uint8))
            labels.append(label)
    x = torch.from_numpy(np.stack(images)).unsqueeze(1)
    return x, torch.tensor(labels, dtype=torch.long), classes


class SmallResNet(nn.Module):
    """networks/resnet.lua's build with the small stem: a 3x3/1 conv, no max-pool,
    stages of width, 2*width ... with blocks[i] basic blocks each."""

    def __init__(self, blocks, width, in_c, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        in_planes = width
        for stage, n in enumerate(blocks):
            planes = width * 2 ** stage
            layers = []
            for i in range(n):
                stride = 2 if stage > 0 and i == 0 else 1
                down = None
                if stride != 1 or in_planes != planes:
                    down = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False),
                                         nn.BatchNorm2d(planes))
                layers.append(BasicBlock(in_planes, planes, stride, down))
                in_planes = planes
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layers))
        self.n_stages = len(blocks)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_planes, classes)
        for m in self.modules():  # torchvision's ResNet initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for stage in range(self.n_stages):
            x = getattr(self, f"layer{stage + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build(args, in_c, classes):
    if args.net == "resnet20":
        if args.depth < 8 or (args.depth - 2) % 6:
            sys.exit(f"--depth {args.depth}: must be 6n+2")
        n = (args.depth - 2) // 6
        return SmallResNet([n, n, n], args.width or 16, in_c, classes)
    return SmallResNet([2, 2, 2, 2], args.width or 64, in_c, classes)


def schedule_lr(args, epoch, step, steps_per_epoch):
    """runtime/schedule.c's fn_schedule_lr."""
    rate = args.lr
    if args.schedule == "cosine":
        length, e = args.epochs - args.warmup, epoch - args.warmup
        if length > 0 and e >= 0:
            rate = args.lr * 0.5 * (1.0 + math.cos(math.pi * e / length))
    if epoch < args.warmup:
        rate *= (epoch * steps_per_epoch + step + 1) / (args.warmup * steps_per_epoch)
    return rate


def augment(x, flip, pad, gen):
    """Random mirror, then a shift by (dy, dx) in [-pad, pad] with black filling in:
    runtime/loader.c's augmentation (torchvision's RandomCrop(padding=pad) with
    RandomHorizontalFlip)."""
    n, _, h, w = x.shape
    if flip:
        mirror = torch.rand(n, generator=gen) < 0.5
        x = torch.where(mirror[:, None, None, None], x.flip(3), x)
    if pad:
        padded = F.pad(x, (pad, pad, pad, pad))
        offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=gen).tolist()
        x = torch.stack([padded[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(offsets)])
    return x


def evaluate(model, x, y, batch):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(x[i:i + batch].float() / 255)
            loss += F.cross_entropy(logits, y[i:i + batch], reduction="sum").item()
            correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    return loss / len(x), correct / len(x)


def load_safetensors(path):
    """The tensors of a safetensors file (an 8-byte little-endian header length,
    a JSON header, raw little-endian tensors)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    body = bytearray(data[8 + n:])
    dtypes = {"F32": torch.float32, "I64": torch.int64}
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        t = torch.frombuffer(body[begin:end], dtype=dtypes[entry["dtype"]])
        tensors[name] = t.reshape(entry["shape"]).clone()
    return tensors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data")
    ap.add_argument("--valid", required=True)
    ap.add_argument("--net", choices=["resnet20", "resnet18_small"], default="resnet20")
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--width", type=int, default=0, help="default 16 (resnet20), 64 (resnet18)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--nesterov", action="store_true")
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--schedule", choices=["constant", "cosine"], default="cosine")
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--augment", default="flip,crop=4", help="flip, crop=PAD or none")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log", help="CSV history, as train --log writes it")
    ap.add_argument("--weights", help="evaluate this flatnet checkpoint on --valid instead")
    args = ap.parse_args()
    flip = "flip" in args.augment.split(",")
    pad = next((int(a.split("=")[1]) for a in args.augment.split(",") if a.startswith("crop=")),
               4 if "crop" in args.augment.split(",") else 0)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    x_valid, y_valid, classes = load_folder(args.valid)
    model = build(args, x_valid.shape[1], len(classes))
    params = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__}, {args.threads} threads; {args.net} {params:,} params",
          flush=True)
    if args.weights:
        model.load_state_dict(load_safetensors(args.weights), strict=True)
        loss, acc = evaluate(model, x_valid, y_valid, 500)
        print(f"{args.weights} in torch: loss {loss:.4f}  accuracy {100 * acc:.2f}% on {args.valid}")
        return
    if not args.data:
        sys.exit("--data DIR is needed to train (or --weights FILE to evaluate)")
    x_train, y_train, train_classes = load_folder(args.data)
    if train_classes != classes:
        sys.exit(f"{args.data} and {args.valid} have different classes")
    print(f"{len(x_train)} training images, {len(x_valid)} valid "
          f"({time.perf_counter() - start:.1f} s to load)", flush=True)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                          nesterov=args.nesterov, weight_decay=args.wd)
    steps = len(x_train) // args.batch
    if args.log:
        with open(args.log, "w") as f:
            f.write("epoch,lr,train_loss,train_acc,valid_loss,valid_acc,seconds,images_per_s\n")
    train_seconds = 0.0
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        loss_sum, correct, t0 = 0.0, 0, time.perf_counter()
        for step in range(steps):
            idx = order[step * args.batch:(step + 1) * args.batch]
            xb = augment(x_train[idx], flip, pad, gen).float() / 255
            yb = y_train[idx]
            lr = schedule_lr(args, epoch, step, steps)
            for group in opt.param_groups:
                group["lr"] = lr
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            correct += (logits.argmax(1) == yb).sum().item()
        seconds = time.perf_counter() - t0
        train_seconds += seconds
        seen = steps * args.batch
        valid_loss, valid_acc = evaluate(model, x_valid, y_valid, 500)
        print(f"epoch {epoch + 1}/{args.epochs}  lr {lr:.4g}  train loss {loss_sum / steps:.4f} "
              f"acc {100 * correct / seen:.2f}%  valid loss {valid_loss:.4f} acc "
              f"{100 * valid_acc:.2f}%  {seconds:.1f} s  {seen / seconds:.1f} img/s", flush=True)
        if args.log:
            with open(args.log, "a") as f:
                f.write(f"{epoch + 1},{lr:.6g},{loss_sum / steps:.6f},{correct / seen:.6f},"
                        f"{valid_loss:.6f},{valid_acc:.6f},{seconds:.3f},{seen / seconds:.1f}\n")
    print(f"done: valid accuracy {100 * valid_acc:.2f}% after {args.epochs} epochs; "
          f"training {train_seconds:.0f} s ({args.epochs * steps * args.batch / train_seconds:.1f} "
          f"img/s), {time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
