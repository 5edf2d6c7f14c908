/*
 * The CSV reader's scanning kernels (byte table, 64-bit words, SSE2) must
 * give the same records: every result code, field byte, line number,
 * problem kind and counter. Random inputs over an alphabet rich in the
 * bytes that matter (delimiters, quotes, CR, LF, a BOM) and adversarial
 * ones (long fields across the 64-byte blocks the wide kernels classify,
 * quoted newlines, doubled quotes, CRLF at block edges) run through every
 * kernel at several buffer and read sizes; the byte kernel is the
 * reference, and a few cases are also checked against fields written by
 * hand.
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "testutil.h"

typedef struct text {
  char *data;
  size_t len, cap;
} text;

static void put(text *t, const void *s, size_t n) {
  if (t->len + n + 1 > t->cap) {
    size_t cap = (t->len + n + 1) * 2;
    char *d = realloc(t->data, cap);
    assert_non_null(d);
    t->data = d;
    t->cap = cap;
  }
  memcpy(t->data + t->len, s, n);
  t->len += n;
  t->data[t->len] = '\0';
}

static void putf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(text *t, const char *fmt, ...) {
  char buf[64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  assert_true(n >= 0 && (size_t)n < sizeof buf);
  put(t, buf, (size_t)n);
}

/* Everything the reader reports, field bytes length-prefixed. */
static void transcript(const char *in, size_t len, pctl_csv_scan scan, size_t buffer, size_t chunk,
                       bool header, text *out) {
  out->len = 0;
  chunk_reader cr;
  chunk_reader_init(&cr, in, len, chunk);
  pctl_csv_config cfg;
  pctl_csv_config_init(&cfg);
  cfg.scan = scan;
  cfg.on_malformed = PCTL_CSV_REPORT;
  if (buffer != 0) cfg.buffer_size = buffer;
  pctl_csv *r = NULL;
  assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_OK);
  int rc = LP_OK;
  if (header) {
    rc = pctl_csv_read_header(r);
    putf(out, "H%d:%zu;", rc, pctl_csv_header_count(r));
    for (size_t i = 0; i < pctl_csv_header_count(r); i++) {
      pctl_csv_field f = pctl_csv_header_name(r, i);
      putf(out, "%zu:", f.len);
      put(out, f.ptr, f.len);
    }
  }
  for (int guard = 0; rc >= 0 && rc != PCTL_CSV_END && guard < 100000; guard++) {
    rc = pctl_csv_next(r);
    putf(out, "\n%d@%llu/%d", rc, (unsigned long long)pctl_csv_record_line(r),
         (int)pctl_csv_problem_kind(r));
    size_t n;
    const pctl_csv_field *f = pctl_csv_fields(r, &n);
    for (size_t i = 0; i < n; i++) {
      assert_int_equal(f[i].ptr[f[i].len], '\0');
      putf(out, " %zu:", f[i].len);
      put(out, f[i].ptr, f[i].len);
    }
  }
  if (rc < 0) {
    const char *msg = pctl_csv_errmsg(r);
    putf(out, "\nX%d ", rc);
    put(out, msg, strlen(msg));
  }
  pctl_csv_stats st;
  pctl_csv_get_stats(r, &st);
  putf(out, "\n{%llu,%llu,%llu,%llu}", (unsigned long long)st.rows,
       (unsigned long long)st.malformed, (unsigned long long)st.empty_lines,
       (unsigned long long)st.bytes);
  pctl_csv_close(r);
}

static const pctl_csv_scan kernels[] = {PCTL_CSV_SCAN_WORD, PCTL_CSV_SCAN_SSE2,
                                        PCTL_CSV_SCAN_AUTO};

/* Every kernel at every buffer/read size against the byte kernel. */
static void same_everywhere(const char *in, size_t len) {
  static const size_t buffers[] = {4, 7, 64, 65, 127, 1000, 0};
  static const size_t chunks[] = {1, 13, 0};
  text ref = {NULL, 0, 0}, got = {NULL, 0, 0};
  for (int header = 0; header < 2; header++) {
    transcript(in, len, PCTL_CSV_SCAN_BYTE, 0, 0, header != 0, &ref);
    for (size_t b = 0; b < sizeof buffers / sizeof *buffers; b++) {
      for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
        for (size_t k = 0; k < sizeof kernels / sizeof *kernels; k++) {
          transcript(in, len, kernels[k], buffers[b], chunks[c], header != 0, &got);
          if (got.len != ref.len || memcmp(got.data, ref.data, ref.len) != 0) {
            fprintf(stderr, "kernel %d buffer %zu chunk %zu header %d differs on %zu bytes\n",
                    (int)kernels[k], buffers[b], chunks[c], header, len);
            fail();
          }
        }
        /* The byte kernel itself does not depend on the buffer either. */
        transcript(in, len, PCTL_CSV_SCAN_BYTE, buffers[b], chunks[c], header != 0, &got);
        assert_memory_equal(got.data, ref.data, ref.len);
      }
    }
  }
  free(ref.data);
  free(got.data);
}

