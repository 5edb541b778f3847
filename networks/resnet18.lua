-- ResNet-18 (He et al. 2015), torchvision's resnet18; gen -D variant=tutorial
-- gives the Keras tutorial's topology.  See resnet.lua for the -D options.
local resnet = require "resnet"
return resnet.build{block = resnet.basic, layers = {2,2,2,2}}
