-- An add whose both inputs have one reader shares its gradient with both; one
-- of them is a relu created after the other input: the relu must not mask
-- that shared gradient in place (the other branch reads it later).
local x = input{6, 6, 8, batch = 2}
local b = conv(x, 8, 3, {pad = 1, name = "b"})
local a = relu(conv(x, 8, 3, {pad = 1, name = "a"}))
return softmax_cross_entropy(fc(add(a, b), 3))
