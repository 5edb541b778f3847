-- A small ResNet with torchvision's layout and names: the stem, a basic block
-- with an identity shortcut, a basic block that strides with a downsample
-- shortcut, a bottleneck block with a downsample shortcut.
local function conv_bn(x, out, k, stride, conv_name, bn_name)
  x = conv(x, out, k, {stride = stride, pad = (k - 1) // 2, name = conv_name})
  return bn(x, {name = bn_name})
end

local function downsample(x, out, stride)
  return scope("downsample", conv_bn, x, out, 1, stride, "0", "1")
end

local function basic(x, planes, stride)
  local out = relu(conv_bn(x, planes, 3, stride, "conv1", "bn1"))
  out = conv_bn(out, planes, 3, 1, "conv2", "bn2")
  local short = x
  if stride ~= 1 or x.channels ~= planes then short = downsample(x, planes, stride) end
  return relu(add(out, short))
end

local function bottleneck(x, planes, stride)
  local out = relu(conv_bn(x, planes, 1, 1, "conv1", "bn1"))
  out = relu(conv_bn(out, planes, 3, stride, "conv2", "bn2"))
  out = conv_bn(out, planes * 4, 1, 1, "conv3", "bn3")
  local short = x
  if stride ~= 1 or x.channels ~= planes * 4 then short = downsample(x, planes * 4, stride) end
  return relu(add(out, short))
end

local x = input{11, 11, 3, batch = 3}
x = relu(conv_bn(x, 8, 3, 1, "conv1", "bn1"))
x = maxpool(x, 3, {stride = 2, pad = 1, name = "maxpool"}) -- 11x11 -> 6x6
x = scope("layer1.0", basic, x, 8, 1)                      -- identity shortcut
x = scope("layer2.0", basic, x, 12, 2)                     -- 6x6 -> 3x3, downsample
x = scope("layer3.0", bottleneck, x, 5, 2)                 -- 3x3 -> 2x2, 20 channels
x = global_avgpool(x, {name = "avgpool"})
x = fc(x, 3, {name = "fc"})
return softmax_cross_entropy(x)
