/*
 * Tests for the snapshot container (include/libprofile/io.h): layout, round
 * trips, misuse, and hostile input: every truncation, every bit flip, every
 * failing byte of the writer and the reader, every failing allocation.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/common.h"
#include "core/hash.h"
#include "core/snapshot_direct.h"
#include "harness/lp_test.h"

#define KIND_TEST LP_FOURCC('T', 'E', 'S', 'T')
#define SEC_A LP_FOURCC('A', 'A', 'A', 'A')
#define SEC_B LP_FOURCC('B', 'B', 'B', 'B')
#define SEC_C LP_FOURCC('C', 'C', 'C', 'C')

/* The sections of the sample snapshot: empty, odd-sized (padding), and
 * larger than the reader's first buffer step. */
static uint8_t big_payload[100000];
static void fill_big(void) {
  for (size_t i = 0; i < sizeof big_payload; i++) big_payload[i] = (uint8_t)(i * 7 + 3);
}

static int write_sample(const lp_allocator *alloc, lp_writer write, void *ud, bool big) {
  lp_snapshot_writer *w;
  int rc = lp_snapshot_writer_create(alloc, write, ud, KIND_TEST, &w);
  if (rc != LP_OK) return rc;
  if (rc == LP_OK) rc = lp_snapshot_writer_begin_section(w, SEC_A, 0);
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  if (rc == LP_OK) rc = lp_snapshot_writer_begin_section(w, SEC_B, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapshot_writer_write(w, "hello", 5);
  if (rc == LP_OK) rc = lp_snapshot_writer_write(w, ", world", 7);
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  if (big) {
    if (rc == LP_OK) rc = lp_snapshot_writer_begin_section(w, SEC_C, 0);
    for (size_t off = 0; rc == LP_OK && off < sizeof big_payload; off += 1000)
      rc = lp_snapshot_writer_write(w, big_payload + off, 1000);
    if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_finish(w);
  lp_snapshot_writer_free(w);
  return rc;
}

/* The sample through the calls without a copy (core/snapshot_direct.h):
 * SEC_B encoded into rooms (a reservation smaller than the section, so
 * it grows past it too), SEC_C put whole from the caller's bytes. */
static int write_sample_direct(const lp_allocator *alloc, lp_writer write, void *ud, bool big) {
  lp_snapshot_writer *w;
  int rc = lp_snapshot_writer_create(alloc, write, ud, KIND_TEST, &w);
  if (rc != LP_OK) return rc;
  if (rc == LP_OK) rc = lp_snapshot_writer_put_section(w, SEC_A, 0, NULL, 0);
  if (rc == LP_OK) rc = lp_snapshot_writer_begin_section(w, SEC_B, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapshot_writer_reserve(w, 4);
  static const char text[] = "hello, world";
  for (size_t i = 0; rc == LP_OK && i < 12; i += 3) {
    uint8_t *room;
    size_t avail;
    rc = lp_snapshot_writer_room(w, 3, &room, &avail);
    if (rc != LP_OK) break;
    assert_true(avail >= 3);
    memcpy(room, text + i, 3);
    lp_snapshot_writer_commit(w, 3);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  if (big && rc == LP_OK)
    rc = lp_snapshot_writer_put_section(w, SEC_C, 0, big_payload, sizeof big_payload);
  if (rc == LP_OK) rc = lp_snapshot_writer_finish(w);
  lp_snapshot_writer_free(w);
  return rc;
}

static lp_membuf *sample(bool big) {
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  assert_int_equal(write_sample(NULL, lp_membuf_write, b, big), LP_OK);
  return b;
}

/* Read a whole snapshot and check it is the sample. Returns the first
 * error, or LP_OK after verifying every byte. */
static int read_sample(const lp_allocator *alloc, lp_reader read, void *ud, bool big) {
  lp_snapshot_reader *r;
  int rc = lp_snapshot_reader_create(alloc, read, ud, &r);
  if (rc != LP_OK) return rc;
  uint32_t kind = 0, minor = 99, type, flags;
  const uint8_t *data;
  size_t len;
  rc = lp_snapshot_reader_header(r, &kind, &minor);
  if (rc == LP_OK) {
    assert_int_equal(kind, KIND_TEST);
    assert_int_equal(minor, LP_SNAPSHOT_FORMAT_MINOR);
    rc = lp_snapshot_reader_next(r, &type, &flags, &data, &len);
  }
  if (rc == LP_OK) {
    assert_int_equal(type, SEC_A);
    assert_int_equal(flags, 0);
    assert_int_equal(len, 0);
    assert_null(data);
    rc = lp_snapshot_reader_next(r, &type, &flags, &data, &len);
  }
  if (rc == LP_OK) {
    assert_int_equal(type, SEC_B);
    assert_int_equal(flags, LP_SECTION_REQUIRED);
    assert_int_equal(len, 12);
    assert_memory_equal(data, "hello, world", 12);
    rc = lp_snapshot_reader_next(r, &type, &flags, &data, &len);
  }
  if (rc == LP_OK && big) {
    assert_int_equal(type, SEC_C);
    assert_int_equal(len, sizeof big_payload);
    assert_memory_equal(data, big_payload, sizeof big_payload);
    rc = lp_snapshot_reader_next(r, &type, &flags, &data, &len);
  }
  if (rc == LP_OK) {
    assert_int_equal(type, LP_SECTION_END);
    assert_int_equal(len, 0);
    /* After the end, the end again. */
    rc = lp_snapshot_reader_next(r, &type, &flags, &data, &len);
    assert_int_equal(rc, LP_OK);
    assert_int_equal(type, LP_SECTION_END);
  }
  if (rc != LP_OK) {
    assert_string_not_equal(lp_snapshot_reader_errmsg(r), "no error");
    /* Errors are sticky. */
    assert_int_equal(lp_snapshot_reader_next(r, &type, &flags, &data, &len), rc);
  }
  lp_snapshot_reader_free(r);
  return rc;
}

static int read_buffer(const uint8_t *data, size_t size, bool big) {
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, data, size), LP_OK);
  return read_sample(NULL, lp_memreader_read, &mr, big);
}

static void layout_matches_format_doc(void **state) {
  (void)state;
  lp_membuf *b = sample(false);
  const uint8_t *p = lp_membuf_data(b);
  /* header 32 + A (24 + 0) + B (24 + 12 + 4 padding) + END (24 + 24) */
  assert_int_equal(lp_membuf_size(b), 32 + 24 + 24 + 16 + 48);
  assert_memory_equal(p, "\x89LPS\r\n\x1a\n", 8);
  assert_int_equal(lp_get_u16le(p + 8), 1);
  assert_int_equal(lp_get_u16le(p + 10), 0);
  assert_memory_equal(p + 12, "TEST", 4);
  assert_int_equal(lp_get_u32le(p + 16), 0);
  assert_int_equal(lp_get_u32le(p + 20), LP_VERSION_NUMBER);
  assert_int_equal(lp_get_u64le(p + 24), lp_hash64(p, 24, 0));
  const uint8_t *a = p + 32;
  assert_memory_equal(a, "AAAA", 4);
  assert_int_equal(lp_get_u32le(a + 4), 0);
  assert_int_equal(lp_get_u64le(a + 8), 0);
  assert_int_equal(lp_get_u64le(a + 16), lp_hash64("", 0, lp_hash64(a, 16, 0)));
  const uint8_t *s = a + 24;
  assert_memory_equal(s, "BBBB", 4);
  assert_int_equal(lp_get_u32le(s + 4), LP_SECTION_REQUIRED);
  assert_int_equal(lp_get_u64le(s + 8), 12);
  assert_int_equal(lp_get_u64le(s + 16), lp_hash64(s + 24, 12, lp_hash64(s, 16, 0)));
  assert_memory_equal(s + 24, "hello, world\0\0\0\0", 16);
  const uint8_t *e = s + 24 + 16;
  assert_int_equal(lp_get_u32le(e), LP_SECTION_END);
  assert_int_equal(lp_get_u64le(e + 8), 24);
  uint64_t chain = lp_hash64(p, 24, 0);
  chain = lp_hash64(a, 24, chain);
  chain = lp_hash64(s, 24, chain);
  assert_int_equal(lp_get_u64le(e + 24), 2);                  /* sections */
  assert_int_equal(lp_get_u64le(e + 32), chain);              /* chain */
  assert_int_equal(lp_get_u64le(e + 40), (uint64_t)(e - p)); /* offset */
  lp_membuf_free(b);
}

static void round_trip_through_memory_and_file(void **state) {
  (void)state;
  lp_membuf *b = sample(true);
  assert_int_equal(read_buffer(lp_membuf_data(b), lp_membuf_size(b), true), LP_OK);
  /* Byte by byte: short reads are completed by the library. */
  lp_test_reader tr;
  lp_test_reader_init(&tr, lp_membuf_data(b), lp_membuf_size(b));
  tr.max_chunk = 1;
  assert_int_equal(read_sample(NULL, lp_test_reader_cb, &tr, true), LP_OK);
#ifndef LP_NO_STDIO
  /* Through a FILE*. */
  FILE *f = tmpfile();
  assert_non_null(f);
  assert_int_equal(write_sample(NULL, lp_file_write, f, true), LP_OK);
  rewind(f);
  assert_int_equal(read_sample(NULL, lp_file_read, f, true), LP_OK);
  fclose(f);
#endif
  /* Deterministic: the same content gives the same bytes. */
  lp_membuf *again = sample(true);
  assert_int_equal(lp_membuf_size(again), lp_membuf_size(b));
  assert_memory_equal(lp_membuf_data(again), lp_membuf_data(b), lp_membuf_size(b));
  lp_membuf_free(again);
  lp_membuf_free(b);
}

static void snapshots_can_follow_each_other(void **state) {
  (void)state;
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  assert_int_equal(write_sample(NULL, lp_membuf_write, b, false), LP_OK);
  assert_int_equal(write_sample(NULL, lp_membuf_write, b, true), LP_OK);
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(b), lp_membuf_size(b)), LP_OK);
  assert_int_equal(read_sample(NULL, lp_memreader_read, &mr, false), LP_OK);
  assert_int_equal(read_sample(NULL, lp_memreader_read, &mr, true), LP_OK);
  assert_int_equal(mr.pos, mr.size);
  lp_membuf_free(b);
}

