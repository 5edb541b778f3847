-- An MLP head, fc -> relu -> fc, at batch 3.  KNOWN GENERATOR BUG (listed in
-- known_bugs of tests/test_ops.c): every op but fc gets the blocked layout, so
-- relu reads the fc output [n][7] as if it were [n][8] (avx2) and the second fc
-- reads image 2 and 3 from the wrong place.
local x = input{3, 5, 20, batch = 3}
x = fc(x, 7)
x = relu(x)
x = fc(x, 3)
return softmax_cross_entropy(x)
