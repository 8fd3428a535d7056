// The functions are static inline in include/CIntrinsics.h; this file gives the target a translation unit.
#include "CIntrinsics.h"
