/*
 * Tests for include/libprofile/core.h and the internal allocator, error
 * slot, hashing, RNG and byte-order helpers.
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

#include "core/codec.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/mem.h"
#include "core/rng.h"
#include "core/utf8.h"
#include "harness/lp_test.h"

static void version_matches_headers(void **state) {
  (void)state;
  assert_int_equal(lp_version(), LP_VERSION_NUMBER);
  assert_int_equal(LP_VERSION_NUMBER, 10200); /* 1.2.0 */
  char expect[32];
  snprintf(expect, sizeof expect, "%d.%d.%d", LP_VERSION_MAJOR, LP_VERSION_MINOR,
           LP_VERSION_PATCH);
  assert_string_equal(lp_version_string(), expect);
  assert_string_equal(LP_VERSION_STRING, expect);
}

static void strerror_covers_every_code(void **state) {
  (void)state;
  static const struct {
    int code;
    const char *text;
  } table[] = {
      {LP_OK, "success"},
      {LP_EINVAL, "invalid argument"},
      {LP_ENOMEM, "out of memory"},
      {LP_EIO, "I/O failure"},
      {LP_ECORRUPT, "corrupt input"},
      {LP_EVERSION, "unsupported format version or feature"},
      {LP_ENOTFOUND, "not found"},
      {LP_ELIMIT, "limit exceeded"},
      {LP_ECONFLICT, "conflict"},
      {LP_ERANGE, "value out of range"},
      {LP_EMISUSE, "call out of sequence"},
      {LP_EBUFSIZE, "output buffer too small"},
  };
  for (size_t i = 0; i < LP_ARRAY_LEN(table); i++)
    assert_string_equal(lp_strerror(table[i].code), table[i].text);
  /* Codes are frozen: these numbers are ABI. */
  assert_int_equal(LP_EINVAL, -1);
  assert_int_equal(LP_EMISUSE, -10);
  assert_int_equal(LP_EBUFSIZE, -11);
  assert_string_equal(lp_strerror(-12), "unknown error code");
  assert_string_equal(lp_strerror(1), "unknown error code");
  assert_string_equal(lp_strerror(INT32_MIN), "unknown error code");
}

static void *dummy_alloc(void *ud, size_t n) {
  (void)ud;
  (void)n;
  return NULL;
}
static void dummy_free(void *ud, void *p, size_t n) {
  (void)ud;
  (void)p;
  (void)n;
}

static void allocator_check_rules(void **state) {
  (void)state;
  assert_int_equal(lp_allocator_check(NULL), LP_OK);
  lp_allocator a = LP_ALLOCATOR_INIT;
  assert_int_equal(lp_allocator_check(&a), LP_OK);
  a.alloc = dummy_alloc;
  assert_int_equal(lp_allocator_check(&a), LP_EINVAL); /* alloc without free */
  a.free = dummy_free;
  assert_int_equal(lp_allocator_check(&a), LP_OK); /* realloc optional */
  a.alloc = NULL;
  assert_int_equal(lp_allocator_check(&a), LP_EINVAL); /* free without alloc */
  lp_allocator small = LP_ALLOCATOR_INIT;
  small.struct_size = 4;
  assert_int_equal(lp_allocator_check(&small), LP_EINVAL);
}

static void mem_uses_host_allocator_with_sizes(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_test_alloc_init(&ta);
  lp_mem m;
  assert_int_equal(lp_mem_init(&m, &ta.alloc), LP_OK);
  void *p = NULL;
  assert_int_equal(lp_mem_alloc_array(&m, 10, 8, &p), LP_OK);
  assert_int_equal(ta.live_bytes, 80);
  assert_int_equal(lp_mem_realloc_array(&m, &p, 10, 20, 8), LP_OK);
  assert_int_equal(ta.live_bytes, 160);
  lp_mem_free_array(&m, p, 20, 8);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_frees, 0);
  /* Overflowing n * size is LP_ELIMIT, never a wrapped small block. */
  assert_int_equal(lp_mem_alloc_array(&m, SIZE_MAX / 2, 4, &p), LP_ELIMIT);
  assert_int_equal(lp_mem_alloc_array(&m, 0, 4, &p), LP_ELIMIT);
  assert_int_equal(ta.calls, 2);
  /* Failure leaves the old block alone. */
  assert_int_equal(lp_mem_alloc_array(&m, 4, 1, &p), LP_OK);
  memcpy(p, "abcd", 4);
  lp_test_alloc_fail_at(&ta, 1, false);
  void *q = p;
  assert_int_equal(lp_mem_realloc_array(&m, &q, 4, 8, 1), LP_ENOMEM);
  assert_ptr_equal(q, p);
  assert_memory_equal(p, "abcd", 4);
  lp_mem_free(&m, p, 4);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(lp_mem_init(&m, &(lp_allocator){.struct_size = 1}), LP_EINVAL);
}

