-- 32 channels (a multiple of every block width), bn, maxpool 2x2 stride 2 on
-- an odd size (9x9 -> 4x4: the last row and column are never read), an
-- unpadded stride-2 conv down to 1x1 (bn over 3 values a channel), and logits
-- straight from global_avgpool with 5 classes.
local x = input{9, 9, 5, batch = 3}
x = conv(x, 32, 3, {pad = 1})
x = bn(x)
x = relu(x)
x = maxpool(x, 2)
x = conv(x, 5, 3, {stride = 2})
x = bn(x)
x = global_avgpool(x)
return softmax_cross_entropy(x)
