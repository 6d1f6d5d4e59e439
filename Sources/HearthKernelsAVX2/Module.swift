// HearthKernelsAVX2 module
