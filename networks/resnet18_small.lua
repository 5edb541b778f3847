-- ResNet-18 for small images (28x28, 32x32): torchvision's resnet18 with the
-- stem replaced by one 3x3 stride-1 conv and no max-pool, the usual CIFAR
-- ResNet-18 (and the network of Fashion-MNIST's benchmark).  Its 4 stages see
-- 32, 16, 8 and 4 pixels a side at 32x32 instead of 8, 4, 2 and 1.  Names
-- are torchvision's, so its checkpoints load into resnet18(num_classes=10)
-- with conv1 swapped for nn.Conv2d(C, 64, 3, 1, 1, bias=False) and
-- maxpool = nn.Identity().  See resnet.lua for the -D options.
local resnet = require "resnet"
return resnet.build{block = resnet.basic, layers = {2, 2, 2, 2}, stem = "small",
                    defaults = {input = {32, 32, 3}, batch = 128, classes = 10}}
