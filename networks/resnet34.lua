-- ResNet-34 (He et al. 2015), torchvision's resnet34; gen -D variant=tutorial
-- gives the Keras tutorial's topology.  See resnet.lua for the -D options.
local resnet = require "resnet"
return resnet.build{block = resnet.basic, layers = {3,4,6,3}}
