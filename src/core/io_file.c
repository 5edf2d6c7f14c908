/*
 * C stdio adapters, kept in their own file so a no-stdio build drops them.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

#include "core/common.h"
#include "libprofile/io.h"

int lp_file_write(void *ud, const void *buf, size_t len) {
  FILE *f = ud;
  if (f == NULL || (buf == NULL && len > 0)) return LP_EINVAL;
  if (len == 0) return LP_OK;
  return fwrite(buf, 1, len, f) == len ? LP_OK : LP_EIO;
}

int lp_file_read(void *ud, void *buf, size_t cap, size_t *got) {
  FILE *f = ud;
  if (f == NULL || got == NULL || (buf == NULL && cap > 0)) return LP_EINVAL;
  *got = 0;
  if (cap == 0) return LP_OK;
  size_t n = fread(buf, 1, cap, f);
  if (n == 0 && ferror(f)) return LP_EIO;
  *got = n;
  return LP_OK;
}