static void writer_rejects_misuse(void **state) {
  (void)state;
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  lp_snapshot_writer *w = (lp_snapshot_writer *)&w;
  assert_int_equal(lp_snapshot_writer_create(NULL, NULL, b, KIND_TEST, &w), LP_EINVAL);
  assert_null(w);
  assert_int_equal(lp_snapshot_writer_create(NULL, lp_membuf_write, b, KIND_TEST, NULL),
                   LP_EINVAL);
  lp_allocator bad = {1, NULL, NULL, NULL, NULL};
  assert_int_equal(lp_snapshot_writer_create(&bad, lp_membuf_write, b, KIND_TEST, &w),
                   LP_EINVAL);
  assert_int_equal(lp_snapshot_writer_create(NULL, lp_membuf_write, b, KIND_TEST, &w), LP_OK);
  assert_string_equal(lp_snapshot_writer_errmsg(w), "no error");
  assert_int_equal(lp_snapshot_writer_write(w, "x", 1), LP_EMISUSE);
  assert_int_equal(lp_snapshot_writer_end_section(w), LP_EMISUSE);
  assert_int_equal(lp_snapshot_writer_begin_section(w, LP_SECTION_END, 0), LP_EINVAL);
  assert_int_equal(lp_snapshot_writer_begin_section(w, SEC_A, 2), LP_EINVAL);
  assert_non_null(strstr(lp_snapshot_writer_errmsg(w), "flags"));
  assert_int_equal(lp_snapshot_writer_begin_section(w, SEC_A, 0), LP_OK);
  assert_int_equal(lp_snapshot_writer_begin_section(w, SEC_B, 0), LP_EMISUSE);
  assert_int_equal(lp_snapshot_writer_write(w, NULL, 1), LP_EINVAL);
  assert_int_equal(lp_snapshot_writer_finish(w), LP_EMISUSE);
  /* Argument errors are not sticky: the writer carries on. */
  assert_int_equal(lp_snapshot_writer_write(w, "x", 1), LP_OK);
  assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
  assert_int_equal(lp_snapshot_writer_finish(w), LP_OK);
  assert_int_equal(lp_snapshot_writer_finish(w), LP_EMISUSE);
  assert_int_equal(lp_snapshot_writer_begin_section(w, SEC_A, 0), LP_EMISUSE);
  lp_snapshot_writer_free(w);
  lp_snapshot_writer_free(NULL);
  assert_string_equal(lp_snapshot_writer_errmsg(NULL), "invalid handle: NULL");
  assert_int_equal(lp_snapshot_writer_begin_section(NULL, SEC_A, 0), LP_EINVAL);
  assert_int_equal(lp_snapshot_writer_write(NULL, "x", 1), LP_EINVAL);
  assert_int_equal(lp_snapshot_writer_end_section(NULL), LP_EINVAL);
  assert_int_equal(lp_snapshot_writer_finish(NULL), LP_EINVAL);
  lp_membuf_free(b);
}

