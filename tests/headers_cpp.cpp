// The public headers compile as C++ and link: extern "C" guards work.
#include "libprofile.h"

#include <cstdio>

int main() {
  lp_allocator a = LP_ALLOCATOR_INIT;
  if (lp_allocator_check(&a) != LP_OK) return 1;
  lp_membuf *b = nullptr;
  if (lp_membuf_create(nullptr, &b) != LP_OK) return 1;
  int rc = lp_membuf_write(b, "x", 1);
  lp_membuf_free(b);
  std::printf("libprofile %s from C++\n", lp_version_string());
  return rc == 0 && lp_version() == LP_VERSION_NUMBER ? 0 : 1;
}
