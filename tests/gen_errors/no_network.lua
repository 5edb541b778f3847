local x = input{8, 8, 3}
x = fc(x, 2)