/* Every byte of the small sample; the large one with a stride (each run
 * rewrites ~100 kB, so every byte would cost 10 GB of copying). */
static size_t next_offset(size_t at, bool big) { return at + (big && at > 300 ? 997 : 1); }

typedef int (*sample_writer)(const lp_allocator *alloc, lp_writer write, void *ud, bool big);

/* The sample written by `write` with the callback failing at every byte
 * (every 997th past the first 300 of the big one): LP_EIO, nothing past
 * the failing byte, no memory left. */
static void fails_cleanly_at_every_byte(sample_writer write, bool big) {
  lp_membuf *ref = sample(big);
  size_t total = lp_membuf_size(ref);
  for (size_t limit = 0; limit < total; limit = next_offset(limit, big)) {
    lp_test_alloc ta;
    lp_test_alloc_init(&ta);
    lp_test_writer tw = {NULL, limit, 0, 1};
    assert_int_equal(write(&ta.alloc, lp_test_writer_cb, &tw, big), LP_EIO);
    assert_true(tw.written <= limit);
    assert_int_equal(ta.live_blocks, 0);
  }
  lp_membuf_free(ref);
}

static void writer_fails_cleanly_at_every_byte(void **state) {
  (void)state;
  for (int big = 0; big < 2; big++) fails_cleanly_at_every_byte(write_sample, big);
  /* A callback's own negative code is passed through. */
  lp_test_writer tw = {NULL, 40, 0, LP_ENOMEM};
  assert_int_equal(write_sample(NULL, lp_test_writer_cb, &tw, false), LP_ENOMEM);
}

