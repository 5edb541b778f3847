#!/usr/bin/python3
"""torch_compat.py - flatnet checkpoints against torchvision (issue 3, item 7).

    torch_compat.py TRAINER WORKDIR

TRAINER is a flatnet resnet18 generated with -D input=64x64x3 -D classes=3
-D batch=4 (torchvision's own architecture: width 64, which a 64x64 input
takes down to 2x2).  The test
  1. writes four PNG images (classes a, a, b, c) and random initial weights W0
     (torchvision's initialisation, BN parameters and statistics perturbed so
     that they matter) as safetensors;
  2. has the trainer take one SGD step (momentum, weight decay) from W0 on that
     one batch (--init W0 --batches 1 --no-shuffle) and save W1;
  3. takes the same step in torch and compares every tensor of W1 with it
     (relative error under 1e-4), and the momentum buffers that W1's optimizer
     sibling holds with torch's (under 1e-3): after one step they are the
     gradients plus weight decay, so this checks the gradients directly.
     torch steps in float64 here, and the float32 step's distance from it is
     printed beside ours: BN over few values (layer4 normalises 16 per
     channel) makes a step sensitive to rounding, and at 32x32 (4 values)
     torch's own float32 step was 1.6e-4 from float64 and ours 6e-5 to 1.3e-4
     depending on the compiler's flags: rounding, not a bug.  At 64x64 both
     float32 steps are about 1e-6 from float64, so the bound catches real
     errors and not rounding;
  4. loads W1 into torchvision.models.resnet18(num_classes=3) with
     load_state_dict(strict=True) and checks that the trainer's `predict`
     gives the same probabilities on the same images in evaluation mode.

Debian 12 packages no python3-safetensors, so the file format is read and
written here with json and torch.frombuffer: an 8-byte little-endian header
length, the JSON header, the raw little-endian tensor bytes.
"""
import json
import os
import struct
import subprocess
import sys

import torch
import torchvision
from torchvision.io import read_image, write_png

LR, MOMENTUM, WD = 0.01, 0.9, 1e-3
SIZE = 64  # the images and the trainer's input (tests/runtime.mk)
DTYPES = {"F32": torch.float32, "I64": torch.int64}
NAMES = {torch.float32: "F32", torch.int64: "I64"}


def st_read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    body = bytearray(data[8 + n :])
    out = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        t = torch.frombuffer(body[begin:end], dtype=DTYPES[e["dtype"]]) if end > begin else \
            torch.empty(0, dtype=DTYPES[e["dtype"]])
        out[name] = t.reshape(e["shape"]).clone()
    return out


def st_write(path, tensors):
    header, blobs, at = {}, [], 0
    for name, t in tensors.items():
        raw = t.detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def run(*argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"torch_compat: {' '.join(argv)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r.stdout


def make_images(root):
    g = torch.Generator().manual_seed(7)
    paths, labels = [], []
    for cls, count in (("a", 2), ("b", 1), ("c", 1)):
        os.makedirs(f"{root}/{cls}", exist_ok=True)
        for i in range(count):
            img = torch.randint(0, 256, (3, SIZE, SIZE), dtype=torch.uint8, generator=g)
            path = f"{root}/{cls}/{i}.png"
            write_png(img, path)
            paths.append(path)
            labels.append("abc".index(cls))
    x = torch.stack([read_image(p).float() / 255 for p in paths])
    return paths, x, torch.tensor(labels)


def initial_model():
    torch.manual_seed(3)
    model = torchvision.models.resnet18(num_classes=3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model


def sgd_step(model, x, y):
    """One step of torch.optim.SGD from model's weights on batch x, y."""
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return opt, loss


def relative_error(a, b):
    return ((a.double() - b.double()).norm() / max(b.double().norm(), 1e-12)).item()


def trainer_probs(trainer, weights, paths):
    """predict --probs prints each image, then '  class  probability' lines; the
    classes are the folder names a, b, c that training stored in W1."""
    out = run(trainer, "predict", "--weights", weights, "--probs", "--threads", "2", *paths)
    probs, current = {}, None
    for line in out.splitlines():
        if not line.startswith(" "):
            current = line.strip()
            probs[current] = {}
        else:
            name, p = line.split()
            probs[current][name] = float(p)
    return torch.tensor([[probs[p][c] for c in "abc"] for p in paths], dtype=torch.float64)


def main():
    trainer, work = sys.argv[1], sys.argv[2]
    torch.set_num_threads(2)
    os.makedirs(work, exist_ok=True)
    paths, x, y = make_images(f"{work}/batch")
    model = initial_model()
    w0, w1 = f"{work}/w0.safetensors", f"{work}/w1.safetensors"
    st_write(w0, model.state_dict())

    run(trainer, "train", "--data", f"{work}/batch", "--init", w0, "--save", w1, "--epochs", "1",
        "--batches", "1", "--no-shuffle", "--lr", str(LR), "--momentum", str(MOMENTUM),
        "--wd", str(WD), "--threads", "2", "--overwrite")  # a previous run's W1 goes

    float32_model = initial_model()
    sgd_step(float32_model, x, y)
    model.double()
    opt, loss = sgd_step(model, x.double(), y)

    ours = st_read(w1)
    theirs = model.state_dict()
    if set(ours) != set(theirs):
        sys.exit(f"torch_compat: names differ: only ours {sorted(set(ours) - set(theirs))}, "
                 f"only torchvision's {sorted(set(theirs) - set(ours))}")
    floats = [k for k in theirs if theirs[k].dtype == torch.float64]
    worst = max((relative_error(ours[k], theirs[k]), k) for k in floats)
    our_buffers = st_read(f"{work}/w1.optim.safetensors")
    names = {id(p): n for n, p in model.named_parameters()}
    worst_grad = max((relative_error(our_buffers[names[id(p)] + ".momentum_buffer"],
                                     opt.state[p]["momentum_buffer"]), names[id(p)])
                     for p in model.parameters())
    torch32 = max(relative_error(float32_model.state_dict()[k], theirs[k]) for k in floats)
    print(f"one SGD step (loss {loss.item():.6f}): worst relative error {worst[0]:.2e} "
          f"({worst[1]}); of the momentum buffers {worst_grad[0]:.2e} ({worst_grad[1]}); "
          f"torch's float32 step: {torch32:.2e}")
    if worst[0] >= 1e-4 or worst_grad[0] >= 1e-3:
        sys.exit("torch_compat: FAILED: one step differs from torch's")

    reloaded = torchvision.models.resnet18(num_classes=3)
    reloaded.load_state_dict(ours, strict=True)
    reloaded.eval()
    with torch.no_grad():
        expected = torch.softmax(reloaded(x).double(), dim=1)
    got = trainer_probs(trainer, w1, paths)
    diff = (got - expected).abs().max().item()
    print(f"predictions: largest probability difference {diff:.2e}")
    if diff > 2e-4 or not torch.equal(got.argmax(1), expected.argmax(1)):
        sys.exit(f"torch_compat: FAILED: predictions differ\nours\n{got}\ntorch\n{expected}")
    print("torch_compat: passed")


if __name__ == "__main__":
    main()
