local x = input{8, 8, 3}
return fc(x, 2, {name = "head"})
