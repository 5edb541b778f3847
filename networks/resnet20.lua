-- ResNet-20/32/44/56/110 for 32x32 images (He et al. 2015, section 4.2): a
-- 3x3 conv stem with 16 channels, three stages of 16, 32 and 64 channels with
-- n basic blocks each (n = (depth - 2) / 6), global average pool, fc.
--
-- Shortcuts are the paper's option B: identity, except a 1x1 conv + BN
-- projection (layerN.0.downsample) where a stage halves the size and doubles
-- the channels.  (The paper's CIFAR table uses option A, zero-padding, which
-- has no parameters: ResNet-20 is 0.27M parameters either way, 272,474 with
-- option B at 10 classes against 269,722.)  Names follow resnet.lua's
-- torchvision scheme: conv1, bn1, layer1.0.conv1 ... layer3.2.bn2, fc.
--
--   gen -D depth=56 -D input=28x28x1 networks/resnet20.lua
-- takes depth (20), input (32x32x3), batch (128), classes (10), width (16) and
-- variant (see resnet.lua).
local resnet = require "resnet"

local function stages(p)
  local n = (p.depth - 2) // 6
  if p.depth < 8 or (p.depth - 2) % 6 ~= 0 then
    error("-D depth=" .. p.depth .. ": must be 6n+2 with n >= 1 (8, 14, 20, 32, 44, 56, 110)")
  end
  return {n, n, n}
end

return resnet.build{block = resnet.basic, stem = "small", layers = stages,
                    defaults = {depth = 20, input = {32, 32, 3}, batch = 128, classes = 10,
                                width = 16}}
