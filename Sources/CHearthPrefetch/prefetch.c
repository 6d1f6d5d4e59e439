// SwiftPM needs one source file in a C target; the only function is inline in include/CHearthPrefetch.h.
#include "CHearthPrefetch.h"
