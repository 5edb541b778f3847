#!/usr/bin/python3
"""make_seeds.py - writes the hand-made seeds of fuzz/corpus/ (run from the
repository root; make_seeds.sh adds the seeds that need a built trainer).

image/       one small file per format and flavour stb_image reads, each
             behind fuzz_image's two configuration bytes
idx/         IDX image and label files, plain and gzipped
checkpoint/  small safetensors files: empty, metadata only, other dtypes
gen/         small network descriptions (tests/ops/*.lua are copied too)
"""
import gzip
import io
import json
import os
import shutil
import struct

from PIL import Image

ROOT = "fuzz/corpus"


def put(target, name, data):
    os.makedirs(f"{ROOT}/{target}", exist_ok=True)
    with open(f"{ROOT}/{target}/{name}", "wb") as f:
        f.write(data)


def picture(mode, w=5, h=7):
    img = Image.new("RGB", (w, h))
    img.putdata([(x * 50 % 256, y * 36 % 256, (x + y) * 20 % 256)
                 for y in range(h) for x in range(w)])
    return img.convert(mode)


def encoded(img, fmt, **kw):
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def images():
    # configuration bytes: channels and height, then width and placement
    configs = [bytes([0x1e, 0x34]), bytes([0x0d, 0xf7]), bytes([0x00, 0x00]),
               bytes([0x3f, 0x8f])]
    files = {
        "gray.png": encoded(picture("L"), "PNG"),
        "gray_alpha.png": encoded(picture("LA"), "PNG"),
        "rgb.png": encoded(picture("RGB"), "PNG"),
        "rgba.png": encoded(picture("RGBA"), "PNG"),
        "palette.png": encoded(picture("P"), "PNG"),
        "gray16.png": encoded(picture("L").convert("I").point(lambda v: v * 257), "PNG"),
        "interlaced.png": encoded(picture("RGB", 9, 9), "PNG", interlace=1),
        "baseline.jpg": encoded(picture("RGB", 17, 9), "JPEG", quality=80),
        "progressive.jpg": encoded(picture("RGB", 17, 9), "JPEG", progressive=True),
        "gray.jpg": encoded(picture("L", 8, 8), "JPEG"),
        "subsampled.jpg": encoded(picture("RGB", 16, 16), "JPEG", subsampling=2),
        "rgb.bmp": encoded(picture("RGB"), "BMP"),
        "palette.bmp": encoded(picture("P"), "BMP"),
        "rgba.bmp": encoded(picture("RGBA"), "BMP"),
        "still.gif": encoded(picture("P"), "GIF"),
        "raw.tga": encoded(picture("RGB"), "TGA"),
        "rle.tga": encoded(picture("RGBA"), "TGA", compression="tga_rle"),
        "rgb.ppm": encoded(picture("RGB"), "PPM"),
        "gray.pgm": encoded(picture("L"), "PPM"),
    }
    frames = [picture("P"), picture("P").rotate(90, expand=False)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=10)
    files["animated.gif"] = out.getvalue()
    # Radiance HDR, flat (uncompressed) scanlines of RGBE
    hdr = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 3 +X 4\n" + bytes(
        [(i * 37) % 256 if i % 4 != 3 else 128 for i in range(3 * 4 * 4)])
    files["flat.hdr"] = hdr
    # Photoshop: 8-bit RGB, 3x2, raw image data
    psd = (b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, 2, 3, 8, 3) + struct.pack(">I", 0) * 3 +
           struct.pack(">H", 0) + bytes(range(18)))
    files["raw.psd"] = psd
    for i, (name, data) in enumerate(sorted(files.items())):
        put("image", name, configs[i % len(configs)] + data)


def idx_file(dims, body):
    return struct.pack(">BBBB", 0, 0, 8, len(dims)) + b"".join(
        struct.pack(">I", d) for d in dims) + bytes(body)


def idx():
    images = idx_file([3, 4, 2], [(i * 29) % 256 for i in range(24)])
    labels = idx_file([5], [0, 1, 2, 1, 0])
    put("idx", "images", images)
    put("idx", "labels", labels)
    put("idx", "images.gz", gzip.compress(images, mtime=0))
    put("idx", "labels.gz", gzip.compress(labels, mtime=0))
    put("idx", "four_dims", idx_file([2, 1, 2, 2], range(8)))
    put("idx", "empty_items", idx_file([0, 28, 28], []))


def safetensors(header, data=b""):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def checkpoints():
    put("checkpoint", "empty", safetensors({}))
    put("checkpoint", "metadata_only", safetensors({"__metadata__": {"format": "x"}}))
    put("checkpoint", "dtypes", safetensors({
        "a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]},
        "b": {"dtype": "I64", "shape": [], "data_offsets": [4, 12]},
        "c": {"dtype": "F32", "shape": [1, 2], "data_offsets": [12, 20]},
    }, bytes(range(20))))


def networks():
    for name in sorted(os.listdir("tests/ops")):
        shutil.copy(f"tests/ops/{name}", f"{ROOT}/gen/ops_{name}")
    shutil.copy("fuzz/tiny.lua", f"{ROOT}/gen/tiny.lua")
    put("gen", "resnet_small.lua", b"""local resnet = require "resnet"
return resnet.build{block = resnet.basic, layers = {1, 1, 1, 1}, stem = "small",
                    defaults = {input = {8, 8, 3}, batch = 2, classes = 3, width = 4}}
""")
    put("gen", "bottleneck.lua", b"""local resnet = require "resnet"
return resnet.build{block = resnet.bottleneck, layers = {1, 1, 1, 1},
                    defaults = {input = {32, 32, 3}, batch = 2, classes = 2, width = 4,
                                variant = "tutorial"}}
""")
    put("gen", "scopes.lua", b"""local p = defaults{batch = 2, classes = 3, input = {6, 6, 3}}
local x = input{p.input[1], p.input[2], p.input[3], batch = p.batch}
x = scope("stem", function() return maxpool(relu(conv(x, 4, 3, {pad = "same", bias = true})), 2) end)
local y = scope("b", function(t) return bn(conv(t, 4, 1), {eps = 1e-3, momentum = 0.01}) end, x)
x = relu(add(x, y))
print(x.shape, x.channels, tostring(x))
return softmax_cross_entropy(fc(global_avgpool(x), p.classes))
""")


images()
idx()
checkpoints()
os.makedirs(f"{ROOT}/gen", exist_ok=True)
networks()
