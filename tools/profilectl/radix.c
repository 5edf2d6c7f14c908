/*
 * LSD radix sort of 64-bit keys (radix.h).
 * SPDX-License-Identifier: MIT
 */
#include "radix.h"

#include <stdlib.h>
#include <string.h>

int pctl_radix_sort(pctl_radix_item *a, size_t n) {
  pctl_radix_item *tmp = malloc((n ? n : 1) * sizeof *tmp);
  size_t *count = malloc(65536 * sizeof *count);
  if (tmp == NULL || count == NULL) {
    free(tmp);
    free(count);
    return -1;
  }
  pctl_radix_item *src = a, *dst = tmp;
  for (unsigned shift = 0; shift < 64; shift += 16) {
    memset(count, 0, 65536 * sizeof *count);
    for (size_t i = 0; i < n; i++) count[(src[i].key >> shift) & 0xFFFF]++;
    if (n == 0 || count[(src[0].key >> shift) & 0xFFFF] == n) continue;
    size_t sum = 0;
    for (size_t d = 0; d < 65536; d++) {
      size_t c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++) dst[count[(src[i].key >> shift) & 0xFFFF]++] = src[i];
    pctl_radix_item *t = src;
    src = dst;
    dst = t;
  }
  if (src != a) memcpy(a, src, n * sizeof *a);
  free(tmp);
  free(count);
  return 0;
}