static void writer_error_is_sticky_with_message(void **state) {
  (void)state;
  lp_test_writer tw = {NULL, 10, 0, 7};
  lp_snapshot_writer *w;
  assert_int_equal(lp_snapshot_writer_create(NULL, lp_test_writer_cb, &tw, KIND_TEST, &w), LP_OK);
  assert_int_equal(lp_snapshot_writer_begin_section(w, SEC_A, 0), LP_OK);
  assert_int_equal(lp_snapshot_writer_end_section(w), LP_EIO);
  assert_non_null(strstr(lp_snapshot_writer_errmsg(w), "write callback failed (returned 7)"));
  assert_int_equal(lp_snapshot_writer_begin_section(w, SEC_B, 0), LP_EIO);
  assert_int_equal(lp_snapshot_writer_finish(w), LP_EIO);
  lp_snapshot_writer_free(w);
}

static void reader_detects_every_truncation(void **state) {
  (void)state;
  for (int big = 0; big < 2; big++) {
    lp_membuf *b = sample(big);
    const uint8_t *p = lp_membuf_data(b);
    size_t total = lp_membuf_size(b);
    for (size_t len = 0; len < total; len = next_offset(len, big)) {
      int rc = read_buffer(p, len, big);
      if (rc != LP_ECORRUPT) fail_msg("truncation at %zu: got %d", len, rc);
    }
    /* The last bytes of the end record too. */
    for (size_t len = total - 24; len < total; len++)
      assert_int_equal(read_buffer(p, len, big), LP_ECORRUPT);
    lp_membuf_free(b);
  }
}

