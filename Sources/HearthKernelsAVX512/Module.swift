// HearthKernelsAVX512 module