static uint64_t next_rand(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void test_random_inputs(void **state) {
  (void)state;
  static const char alphabet[] = {'a', 'b', ',', ',', '"', '"', '\r', '\n', '\n', ' ',
                                  ';', '\0', (char)0xEF, (char)0xBB, (char)0xBF, 'x'};
  uint64_t seed = UINT64_C(0x9E3779B97F4A7C15);
  text in = {NULL, 0, 0};
  for (int round = 0; round < 300; round++) {
    in.len = 0;
    size_t len = (size_t)(next_rand(&seed) % 400);
    if (round % 3 == 0) put(&in, "\xEF\xBB\xBF", 3);
    /* Runs of plain text make the wide kernels cross whole blocks. */
    for (size_t i = 0; i < len; i++) {
      uint64_t x = next_rand(&seed);
      if (x % 11 == 0) {
        size_t run = (size_t)(x >> 8) % 150;
        for (size_t k = 0; k < run; k++) put(&in, "q", 1);
      } else {
        put(&in, &alphabet[(x >> 8) % sizeof alphabet], 1);
      }
    }
    same_everywhere(in.data != NULL ? in.data : "", in.len);
  }
  free(in.data);
}

/* Well-formed random records: quoted fields with commas, doubled quotes,
 * CRLF and LF inside, mixed line endings, empty lines. */
static void test_random_records(void **state) {
  (void)state;
  uint64_t seed = UINT64_C(0x2545F4914F6CDD1D);
  text in = {NULL, 0, 0};
  for (int round = 0; round < 60; round++) {
    in.len = 0;
    if (round % 2 == 0) put(&in, "\xEF\xBB\xBF", 3);
    int rows = 1 + (int)(next_rand(&seed) % 40);
    for (int r = 0; r < rows; r++) {
      for (int f = 0; f < 4; f++) {
        if (f > 0) put(&in, ",", 1);
        uint64_t x = next_rand(&seed);
        size_t flen = (size_t)(x % 90);
        bool quoted = (x >> 10) % 3 == 0;
        if (quoted) put(&in, "\"", 1);
        for (size_t i = 0; i < flen; i++) {
          uint64_t y = next_rand(&seed) % 40;
          if (quoted && y == 0) put(&in, "\"\"", 2);
          else if (quoted && y == 1) put(&in, "\r\n", 2);
          else if (quoted && y == 2) put(&in, "\n", 1);
          else if (quoted && y == 3) put(&in, ",", 1);
          else put(&in, &"abcdefghijklmnopqrstuvwxyz0123456789 .-"[y % 39], 1);
        }
        if (quoted) put(&in, "\"", 1);
      }
      uint64_t e = next_rand(&seed) % 5;
      put(&in, e == 0 ? "\r\n" : e == 1 ? "\n\n" : "\n", e == 0 || e == 1 ? 2 : 1);
    }
    same_everywhere(in.data, in.len);
  }
  free(in.data);
}

/* Records of many short unquoted fields (the whole-record cut), some
 * broken after a few fields by a quote inside a field, a quoted field, a
 * bare CR or a CRLF, at every offset within the 64-byte blocks. */
static void test_unquoted_runs(void **state) {
  (void)state;
  uint64_t seed = UINT64_C(0x9E3779B97F4A7C15);
  text in = {NULL, 0, 0};
  static const char *const breaks[] = {"x\"y", "\"q,\"\"\"", "\r", "\r\n", "", ""};
  for (int round = 0; round < 200; round++) {
    in.len = 0;
    for (int pad = round % 64; pad > 0; pad--) put(&in, "p", 1);
    put(&in, "\n", 1);
    int rows = 1 + (int)(next_rand(&seed) % 30);
    for (int r = 0; r < rows; r++) {
      int fields = 1 + (int)(next_rand(&seed) % 80);
      int at = (int)(next_rand(&seed) % (uint64_t)(fields * 4));
      for (int f = 0; f < fields; f++) {
        if (f > 0) put(&in, ",", 1);
        size_t flen = (size_t)(next_rand(&seed) % 13);
        for (size_t i = 0; i < flen; i++) put(&in, &"abc019 .-"[next_rand(&seed) % 9], 1);
        if (f == at) {
          const char *b = breaks[next_rand(&seed) % (sizeof breaks / sizeof *breaks)];
          put(&in, b, strlen(b));
        }
      }
      bool crlf = next_rand(&seed) % 4 == 0;
      put(&in, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
    }
    same_everywhere(in.data, in.len);
  }
  free(in.data);
}

/* Stop bytes at every position around the 64-byte block edges. */
static void test_block_edges(void **state) {
  (void)state;
  static const char *const stops[] = {",", "\"", "\r\n", "\n", "\r", "\"\"", "\"\n\"", "x\"y"};
  text in = {NULL, 0, 0};
  for (size_t s = 0; s < sizeof stops / sizeof *stops; s++) {
    for (size_t pos = 50; pos < 140; pos++) {
      for (int quoted = 0; quoted < 2; quoted++) {
        in.len = 0;
        if (quoted) put(&in, "\"", 1);
        for (size_t i = 0; i < pos; i++) put(&in, "m", 1);
        put(&in, stops[s], strlen(stops[s]));
        for (size_t i = 0; i < 70; i++) put(&in, "n", 1);
        if (quoted) put(&in, "\"", 1);
        put(&in, ",tail\n", 6);
        same_everywhere(in.data, in.len);
      }
    }
  }
  free(in.data);
}

/* Fields written by hand, read by every kernel. */
static void test_known_fields(void **state) {
  (void)state;
  text in = {NULL, 0, 0};
  put(&in, "\xEF\xBB\xBF", 3);
  put(&in, "id,note\r\n", 9);
  put(&in, "1,\"", 3);
  for (int i = 0; i < 100; i++) put(&in, "ab", 2);
  put(&in, "\"\"q\"\"\n,\r\nz\"\r\n", 13);
  put(&in, "2,plain", 7);
  for (size_t k = 0; k < sizeof kernels / sizeof *kernels + 1; k++) {
    pctl_csv_scan scan = k == 0 ? PCTL_CSV_SCAN_BYTE : kernels[k - 1];
    chunk_reader cr;
    chunk_reader_init(&cr, in.data, in.len, 0);
    pctl_csv_config cfg;
    pctl_csv_config_init(&cfg);
    cfg.scan = scan;
    pctl_csv *r = NULL;
    assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_OK);
    assert_int_equal(pctl_csv_read_header(r), LP_OK);
    assert_int_equal(pctl_csv_header_count(r), 2);
    assert_int_equal(pctl_csv_next(r), PCTL_CSV_ROW);
    size_t n;
    const pctl_csv_field *f = pctl_csv_fields(r, &n);
    assert_int_equal(n, 2);
    assert_int_equal(pctl_csv_record_line(r), 2);
    assert_int_equal(f[1].len, 200 + 8);
    for (int i = 0; i < 100; i++) assert_memory_equal(f[1].ptr + 2 * i, "ab", 2);
    assert_memory_equal(f[1].ptr + 200, "\"q\"\n,\r\nz", 8);
    assert_int_equal(pctl_csv_next(r), PCTL_CSV_ROW);
    f = pctl_csv_fields(r, &n);
    assert_int_equal(pctl_csv_record_line(r), 5);
    assert_string_equal(f[1].ptr, "plain");
    assert_int_equal(pctl_csv_next(r), PCTL_CSV_END);
    pctl_csv_close(r);
  }
  free(in.data);
}

static void test_bad_kind(void **state) {
  (void)state;
  pctl_csv_config cfg;
  pctl_csv_config_init(&cfg);
  assert_int_equal(cfg.scan, PCTL_CSV_SCAN_AUTO);
  cfg.scan = (pctl_csv_scan)7;
  chunk_reader cr;
  chunk_reader_init(&cr, "a\n", 2, 0);
  pctl_csv *r = (pctl_csv *)&cr;
  assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_EINVAL);
  assert_null(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_known_fields),
    cmocka_unit_test(test_block_edges),
    cmocka_unit_test(test_random_records),
    cmocka_unit_test(test_unquoted_runs),
    cmocka_unit_test(test_random_inputs),
    cmocka_unit_test(test_bad_kind),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
