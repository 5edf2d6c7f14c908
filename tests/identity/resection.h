/*
 * Test helper: re-emit a snapshot section by section through an edit
 * callback (hand-made and hostile snapshots with valid checksums).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_TEST_RESECTION_H
#define LP_TEST_RESECTION_H

#include "identity/idtest.h"

/* Called for section `index` with a malloc'd copy of its payload, which it
 * may change in place or shorten (*len); it may also write sections of its
 * own to `w`. Returns whether the (edited) section is written next. */
typedef bool (*idt_section_fn)(void *ctx, size_t index, uint32_t type, uint32_t flags, uint8_t *p,
                               size_t *len, lp_snapshot_writer *w);

static inline void idt_put_section(lp_snapshot_writer *w, uint32_t type, uint32_t flags,
                                   const void *p, size_t len) {
  assert_int_equal(lp_snapshot_writer_begin_section(w, type, flags), LP_OK);
  assert_int_equal(lp_snapshot_writer_write(w, p, len), LP_OK);
  assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
}

static inline lp_membuf *idt_resection(const lp_membuf *in, idt_section_fn fn, void *ctx) {
  lp_membuf *out;
  assert_int_equal(lp_membuf_create(NULL, &out), LP_OK);
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(in), lp_membuf_size(in)), LP_OK);
  lp_snapshot_reader *r;
  lp_snapshot_writer *w;
  assert_int_equal(lp_snapshot_reader_create(NULL, lp_memreader_read, &mr, &r), LP_OK);
  uint32_t kind;
  assert_int_equal(lp_snapshot_reader_header(r, &kind, NULL), LP_OK);
  assert_int_equal(lp_snapshot_writer_create(NULL, lp_membuf_write, out, kind, &w), LP_OK);
  for (size_t i = 0;; i++) {
    uint32_t type, flags;
    const uint8_t *data;
    size_t len;
    assert_int_equal(lp_snapshot_reader_next(r, &type, &flags, &data, &len), LP_OK);
    if (type == LP_SECTION_END) break;
    uint8_t *copy = malloc(len + 1);
    assert_non_null(copy);
    if (len > 0) memcpy(copy, data, len);
    if (fn(ctx, i, type, flags, copy, &len, w)) idt_put_section(w, type, flags, copy, len);
    free(copy);
  }
  assert_int_equal(lp_snapshot_writer_finish(w), LP_OK);
  lp_snapshot_writer_free(w);
  lp_snapshot_reader_free(r);
  return out;
}

#endif /* LP_TEST_RESECTION_H */
