-- resnet.lua: ResNet from flatnet's primitives, with torchvision's layout and
-- parameter names (conv1, bn1, layer1.0.conv1, layer1.0.downsample.0, fc), so
-- weights map one to one onto torchvision.models.resnetNN().state_dict().
--
-- variant = "tutorial" builds the classic Keras tutorial's network instead
-- (calmiLovesAI/TensorFlow2.0_ResNet, models/residual_block.py): every conv has
-- a bias, TensorFlow "same" padding, BN eps 1e-3 and momentum 0.99 (Keras's
-- convention; 0.01 in torch's), a projection shortcut in every bottleneck block
-- (which strides on its 3x3, conv2, as torchvision's does) and in a basic block
-- only when it strides; conv and fc weights start Glorot-uniform and biases at
-- zero, Keras's defaults.
local M = {}

local variants = {
  torchvision = {
    bias = false, eps = 1e-5, momentum = 0.1, init = "torchvision",
    pad = function(k) return (k - 1) // 2 end,
    basic_projects_on_channels = true,
    bottleneck_projects_always = false,
  },
  tutorial = {
    bias = true, eps = 1e-3, momentum = 0.01, init = "glorot_uniform",
    pad = function() return "same" end,
    basic_projects_on_channels = false,
    bottleneck_projects_always = true,
  },
}

-- conv then bn, named as torchvision names them ("conv1" / "bn1").
local function conv_bn(x, v, out, k, stride, conv_name, bn_name)
  local y = conv(x, out, k, {stride = stride, pad = v.pad(k), bias = v.bias, init = v.init,
                             name = conv_name})
  return bn(y, {eps = v.eps, momentum = v.momentum, name = bn_name})
end

-- layerN.M.downsample.{0,1}: a 1x1 conv and bn that match the block's output.
local function projection(x, v, out, stride)
  return scope("downsample", function()
    return conv_bn(x, v, out, 1, stride, "0", "1")
  end)
end

M.basic = {expansion = 1}
function M.basic.block(x, v, planes, stride)
  local out = relu(conv_bn(x, v, planes, 3, stride, "conv1", "bn1"))
  out = conv_bn(out, v, planes, 3, 1, "conv2", "bn2")
  local short = x
  if stride ~= 1 or (v.basic_projects_on_channels and x.channels ~= planes) then
    short = projection(x, v, planes, stride)
  end
  return relu(add(out, short))
end

M.bottleneck = {expansion = 4}
function M.bottleneck.block(x, v, planes, stride)
  local out = relu(conv_bn(x, v, planes, 1, 1, "conv1", "bn1"))
  out = relu(conv_bn(out, v, planes, 3, stride, "conv2", "bn2"))
  out = conv_bn(out, v, planes * 4, 1, 1, "conv3", "bn3")
  local short = x
  if v.bottleneck_projects_always or stride ~= 1 or x.channels ~= planes * 4 then
    short = projection(x, v, planes * 4, stride)
  end
  return relu(add(out, short))
end

-- The ImageNet stem: a 7x7/2 conv and a 3x3/2 max-pool, 224 -> 56.  The small
-- stem for 28x28 and 32x32 images (He et al. 2015, section 4.2; the usual
-- CIFAR ResNet-18): one 3x3/1 conv and no pool, so layer1 sees the full image.
local stems = {
  imagenet = function(x, v, width)
    x = relu(conv_bn(x, v, width, 7, 2, "conv1", "bn1"))
    return maxpool(x, 3, {stride = 2, pad = v.pad(3), name = "maxpool"})
  end,
  small = function(x, v, width)
    return relu(conv_bn(x, v, width, 3, 1, "conv1", "bn1"))
  end,
}

-- resnet.build{block = resnet.bottleneck, layers = {3, 4, 6, 3}}
-- Defaults (each overridable with gen -D): the classic tutorial's setup.
--   input    HxWxC of the images          224x224x3
--   batch    images a step                8
--   classes  outputs of fc                3
--   width    channels of the stem and of layer1 (doubling each stage)  64
--   variant  torchvision or tutorial      torchvision
-- The spec may also give
--   stem      "imagenet" (the default) or "small" (see stems above)
--   defaults  a table merged over the defaults above: other values, or more
--             -D keys for the network file to read
--   layers    a function of the resolved defaults instead of a list, for a
--             depth that comes from -D (resnet20.lua)
function M.build(spec)
  local base = {batch = 8, classes = 3, input = {224, 224, 3}, width = 64,
                variant = "torchvision"}
  for key, value in pairs(spec.defaults or {}) do base[key] = value end
  local p = defaults(base)
  local v = variants[p.variant]
  if not v then
    error("-D variant: must be torchvision or tutorial, got '" .. p.variant .. "'")
  end
  local stem = stems[spec.stem or "imagenet"]
  if not stem then error("resnet.build: stem must be imagenet or small") end
  local layers = spec.layers
  if type(layers) == "function" then layers = layers(p) end
  local x = input{p.input[1], p.input[2], p.input[3], batch = p.batch}
  x = stem(x, v, p.width)
  for stage, blocks in ipairs(layers) do
    local planes = p.width * 2 ^ (stage - 1) // 1
    scope("layer" .. stage, function()
      for i = 1, blocks do
        local stride = (stage > 1 and i == 1) and 2 or 1
        x = scope(tostring(i - 1), spec.block.block, x, v, planes, stride)
      end
    end)
  end
  x = global_avgpool(x, {name = "avgpool"})
  x = fc(x, p.classes, {init = v.init, name = "fc"})
  return softmax_cross_entropy(x)
end

return M