static void reader_detects_every_bit_flip(void **state) {
  (void)state;
  lp_membuf *b = sample(false);
  size_t total = lp_membuf_size(b);
  uint8_t *copy = malloc(total);
  assert_non_null(copy);
  for (size_t i = 0; i < total; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(copy, lp_membuf_data(b), total);
      copy[i] ^= (uint8_t)(1u << bit);
      int rc = read_buffer(copy, total, false);
      if (rc != LP_ECORRUPT && rc != LP_EVERSION && rc != LP_ELIMIT)
        fail_msg("flip of byte %zu bit %d not detected: %d", i, bit, rc);
    }
  }
  free(copy);
  lp_membuf_free(b);
}

static void reader_fails_cleanly_at_every_byte(void **state) {
  (void)state;
  lp_membuf *b = sample(true);
  size_t total = lp_membuf_size(b);
  for (size_t at = 0; at < total; at = next_offset(at, true)) {
    lp_test_alloc ta;
    lp_test_alloc_init(&ta);
    lp_test_reader tr;
    lp_test_reader_init(&tr, lp_membuf_data(b), total);
    tr.fail_at = at;
    assert_int_equal(read_sample(&ta.alloc, lp_test_reader_cb, &tr, true), LP_EIO);
    assert_int_equal(ta.live_blocks, 0);
  }
  /* Every byte offset of the small sample, one byte per call. */
  lp_membuf *s = sample(false);
  for (size_t at = 0; at < lp_membuf_size(s); at++) {
    lp_test_reader tr;
    lp_test_reader_init(&tr, lp_membuf_data(s), lp_membuf_size(s));
    tr.fail_at = at;
    tr.max_chunk = 1;
    tr.fail_code = LP_ENOMEM; /* passed through unchanged */
    assert_int_equal(read_sample(NULL, lp_test_reader_cb, &tr, false), LP_ENOMEM);
  }
  lp_membuf_free(s);
  lp_membuf_free(b);
}

static int lying_reader(void *ud, void *buf, size_t cap, size_t *got) {
  (void)ud;
  (void)buf;
  *got = cap + 1;
  return 0;
}

