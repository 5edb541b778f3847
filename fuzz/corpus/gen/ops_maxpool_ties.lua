-- Max pooling straight on the input, whose values the test draws from a coarse
-- grid so that windows hold ties: the gradient must go to the first maximum in
-- raster order, as torch sends it.  The values are mostly negative, so windows
-- that reach into the padding at the border often hold only negative values:
-- the padding is -inf and must never win.  add() keeps every pooled value
-- visible in the loss (a second maxpool after the first would hide most).
local x = input{8, 8, 3, batch = 2}
local a = maxpool(x, 3, {stride = 2, pad = 1})  -- 8x8 -> 4x4
local b = maxpool(x, 2)                         -- 8x8 -> 4x4
x = fc(add(a, b), 3)
return softmax_cross_entropy(x)