static void mem_converts_back_to_allocator(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_test_alloc_init(&ta);
  lp_mem m, again;
  assert_int_equal(lp_mem_init(&m, &ta.alloc), LP_OK);
  lp_allocator a;
  lp_mem_allocator(&m, &a);
  assert_int_equal(lp_allocator_check(&a), LP_OK);
  assert_ptr_equal(a.ud, &ta);
  /* Memory from the round-tripped allocator is the host's. */
  assert_int_equal(lp_mem_init(&again, &a), LP_OK);
  void *p = lp_mem_alloc(&again, 24);
  assert_non_null(p);
  assert_int_equal(ta.live_bytes, 24);
  lp_mem_free(&m, p, 24);
  assert_int_equal(ta.live_blocks, 0);
  /* The C library default converts too. */
  assert_int_equal(lp_mem_init(&m, NULL), LP_OK);
  lp_mem_allocator(&m, &a);
  assert_int_equal(lp_allocator_check(&a), LP_OK);
  assert_non_null(a.alloc);
}

static size_t emulated_allocs;
static void *count_alloc(void *ud, size_t n) {
  (void)ud;
  emulated_allocs++;
  return malloc(n);
}
static void count_free(void *ud, void *p, size_t n) {
  (void)ud;
  (void)n;
  free(p);
}

static void mem_emulates_missing_realloc(void **state) {
  (void)state;
  lp_allocator a = LP_ALLOCATOR_INIT;
  a.alloc = count_alloc;
  a.free = count_free;
  lp_mem m;
  assert_int_equal(lp_mem_init(&m, &a), LP_OK);
  emulated_allocs = 0;
  char *p = lp_mem_alloc(&m, 3);
  assert_non_null(p);
  memcpy(p, "xyz", 3);
  p = lp_mem_realloc(&m, p, 3, 64);
  assert_non_null(p);
  assert_memory_equal(p, "xyz", 3);
  assert_int_equal(emulated_allocs, 2);
  lp_mem_free(&m, p, 64);
  assert_null(lp_mem_alloc(&m, 0));
}

static void error_slot_formats_and_truncates(void **state) {
  (void)state;
  lp_error e;
  lp_error_clear(&e);
  assert_string_equal(lp_error_msg(&e), "no error");
  assert_int_equal(lp_error_set(&e, LP_ERANGE, "k=%d too big", 7), LP_ERANGE);
  assert_int_equal(e.code, LP_ERANGE);
  assert_string_equal(lp_error_msg(&e), "k=7 too big");
  char longtext[1000];
  memset(longtext, 'x', sizeof longtext - 1);
  longtext[sizeof longtext - 1] = '\0';
  lp_error_set(&e, LP_EINVAL, "%s", longtext);
  assert_int_equal(strlen(lp_error_msg(&e)), LP_ERRMSG_CAP - 1);
  assert_int_equal(lp_error_code(&e, LP_ENOMEM), LP_ENOMEM);
  assert_string_equal(lp_error_msg(&e), "out of memory");
}

/* Expected values from the xxhsum 0.8.1 command-line tool:
 *   printf '' | xxhsum -H3   -> 2d06800538d394c2
 *   printf 'abc' | xxhsum -H3 -> 78af5f94892f3950
 *   printf 'abc' | xxhsum -H2 -> 06b05ab6733a6185 78af5f94892f3950 (high, low) */
static void hash_matches_reference_xxh3(void **state) {
  (void)state;
  assert_int_equal(lp_hash64("", 0, 0), UINT64_C(0x2d06800538d394c2));
  assert_int_equal(lp_hash64("abc", 3, 0), UINT64_C(0x78af5f94892f3950));
  lp_hash128 h = lp_hash128_seeded("abc", 3, 0);
  assert_int_equal(h.hi, UINT64_C(0x06b05ab6733a6185));
  assert_int_equal(h.lo, UINT64_C(0x78af5f94892f3950));
  assert_int_not_equal(lp_hash64("abc", 3, 1), lp_hash64("abc", 3, 0));
}

/* Expected values from an independent Python transcription of the
 * reference splitmix64 and xoshiro256** (Blackman & Vigna) code:
 * seed 0 -> 99ec5f36cb75f2b4 bf6e1f784956452a 1a5f849d4933e6e0 6aa594f1262d2d2c
 * seed 42 -> 15780b2e0c2ec716 6104d9866d113a7e ae17533239e499a1 ecb8ad4703b360a1
 * mix64(1) = 5692161d100b05e5 (the splitmix64 finaliser). */