static void reader_rejects_misuse_and_bad_callbacks(void **state) {
  (void)state;
  lp_snapshot_reader *r = (lp_snapshot_reader *)&r;
  assert_int_equal(lp_snapshot_reader_create(NULL, NULL, NULL, &r), LP_EINVAL);
  assert_null(r);
  assert_int_equal(lp_snapshot_reader_create(NULL, lying_reader, NULL, NULL), LP_EINVAL);
  lp_allocator bad = {1, NULL, NULL, NULL, NULL};
  assert_int_equal(lp_snapshot_reader_create(&bad, lying_reader, NULL, &r), LP_EINVAL);
  assert_int_equal(lp_snapshot_reader_create(NULL, lying_reader, NULL, &r), LP_OK);
  assert_int_equal(lp_snapshot_reader_set_section_limit(r, 0), LP_EINVAL);
  assert_int_equal(lp_snapshot_reader_set_section_limit(NULL, 5), LP_EINVAL);
  uint32_t type;
  const uint8_t *data;
  size_t len;
  assert_int_equal(lp_snapshot_reader_next(r, NULL, NULL, &data, &len), LP_EINVAL);
  assert_int_equal(lp_snapshot_reader_next(r, &type, NULL, NULL, &len), LP_EINVAL);
  assert_int_equal(lp_snapshot_reader_next(r, &type, NULL, &data, NULL), LP_EINVAL);
  assert_int_equal(lp_snapshot_reader_header(r, NULL, NULL), LP_EIO);
  assert_non_null(strstr(lp_snapshot_reader_errmsg(r), "bytes for a request of"));
  lp_snapshot_reader_free(r);
  lp_snapshot_reader_free(NULL);
  assert_int_equal(lp_snapshot_reader_header(NULL, NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_snapshot_reader_next(NULL, &type, NULL, &data, &len), LP_EINVAL);
  assert_string_equal(lp_snapshot_reader_errmsg(NULL), "invalid handle: NULL");
}

static int open_reader(const uint8_t *p, size_t n, lp_memreader *mr, lp_snapshot_reader **r) {
  assert_int_equal(lp_memreader_init(mr, p, n), LP_OK);
  return lp_snapshot_reader_create(NULL, lp_memreader_read, mr, r);
}

static void reader_enforces_section_limit(void **state) {
  (void)state;
  lp_membuf *b = sample(false);
  lp_memreader mr;
  lp_snapshot_reader *r;
  assert_int_equal(open_reader(lp_membuf_data(b), lp_membuf_size(b), &mr, &r), LP_OK);
  assert_int_equal(lp_snapshot_reader_set_section_limit(r, 11), LP_OK);
  uint32_t type;
  const uint8_t *data;
  size_t len;
  assert_int_equal(lp_snapshot_reader_next(r, &type, NULL, &data, &len), LP_OK); /* A: 0 bytes */
  assert_int_equal(lp_snapshot_reader_next(r, &type, NULL, &data, &len), LP_ELIMIT);
  assert_non_null(strstr(lp_snapshot_reader_errmsg(r), "exceeds the limit 11"));
  lp_snapshot_reader_free(r);
  lp_membuf_free(b);
}

/* Re-seal a header after editing it, so the test reaches the check behind
 * the checksum. */
static void reseal_header(uint8_t *p) { lp_put_u64le(p + 24, lp_hash64(p, 24, 0)); }

static void reseal_record(uint8_t *rec, const uint8_t *payload, size_t len) {
  lp_put_u64le(rec + 16, lp_hash64(payload, len, lp_hash64(rec, 16, 0)));
}

static void reader_reports_versions_and_structure(void **state) {
  (void)state;
  lp_membuf *b = sample(false);
  size_t n = lp_membuf_size(b);
  uint8_t *p = malloc(n);
  assert_non_null(p);

  memcpy(p, lp_membuf_data(b), n);
  lp_put_u16le(p + 8, 2); /* a future major version */
  reseal_header(p);
  assert_int_equal(read_buffer(p, n, false), LP_EVERSION);

  memcpy(p, lp_membuf_data(b), n);
  lp_put_u16le(p + 10, 7); /* a future minor version is readable */
  reseal_header(p);
  lp_memreader mr;
  lp_snapshot_reader *r;
  assert_int_equal(open_reader(p, n, &mr, &r), LP_OK);
  uint32_t kind, minor;
  assert_int_equal(lp_snapshot_reader_header(r, &kind, &minor), LP_OK);
  assert_int_equal(minor, 7);
  lp_snapshot_reader_free(r);

  memcpy(p, lp_membuf_data(b), n);
  lp_put_u32le(p + 16, 1); /* unknown header flags */
  reseal_header(p);
  assert_int_equal(read_buffer(p, n, false), LP_EVERSION);

  memcpy(p, lp_membuf_data(b), n);
  p[0] = 'X';
  assert_int_equal(open_reader(p, n, &mr, &r), LP_OK);
  assert_int_equal(lp_snapshot_reader_header(r, NULL, NULL), LP_ECORRUPT);
  assert_non_null(strstr(lp_snapshot_reader_errmsg(r), "bad magic"));
  lp_snapshot_reader_free(r);

  memcpy(p, lp_membuf_data(b), n);
  lp_put_u32le(p + 32 + 4, 4); /* unknown section flag, correctly sealed */
  reseal_record(p + 32, NULL, 0);
  assert_int_equal(read_buffer(p, n, false), LP_EVERSION);

  /* Drop section A (24 bytes) and fix nothing else: the end record sees a
   * missing section even though every remaining record is intact. */
  memcpy(p, lp_membuf_data(b), 32);
  memcpy(p + 32, lp_membuf_data(b) + 56, n - 56);
  assert_int_equal(open_reader(p, n - 24, &mr, &r), LP_OK);
  uint32_t type;
  const uint8_t *data;
  size_t len;
  assert_int_equal(lp_snapshot_reader_next(r, &type, NULL, &data, &len), LP_OK);
  assert_int_equal(type, SEC_B);
  assert_int_equal(lp_snapshot_reader_next(r, &type, NULL, &data, &len), LP_ECORRUPT);
  assert_non_null(strstr(lp_snapshot_reader_errmsg(r), "end record"));
  lp_snapshot_reader_free(r);

  free(p);
  lp_membuf_free(b);
}

static void hostile_length_costs_no_memory(void **state) {
  (void)state;
  /* A header and a record that claims 2^39 bytes, followed by 100 bytes. */
  uint8_t buf[32 + 24 + 100];
  memset(buf, 0, sizeof buf);
  memcpy(buf, "\x89LPS\r\n\x1a\n", 8);
  lp_put_u16le(buf + 8, 1);
  reseal_header(buf);
  lp_put_u32le(buf + 32, SEC_A);
  lp_put_u64le(buf + 40, UINT64_C(1) << 39);
  lp_test_alloc ta;
  lp_test_alloc_init(&ta);
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, buf, sizeof buf), LP_OK);
  lp_snapshot_reader *r;
  assert_int_equal(lp_snapshot_reader_create(&ta.alloc, lp_memreader_read, &mr, &r), LP_OK);
  assert_int_equal(lp_snapshot_reader_set_section_limit(r, UINT64_MAX), LP_OK);
  uint32_t type;
  const uint8_t *data;
  size_t len;
  if ((uint64_t)SIZE_MAX - 8 >= UINT64_C(1) << 39) {
    /* 64-bit: the length fits in memory, so the missing bytes are found. */
    assert_int_equal(lp_snapshot_reader_next(r, &type, NULL, &data, &len), LP_ECORRUPT);
    assert_non_null(strstr(lp_snapshot_reader_errmsg(r), "truncated"));
  } else {
    /* 32-bit size_t: such a section cannot be held, refused before reading. */
    assert_int_equal(lp_snapshot_reader_next(r, &type, NULL, &data, &len), LP_ELIMIT);
    assert_non_null(strstr(lp_snapshot_reader_errmsg(r), "does not fit in memory"));
  }
  lp_snapshot_reader_free(r);
  assert_true(ta.peak_bytes < 256 * 1024);
  assert_int_equal(ta.live_blocks, 0);
}

