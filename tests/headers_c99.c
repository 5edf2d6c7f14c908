/* The public headers compile as strict C99 (see tests/meson.build). */
#include "libprofile.h"

typedef char lp_c99_check[sizeof(lp_allocator) > 0 ? 1 : -1];
