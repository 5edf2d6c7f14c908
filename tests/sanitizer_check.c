/*
 * Fails when run under `meson test --setup=asan` (which sets
 * LP_EXPECT_SANITIZERS=1) in a build that is not instrumented, so that
 * setup can never report a clean run without actually sanitizing.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#  define LP_HAVE_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define LP_HAVE_ASAN 1
#  endif
#endif
#ifndef LP_HAVE_ASAN
#  define LP_HAVE_ASAN 0
#endif

int main(void) {
  const char *want = getenv("LP_EXPECT_SANITIZERS");
  if (want != NULL && want[0] == '1' && !LP_HAVE_ASAN) {
    fprintf(stderr, "the asan setup needs a build configured with "
                    "-Db_sanitize=address,undefined\n");
    return 1;
  }
  printf("address sanitizer: %s\n", LP_HAVE_ASAN ? "on" : "off");
  return 0;
}
