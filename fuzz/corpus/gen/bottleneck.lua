local resnet = require "resnet"
return resnet.build{block = resnet.bottleneck, layers = {1, 1, 1, 1},
                    defaults = {input = {32, 32, 3}, batch = 2, classes = 2, width = 4,
                                variant = "tutorial"}}
