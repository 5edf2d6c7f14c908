/*
 * profilectl tests - readers and an allocator with controllable failures.
 * SPDX-License-Identifier: MIT
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

void chunk_reader_init(chunk_reader *r, const char *data, size_t size, size_t chunk) {
  memset(r, 0, sizeof *r);
  r->data = data;
  r->size = size;
  r->chunk = chunk;
}

int chunk_reader_read(void *ud, void *buf, size_t cap, size_t *got) {
  chunk_reader *r = ud;
  r->calls++;
  *got = 0;
  if (r->fail_at != 0 && r->calls == r->fail_at) return r->fail_code;
  if (r->overreport && r->calls == 1) {
    *got = cap + 1;
    return 0;
  }
  size_t n = r->size - r->pos;
  if (n > cap) n = cap;
  if (r->chunk != 0 && n > r->chunk) n = r->chunk;
  memcpy(buf, r->data + r->pos, n);
  r->pos += n;
  *got = n;
  return 0;
}

static void *fa_alloc(void *ud, size_t size) {
  fail_alloc *fa = ud;
  fa->count++;
  if (fa->fail_at != 0 && fa->count >= fa->fail_at) return NULL;
  void *p = malloc(size);
  if (p != NULL) fa->live++;
  return p;
}

static void *fa_realloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
  (void)old_size;
  fail_alloc *fa = ud;
  fa->count++;
  if (fa->fail_at != 0 && fa->count >= fa->fail_at) return NULL;
  return realloc(ptr, new_size);
}

static void fa_free(void *ud, void *ptr, size_t size) {
  (void)size;
  fail_alloc *fa = ud;
  fa->live--;
  free(ptr);
}

lp_allocator fail_alloc_make(fail_alloc *fa, unsigned fail_at) {
  fa->count = 0;
  fa->fail_at = fail_at;
  fa->live = 0;
  lp_allocator a = LP_ALLOCATOR_INIT;
  a.ud = fa;
  a.alloc = fa_alloc;
  a.realloc = fa_realloc;
  a.free = fa_free;
  return a;
}