static void rng_matches_reference_streams(void **state) {
  (void)state;
  static const uint64_t seed0[] = {UINT64_C(0x99ec5f36cb75f2b4), UINT64_C(0xbf6e1f784956452a),
                                   UINT64_C(0x1a5f849d4933e6e0), UINT64_C(0x6aa594f1262d2d2c)};
  static const uint64_t seed42[] = {UINT64_C(0x15780b2e0c2ec716), UINT64_C(0x6104d9866d113a7e),
                                    UINT64_C(0xae17533239e499a1), UINT64_C(0xecb8ad4703b360a1)};
  lp_rng r;
  lp_rng_seed(&r, 0);
  for (int i = 0; i < 4; i++) assert_int_equal(lp_rng_next(&r), seed0[i]);
  lp_rng_seed(&r, 42);
  for (int i = 0; i < 4; i++) assert_int_equal(lp_rng_next(&r), seed42[i]);
  assert_int_equal(lp_mix64(1), UINT64_C(0x5692161d100b05e5));
}

static void rng_ranges_are_respected(void **state) {
  (void)state;
  lp_rng r;
  lp_rng_seed(&r, 7);
  unsigned hist[6] = {0};
  for (int i = 0; i < 60000; i++) {
    double d = lp_rng_double(&r);
    assert_true(d >= 0.0 && d < 1.0);
    uint64_t k = lp_rng_below(&r, 6);
    assert_true(k < 6);
    hist[k]++;
  }
  /* Each bucket expects 10000; 5 sigma is about 456. */
  for (int i = 0; i < 6; i++) assert_in_range(hist[i], 9500, 10500);
  assert_int_equal(lp_rng_below(&r, 1), 0);
  /* A huge bound that forces rejection still terminates and stays in range. */
  uint64_t big = (UINT64_MAX / 3) * 2;
  for (int i = 0; i < 100; i++) assert_true(lp_rng_below(&r, big) < big);
}

static void checked_arithmetic_detects_overflow(void **state) {
  (void)state;
  size_t s;
  assert_false(lp_mul_overflow(3, 5, &s));
  assert_int_equal(s, 15);
  assert_true(lp_mul_overflow(SIZE_MAX / 2 + 1, 2, &s));
  assert_false(lp_add_overflow(SIZE_MAX - 1, 1, &s));
  assert_true(lp_add_overflow(SIZE_MAX, 1, &s));
  int64_t v;
  assert_false(lp_i64_add_overflow(INT64_MAX - 1, 1, &v));
  assert_true(lp_i64_add_overflow(INT64_MAX, 1, &v));
  assert_true(lp_i64_add_overflow(INT64_MIN, -1, &v));
  assert_false(lp_i64_mul_overflow(-3, 4, &v));
  assert_int_equal(v, -12);
  assert_true(lp_i64_mul_overflow(INT64_MIN, -1, &v));
  assert_true(lp_i64_mul_overflow(INT64_MAX / 2 + 1, 2, &v));
}

