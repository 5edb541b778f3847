local resnet = require "resnet"
return resnet.build{block = resnet.basic, layers = {1, 1, 1, 1}, stem = "small",
                    defaults = {input = {8, 8, 3}, batch = 2, classes = 3, width = 4}}
