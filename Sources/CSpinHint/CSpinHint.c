// The hint is a static inline function in include/CSpinHint.h; this file gives the target a translation unit.
#include "CSpinHint.h"