static void little_endian_round_trips(void **state) {
  (void)state;
  uint8_t b[8];
  lp_put_u32le(b, 0x01020304u);
  assert_memory_equal(b, "\x04\x03\x02\x01", 4);
  assert_int_equal(lp_get_u32le(b), 0x01020304u);
  lp_put_u64le(b, UINT64_C(0x0102030405060708));
  assert_memory_equal(b, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
  assert_int_equal(lp_get_u64le(b), UINT64_C(0x0102030405060708));
  lp_put_u16le(b, 0xBEEF);
  assert_int_equal(b[0], 0xEF);
  assert_int_equal(lp_get_u16le(b), 0xBEEF);
  lp_put_f64le(b, -2.5);
  assert_memory_equal(b, "\x00\x00\x00\x00\x00\x00\x04\xc0", 8); /* IEEE-754 of -2.5 */
  assert_true(lp_get_f64le(b) == -2.5);
}

static void cursor_never_reads_past_end(void **state) {
  (void)state;
  const uint8_t data[] = {1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 9};
  lp_cursor c;
  lp_cursor_init(&c, data, sizeof data);
  assert_int_equal(lp_cursor_u32(&c), 1);
  assert_int_equal(lp_cursor_u64(&c), 2);
  assert_true(c.ok);
  assert_int_equal(lp_cursor_u8(&c), 9);
  assert_true(lp_cursor_done(&c));
  assert_int_equal(lp_cursor_u32(&c), 0); /* past the end */
  assert_false(c.ok);
  assert_false(lp_cursor_done(&c));
  /* A hostile count larger than the bytes left is refused. */
  uint8_t cnt[12];
  lp_put_u64le(cnt, UINT64_C(1) << 62);
  lp_cursor_init(&c, cnt, sizeof cnt);
  size_t n;
  assert_false(lp_cursor_count(&c, 8, &n));
  lp_put_u64le(cnt, 1);
  lp_cursor_init(&c, cnt, sizeof cnt);
  assert_false(lp_cursor_count(&c, 8, &n)); /* 4 bytes left, 8 needed */
  lp_cursor_init(&c, cnt, sizeof cnt);
  assert_true(lp_cursor_count(&c, 4, &n));
  assert_int_equal(n, 1);
}

static void utf8_check_accepts_and_refuses(void **state) {
  (void)state;
  static const struct {
    const char *s;
    size_t len;
    int want;
    size_t off;
  } cases[] = {
      {"", 0, LP_UTF8_OK, 0},
      {"plain@example.com", 17, LP_UTF8_OK, 0},
      {"caf\xc3\xa9", 5, LP_UTF8_OK, 0},                 /* U+00E9 */
      {"\xe6\xa0\x87\xe7\xad\xbe", 6, LP_UTF8_OK, 0}, /* CJK */
      {"\xf0\x9f\x98\x80", 4, LP_UTF8_OK, 0},           /* U+1F600 */
      {"\xf4\x8f\xbf\xbf", 4, LP_UTF8_OK, 0},           /* U+10FFFF */
      {"a\0b", 3, LP_UTF8_NUL, 1},
      {"a\xff@b", 4, LP_UTF8_INVALID, 1},
      {"b\xc0.com", 6, LP_UTF8_INVALID, 1},               /* C0 never valid */
      {"\xc1\xbf", 2, LP_UTF8_INVALID, 0},               /* overlong */
      {"\xe0\x80\xaf", 3, LP_UTF8_INVALID, 0},          /* overlong 3-byte */
      {"\xed\xa0\x80", 3, LP_UTF8_INVALID, 0},          /* surrogate D800 */
      {"\xf0\x80\x80\xaf", 4, LP_UTF8_INVALID, 0},     /* overlong 4-byte */
      {"\xf4\x90\x80\x80", 4, LP_UTF8_INVALID, 0},     /* > U+10FFFF */
      {"\xf5\x80\x80\x80", 4, LP_UTF8_INVALID, 0},
      {"ab\xc3", 3, LP_UTF8_INVALID, 2},                  /* truncated */
      {"\xe6\xa0", 2, LP_UTF8_INVALID, 0},
      {"\xc3\x28", 2, LP_UTF8_INVALID, 0},               /* bad continuation */
      {"\xe6\xa0\x28", 3, LP_UTF8_INVALID, 0},
      {"\x80", 1, LP_UTF8_INVALID, 0},                    /* lone continuation */
  };
  for (size_t i = 0; i < LP_ARRAY_LEN(cases); i++) {
    size_t off = 999;
    int r = lp_utf8_check(cases[i].s, cases[i].len, &off);
    assert_int_equal(r, cases[i].want);
    if (r != LP_UTF8_OK) assert_int_equal(off, cases[i].off);
    assert_int_equal(lp_utf8_check(cases[i].s, cases[i].len, NULL), cases[i].want);
  }
  assert_string_equal(lp_utf8_reason(LP_UTF8_NUL), "contains a NUL byte");
  assert_string_equal(lp_utf8_reason(LP_UTF8_INVALID), "is not valid UTF-8");
  assert_string_equal(lp_utf8_reason(LP_UTF8_OK), "valid UTF-8");
}

static void error_reentered_sets_emisuse(void **state) {
  (void)state;
  lp_error e;
  lp_error_clear(&e);
  assert_int_equal(lp_error_reentered(&e, "lp_x_add"), LP_EMISUSE);
  assert_string_equal(lp_error_msg(&e),
                      "lp_x_add called from inside a callback of the same handle (not allowed)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(version_matches_headers),
      cmocka_unit_test(strerror_covers_every_code),
      cmocka_unit_test(allocator_check_rules),
      cmocka_unit_test(mem_uses_host_allocator_with_sizes),
      cmocka_unit_test(mem_converts_back_to_allocator),
      cmocka_unit_test(mem_emulates_missing_realloc),
      cmocka_unit_test(error_slot_formats_and_truncates),
      cmocka_unit_test(hash_matches_reference_xxh3),
      cmocka_unit_test(rng_matches_reference_streams),
      cmocka_unit_test(rng_ranges_are_respected),
      cmocka_unit_test(checked_arithmetic_detects_overflow),
      cmocka_unit_test(little_endian_round_trips),
      cmocka_unit_test(cursor_never_reads_past_end),
      cmocka_unit_test(utf8_check_accepts_and_refuses),
      cmocka_unit_test(error_reentered_sets_emisuse),
  };
  return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