static int round_trip_flow(const lp_allocator *alloc, void *ctx) {
  (void)ctx;
  lp_membuf *b;
  int rc = lp_membuf_create(alloc, &b);
  if (rc != LP_OK) return rc;
  rc = write_sample(alloc, lp_membuf_write, b, true);
  if (rc == LP_OK) {
    lp_memreader mr;
    assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(b), lp_membuf_size(b)), LP_OK);
    rc = read_sample(alloc, lp_memreader_read, &mr, true);
  }
  lp_membuf_free(b);
  return rc;
}

static void round_trip_survives_every_allocation_failure(void **state) {
  (void)state;
  size_t points = lp_test_oom_sweep("snapshot round trip", round_trip_flow, NULL);
  assert_true(points >= 6);
}

static void direct_calls_give_the_same_bytes(void **state) {
  (void)state;
  for (int big = 0; big < 2; big++) {
    lp_membuf *ref = sample(big), *b;
    assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
    assert_int_equal(write_sample_direct(NULL, lp_membuf_write, b, big), LP_OK);
    assert_int_equal(lp_membuf_size(b), lp_membuf_size(ref));
    assert_memory_equal(lp_membuf_data(b), lp_membuf_data(ref), lp_membuf_size(ref));
    lp_membuf_free(b);
    lp_membuf_free(ref);
  }
}

static void direct_calls_fail_cleanly_at_every_byte(void **state) {
  (void)state;
  fails_cleanly_at_every_byte(write_sample_direct, true);
}

