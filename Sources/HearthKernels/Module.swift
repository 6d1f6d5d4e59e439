// HearthKernels module
