/*
 * Growable memory buffer and fixed memory reader adapters.
 * SPDX-License-Identifier: MIT
 */
#include "core/error.h"
#include "core/vec.h"
#include "libprofile/io.h"

struct lp_membuf {
  lp_mem mem; /* first: see lp_mem_new_handle */
  lp_vec bytes;
};

int lp_membuf_create(const lp_allocator *alloc, lp_membuf **out) {
  if (out == NULL) return LP_EINVAL;
  *out = NULL;
  lp_membuf *b;
  int rc = lp_mem_new_handle(alloc, sizeof *b, (void **)&b);
  if (rc != LP_OK) return rc;
  lp_vec_init(&b->bytes, 1);
  *out = b;
  return LP_OK;
}

void lp_membuf_free(lp_membuf *b) {
  if (b == NULL) return;
  lp_vec_free(&b->bytes, &b->mem);
  lp_mem_free_handle(b, sizeof *b);
}

int lp_membuf_write(void *ud, const void *data, size_t len) {
  lp_membuf *b = ud;
  if (b == NULL || (data == NULL && len > 0)) return LP_EINVAL;
  return lp_vec_append(&b->bytes, &b->mem, data, len);
}

const uint8_t *lp_membuf_data(const lp_membuf *b) {
  return (b == NULL || b->bytes.len == 0) ? NULL : b->bytes.data;
}

size_t lp_membuf_size(const lp_membuf *b) { return b == NULL ? 0 : b->bytes.len; }

void lp_membuf_clear(lp_membuf *b) {
  if (b != NULL) b->bytes.len = 0;
}

int lp_memreader_init(lp_memreader *r, const void *data, size_t size) {
  if (r == NULL || (data == NULL && size > 0)) return LP_EINVAL;
  r->struct_size = (uint32_t)sizeof *r;
  r->data = data;
  r->size = size;
  r->pos = 0;
  return LP_OK;
}

int lp_memreader_read(void *ud, void *buf, size_t cap, size_t *got) {
  lp_memreader *r = ud;
  if (r == NULL || got == NULL || (buf == NULL && cap > 0)) return LP_EINVAL;
  if (r->struct_size < sizeof *r || r->pos > r->size) return LP_EINVAL;
  size_t n = r->size - r->pos;
  if (n > cap) n = cap;
  if (n > 0) memcpy(buf, r->data + r->pos, n);
  r->pos += n;
  *got = n;
  return LP_OK;
}