static int direct_flow(const lp_allocator *alloc, void *ctx) {
  (void)ctx;
  lp_membuf *b;
  int rc = lp_membuf_create(alloc, &b);
  if (rc != LP_OK) return rc;
  rc = write_sample_direct(alloc, lp_membuf_write, b, true);
  lp_membuf_free(b);
  return rc;
}

static void direct_calls_survive_every_allocation_failure(void **state) {
  (void)state;
  size_t points = lp_test_oom_sweep("snapshot direct calls", direct_flow, NULL);
  assert_true(points >= 3); /* the handle, the reservation, its growth */
}

/* A room on a writer with no open section, or after a failure: the
 * writer's error, no room. */
static void direct_room_reports_misuse_and_failure(void **state) {
  (void)state;
  lp_test_writer tw = {NULL, 0, 0, 1};
  lp_snapshot_writer *w;
  assert_int_equal(lp_snapshot_writer_create(NULL, lp_test_writer_cb, &tw, KIND_TEST, &w), LP_OK);
  uint8_t *room = (uint8_t *)1;
  size_t avail = 1;
  assert_int_equal(lp_snapshot_writer_room(w, 8, &room, &avail), LP_EMISUSE);
  assert_null(room);
  assert_int_equal(avail, 0);
  assert_int_equal(lp_snapshot_writer_reserve(w, 8), LP_EMISUSE);

  assert_int_equal(lp_snapshot_writer_put_section(w, SEC_A, 0, "x", 1), LP_EIO);
  assert_int_equal(lp_snapshot_writer_begin_section(w, SEC_B, 0), LP_EIO);
  lp_snapshot_writer_free(w);
  /* A failed reservation is only a hint not taken: the section goes on. */
  lp_test_alloc ta;
  lp_test_alloc_init(&ta);
  lp_test_alloc_fail_at(&ta, 2, false); /* the handle, then the reservation */
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  assert_int_equal(lp_snapshot_writer_create(&ta.alloc, lp_membuf_write, b, KIND_TEST, &w), LP_OK);
  assert_int_equal(lp_snapshot_writer_begin_section(w, SEC_A, 0), LP_OK);
  assert_int_equal(lp_snapshot_writer_reserve(w, 1000), LP_ENOMEM);
  assert_int_equal(ta.failures, 1);
  assert_int_equal(lp_snapshot_writer_room(w, 8, &room, &avail), LP_OK);
  assert_true(avail >= 8);
  memset(room, 7, 8);
  lp_snapshot_writer_commit(w, 8);
  assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
  assert_int_equal(lp_snapshot_writer_finish(w), LP_OK);
  lp_snapshot_writer_free(w);
  assert_int_equal(ta.live_blocks, 0);
  lp_membuf_free(b);
}

static int setup(void **state) {
  (void)state;
  fill_big();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(layout_matches_format_doc),
      cmocka_unit_test(round_trip_through_memory_and_file),
      cmocka_unit_test(snapshots_can_follow_each_other),
      cmocka_unit_test(writer_rejects_misuse),
      cmocka_unit_test(writer_fails_cleanly_at_every_byte),
      cmocka_unit_test(writer_error_is_sticky_with_message),
      cmocka_unit_test(reader_detects_every_truncation),
      cmocka_unit_test(reader_detects_every_bit_flip),
      cmocka_unit_test(reader_fails_cleanly_at_every_byte),
      cmocka_unit_test(reader_rejects_misuse_and_bad_callbacks),
      cmocka_unit_test(reader_enforces_section_limit),
      cmocka_unit_test(reader_reports_versions_and_structure),
      cmocka_unit_test(hostile_length_costs_no_memory),
      cmocka_unit_test(round_trip_survives_every_allocation_failure),
      cmocka_unit_test(direct_calls_give_the_same_bytes),
      cmocka_unit_test(direct_calls_fail_cleanly_at_every_byte),
      cmocka_unit_test(direct_calls_survive_every_allocation_failure),
      cmocka_unit_test(direct_room_reports_misuse_and_failure),
  };
  return cmocka_run_group_tests_name("snapshot", tests, setup, NULL);
}
