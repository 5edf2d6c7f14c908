/*
 * Tests for the I/O adapters of include/libprofile/io.h: growable memory
 * buffer, fixed memory reader, FILE* reader and writer.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness/lp_test.h"

static void membuf_collects_writes(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_test_alloc_init(&ta);
  lp_membuf *b = NULL;
  assert_int_equal(lp_membuf_create(&ta.alloc, &b), LP_OK);
  assert_null(lp_membuf_data(b));
  assert_int_equal(lp_membuf_size(b), 0);
  assert_int_equal(lp_membuf_write(b, "hello ", 6), 0);
  assert_int_equal(lp_membuf_write(b, NULL, 0), 0);
  assert_int_equal(lp_membuf_write(b, "world", 5), 0);
  assert_int_equal(lp_membuf_size(b), 11);
  assert_memory_equal(lp_membuf_data(b), "hello world", 11);
  lp_membuf_clear(b);
  assert_int_equal(lp_membuf_size(b), 0);
  assert_int_equal(lp_membuf_write(b, "x", 1), 0);
  assert_memory_equal(lp_membuf_data(b), "x", 1);
  lp_membuf_free(b);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_frees, 0);
}

static void membuf_errors(void **state) {
  (void)state;
  assert_int_equal(lp_membuf_create(NULL, NULL), LP_EINVAL);
  lp_membuf *b = (lp_membuf *)&b;
  lp_allocator bad = LP_ALLOCATOR_INIT;
  bad.struct_size = 0;
  assert_int_equal(lp_membuf_create(&bad, &b), LP_EINVAL);
  assert_null(b);
  lp_test_alloc ta;
  lp_test_alloc_init(&ta);
  lp_test_alloc_fail_at(&ta, 1, false);
  assert_int_equal(lp_membuf_create(&ta.alloc, &b), LP_ENOMEM);
  assert_null(b);
  assert_int_equal(lp_membuf_create(&ta.alloc, &b), LP_OK);
  assert_int_equal(lp_membuf_write(NULL, "a", 1), LP_EINVAL);
  assert_int_equal(lp_membuf_write(b, NULL, 1), LP_EINVAL);
  assert_int_equal(lp_membuf_write(b, "abc", 3), 0);
  lp_test_alloc_fail_at(&ta, 1, true);
  assert_int_equal(lp_membuf_write(b, "defghijklmnop", 13), LP_ENOMEM);
  assert_int_equal(lp_membuf_size(b), 3); /* unchanged */
  assert_memory_equal(lp_membuf_data(b), "abc", 3);
  lp_test_alloc_disarm(&ta);
  assert_int_equal(lp_membuf_write(b, "d", 1), 0); /* still usable */
  assert_int_equal(lp_membuf_write(b, "x", SIZE_MAX), LP_ELIMIT);
  lp_membuf_free(b);
  lp_membuf_free(NULL);
  lp_membuf_clear(NULL);
  assert_null(lp_membuf_data(NULL));
  assert_int_equal(lp_membuf_size(NULL), 0);
  assert_int_equal(ta.live_blocks, 0);
}

static void memreader_reads_in_pieces(void **state) {
  (void)state;
  lp_memreader r;
  assert_int_equal(lp_memreader_init(&r, "abcdef", 6), LP_OK);
  char buf[4];
  size_t got;
  assert_int_equal(lp_memreader_read(&r, buf, 4, &got), 0);
  assert_int_equal(got, 4);
  assert_memory_equal(buf, "abcd", 4);
  assert_int_equal(lp_memreader_read(&r, buf, 4, &got), 0);
  assert_int_equal(got, 2);
  assert_memory_equal(buf, "ef", 2);
  assert_int_equal(lp_memreader_read(&r, buf, 4, &got), 0);
  assert_int_equal(got, 0); /* end */
  assert_int_equal(lp_memreader_init(&r, NULL, 0), LP_OK);
  assert_int_equal(lp_memreader_read(&r, buf, 4, &got), 0);
  assert_int_equal(got, 0);
}

static void memreader_errors(void **state) {
  (void)state;
  lp_memreader r;
  char buf[4];
  size_t got;
  assert_int_equal(lp_memreader_init(NULL, "a", 1), LP_EINVAL);
  assert_int_equal(lp_memreader_init(&r, NULL, 1), LP_EINVAL);
  assert_int_equal(lp_memreader_init(&r, "a", 1), LP_OK);
  assert_int_equal(lp_memreader_read(NULL, buf, 4, &got), LP_EINVAL);
  assert_int_equal(lp_memreader_read(&r, NULL, 4, &got), LP_EINVAL);
  assert_int_equal(lp_memreader_read(&r, buf, 4, NULL), LP_EINVAL);
  lp_memreader junk;
  memset(&junk, 0, sizeof junk); /* never initialised */
  assert_int_equal(lp_memreader_read(&junk, buf, 4, &got), LP_EINVAL);
}

#ifndef LP_NO_STDIO
static void file_adapters_round_trip(void **state) {
  (void)state;
  FILE *f = tmpfile();
  assert_non_null(f);
  assert_int_equal(lp_file_write(f, "0123456789", 10), 0);
  assert_int_equal(lp_file_write(f, NULL, 0), 0);
  rewind(f);
  char buf[16];
  size_t got;
  assert_int_equal(lp_file_read(f, buf, sizeof buf, &got), 0);
  assert_int_equal(got, 10);
  assert_memory_equal(buf, "0123456789", 10);
  assert_int_equal(lp_file_read(f, buf, sizeof buf, &got), 0);
  assert_int_equal(got, 0);
  fclose(f);
}

static void file_adapters_errors(void **state) {
  (void)state;
  char buf[4];
  size_t got;
  assert_int_equal(lp_file_write(NULL, "a", 1), LP_EINVAL);
  assert_int_equal(lp_file_read(NULL, buf, 4, &got), LP_EINVAL);
  /* A stream opened for reading only fails writes and reports an error on
   * reads from a write-only stream. */
  FILE *ro = fopen("/dev/null", "rb");
  assert_non_null(ro);
  assert_int_equal(lp_file_write(ro, "abc", 3), LP_EIO);
  fclose(ro);
  FILE *wo = fopen("/dev/null", "wb");
  assert_non_null(wo);
  assert_int_equal(lp_file_read(wo, buf, sizeof buf, &got), LP_EIO);
  fclose(wo);
}
#endif

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(membuf_collects_writes),
      cmocka_unit_test(membuf_errors),
      cmocka_unit_test(memreader_reads_in_pieces),
      cmocka_unit_test(memreader_errors),
#ifndef LP_NO_STDIO
      cmocka_unit_test(file_adapters_round_trip),
      cmocka_unit_test(file_adapters_errors),
#endif
  };
  return cmocka_run_group_tests_name("io", tests, NULL, NULL);
}
