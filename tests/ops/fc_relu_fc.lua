-- An MLP head, fc -> relu -> fc, at batch 3.  fc writes its 7 outputs as a 1x1
-- blocked tensor, padded with zero lanes to a whole block (8 channels at avx2
-- and generic, 16 at avx512), so relu and the second fc read it in the layout
-- every op uses; before fc did, they read images 2 and 3 from the wrong place.
local x = input{3, 5, 20, batch = 3}
x = fc(x, 7)
x = relu(x)
x = fc(x, 3)
return softmax_cross_entropy(x)
