/*
 * Tests for the streaming CSV reader (tools/profilectl/csv.h).
 *
 * Most cases are a table: an input and the transcript of what the reader
 * returns, worked out by hand from the dialect in csv.h. Every case runs
 * over a matrix of internal buffer sizes (down to 4 bytes) and read sizes
 * (down to 1 byte per call), so each record also straddles buffer and read
 * boundaries at every position; the transcript must not change.
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

/* ------------------------------------------------------------------ */
/* Transcript runner */

typedef struct run_opts {
  bool header;
  pctl_csv_on_malformed mode;
  char delimiter;    /* 0: ',' */
  size_t buffer;     /* 0: default */
  size_t chunk;      /* bytes per read call; 0: as many as asked */
  size_t max_fields; /* 0: default */
  size_t max_record; /* 0: default */
  size_t expect;     /* pctl_csv_expect_fields() when non-zero */
} run_opts;

#define OUT_CAP 8192

static void append(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(char *out, const char *fmt, ...) {
  size_t n = strlen(out);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out + n, OUT_CAP - n, fmt, ap);
  va_end(ap);
}

/* Field bytes: LF as \n, CR as \r, '|' as \|, '\' as \\, others outside
 * 0x20-0x7E as \xHH. */
static void append_fields(char *out, const pctl_csv_field *f, size_t n) {
  append(out, "[");
  for (size_t i = 0; i < n; i++) {
    if (i > 0) append(out, "|");
    /* Fields are NUL-terminated. */
    assert_int_equal(f[i].ptr[f[i].len], '\0');
    for (size_t k = 0; k < f[i].len; k++) {
      unsigned char c = (unsigned char)f[i].ptr[k];
      if (c == '\n') append(out, "\\n");
      else if (c == '\r') append(out, "\\r");
      else if (c == '|') append(out, "\\|");
      else if (c == '\\') append(out, "\\\\");
      else if (c < 0x20 || c > 0x7E) append(out, "\\x%02X", c);
      else append(out, "%c", c);
    }
  }
  append(out, "]");
}

/*
 * Transcript tokens, space-separated:
 *   H<line>[names]  header        R<line>[fields]  row
 *   M<line>:<kind>  malformed     E                end
 *   X<code>         error         {rows,malformed,empty_lines} at the end
 * After E or X the reader is asked again and must repeat it. After E the
 * consumed byte count must be the whole input.
 */
static void run(const char *in, size_t len, const run_opts *o, char *out) {
  out[0] = '\0';
  chunk_reader cr;
  chunk_reader_init(&cr, in, len, o->chunk);
  pctl_csv_config cfg;
  pctl_csv_config_init(&cfg);
  cfg.on_malformed = o->mode;
  if (o->delimiter != 0) cfg.delimiter = o->delimiter;
  if (o->buffer != 0) cfg.buffer_size = o->buffer;
  if (o->max_fields != 0) cfg.max_fields = o->max_fields;
  if (o->max_record != 0) cfg.max_record_bytes = o->max_record;
  pctl_csv *r = NULL;
  assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_OK);
  if (o->expect != 0) assert_int_equal(pctl_csv_expect_fields(r, o->expect), LP_OK);

  int rc = LP_OK;
  if (o->header) {
    rc = pctl_csv_read_header(r);
    if (rc == LP_OK) {
      size_t n = pctl_csv_header_count(r);
      pctl_csv_field names[64];
      assert_true(n <= 64);
      for (size_t i = 0; i < n; i++) names[i] = pctl_csv_header_name(r, i);
      append(out, "H%llu", (unsigned long long)pctl_csv_record_line(r));
      append_fields(out, names, n);
      append(out, " ");
    }
  }
  for (int guard = 0; rc >= 0 && guard < 1000; guard++) {
    rc = pctl_csv_next(r);
    if (rc == PCTL_CSV_ROW) {
      size_t n;
      const pctl_csv_field *f = pctl_csv_fields(r, &n);
      append(out, "R%llu", (unsigned long long)pctl_csv_record_line(r));
      append_fields(out, f, n);
      append(out, " ");
    } else if (rc == PCTL_CSV_MALFORMED) {
      size_t n = 99;
      assert_null(pctl_csv_fields(r, &n));
      assert_int_equal(n, 0);
      append(out, "M%llu:%d ", (unsigned long long)pctl_csv_record_line(r),
             (int)pctl_csv_problem_kind(r));
    } else if (rc == PCTL_CSV_END) {
      break;
    }
  }
  pctl_csv_stats st;
  pctl_csv_get_stats(r, &st);
  if (rc == PCTL_CSV_END) {
    append(out, "E");
    assert_int_equal(pctl_csv_next(r), PCTL_CSV_END);
    assert_int_equal(st.bytes, len);
  } else {
    assert_true(rc < 0);
    append(out, "X%d", rc);
    assert_int_equal(pctl_csv_next(r), rc); /* sticky */
    size_t n = 99;
    assert_null(pctl_csv_fields(r, &n));
    assert_int_equal(n, 0);
  }
  append(out, " {%llu,%llu,%llu}", (unsigned long long)st.rows, (unsigned long long)st.malformed,
         (unsigned long long)st.empty_lines);
  pctl_csv_close(r);
}

static const size_t buffers[] = {4, 5, 7, 16, 0};
static const size_t chunks[] = {1, 2, 3, 5, 0};

/* Run `in` with every buffer and chunk size; each must give `expected`. */
static void check_matrix(const char *in, size_t len, run_opts o, const char *expected) {
  char out[OUT_CAP];
  for (size_t b = 0; b < sizeof buffers / sizeof buffers[0]; b++) {
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
      o.buffer = buffers[b];
      o.chunk = chunks[c];
      run(in, len, &o, out);
      if (strcmp(out, expected) != 0) {
        print_error("input \"%s\" buffer %zu chunk %zu\n", in, o.buffer, o.chunk);
      }
      assert_string_equal(out, expected);
    }
  }
}

typedef struct csv_case {
  const char *in;
  size_t len; /* 0: strlen(in) */
  bool header;
  char delimiter;
  const char *expected;
} csv_case;

#define HDR true
#define RAW false

/* Problem kinds in transcripts: 1 field count, 2 quote in field,
 * 3 unterminated quote, 4 after closing quote, 5 bare CR. */
static const csv_case well_formed[] = {
  /* Basic records; no final newline; CRLF; mixed line endings. */
  {"id,name\n1,alice\n2,bob\n", 0, HDR, 0, "H1[id|name] R2[1|alice] R3[2|bob] E {2,0,0}"},
  {"id,name\n1,alice\n2,bob", 0, HDR, 0, "H1[id|name] R2[1|alice] R3[2|bob] E {2,0,0}"},
  {"id,name\r\n1,alice\r\n2,bob\r\n", 0, HDR, 0, "H1[id|name] R2[1|alice] R3[2|bob] E {2,0,0}"},
  {"id,name\r\n1,alice\n2,bob\r\n", 0, HDR, 0, "H1[id|name] R2[1|alice] R3[2|bob] E {2,0,0}"},
  /* Quoted: embedded delimiter, "" escapes, empty quoted, lone quote. */
  {"q\n\"a,b\"\n\"say \"\"hi\"\"\"\n\"\"\n\"\"\"\"\n", 0, HDR, 0,
   "H1[q] R2[a,b] R3[say \"hi\"] R4[] R5[\"] E {4,0,0}"},
  /* Escapes at both ends and in the middle of a long field. */
  {"\"\"\"start, middle \"\" end\"\"\"\n", 0, RAW, 0, "R1[\"start, middle \" end\"] E {1,0,0}"},
  /* Embedded LF and CRLF in quotes: the next record's line accounts for them. */
  {"x,y\n\"l1\nl2\",2\n3,\"a\r\nb\"\n4,5\n", 0, HDR, 0,
   "H1[x|y] R2[l1\\nl2|2] R4[3|a\\r\\nb] R6[4|5] E {3,0,0}"},
  /* Empty lines (LF and CRLF) are skipped and counted, lines still advance. */
  {"a\n\n\nb\n\r\n\nc", 0, RAW, 0, "R1[a] R4[b] R7[c] E {3,0,4}"},
  {"\n\r\nx,y\n1,2\n", 0, HDR, 0, "H3[x|y] R4[1|2] E {1,0,2}"},
  {"\n", 0, RAW, 0, "E {0,0,1}"},
  {"\r\n\r\n", 0, RAW, 0, "E {0,0,2}"},
  {"", 0, RAW, 0, "E {0,0,0}"},
  /* UTF-8 BOM: skipped only at the very start. */
  {"\xEF\xBB\xBFid,v\n1,2\n", 0, HDR, 0, "H1[id|v] R2[1|2] E {1,0,0}"},
  {"\xEF\xBB\xBF\"id\",v\n", 0, HDR, 0, "H1[id|v] E {0,0,0}"},
  {"\xEF\xBB\xBF", 0, RAW, 0, "E {0,0,0}"},
  {"\xEF\xBB\xBF\n", 0, RAW, 0, "E {0,0,1}"},
  {"a\n\xEF\xBB\xBF\n", 0, RAW, 0, "R1[a] R2[\\xEF\\xBB\\xBF] E {2,0,0}"},
  {"\xEF\xBB", 0, RAW, 0, "R1[\\xEF\\xBB] E {1,0,0}"},
  /* Empty fields, trailing delimiters, spaces kept. */
  {",\n,,\na,\n", 0, RAW, 0, "R1[|] R2[||] R3[a|] E {3,0,0}"},
  {"a,", 0, RAW, 0, "R1[a|] E {1,0,0}"},
  {" a , b \n\" b \"\n", 0, RAW, 0, "R1[ a | b ] R2[ b ] E {2,0,0}"},
  /* Quoted field as the last bytes of the input. */
  {"\"abc\"", 0, RAW, 0, "R1[abc] E {1,0,0}"},
  {"\"a\"\"\"", 0, RAW, 0, "R1[a\"] E {1,0,0}"},
  {"x,\"\"", 0, RAW, 0, "R1[x|] E {1,0,0}"},
  /* A CR as the very last byte ends the line. */
  {"a\r", 0, RAW, 0, "R1[a] E {1,0,0}"},
  {"\"a\"\r", 0, RAW, 0, "R1[a] E {1,0,0}"},
  {"a\n\r", 0, RAW, 0, "R1[a] E {1,0,1}"},
  /* Other delimiters; the comma is then data. */
  {"a;b,c\n\"x;y\";z\n", 0, RAW, ';', "R1[a|b,c] R2[x;y|z] E {2,0,0}"},
  {"a\tb\n\"c\td\"\te\n", 0, RAW, '\t', "R1[a|b] R2[c\\x09d|e] E {2,0,0}"},
  /* Bytes that are not special: NUL, '|', high bytes. */
  {"a\0b,c\n", 6, RAW, 0, "R1[a\\x00b|c] E {1,0,0}"},
  {"a|b,\xC3\xA9\n", 0, RAW, 0, "R1[a\\|b|\\xC3\\xA9] E {1,0,0}"},
};

static const csv_case malformed[] = {
  {"a,b,c\n1,x\"y,3\n4,5,6\n", 0, HDR, 0, "H1[a|b|c] M2:2 R3[4|5|6] E {1,1,0}"},
  {"a,b,c\n1,\"x\"y,3\n4,5,6\n", 0, HDR, 0, "H1[a|b|c] M2:4 R3[4|5|6] E {1,1,0}"},
  {"a,b,c\n1,2\n1,2,3,4\n7,8,9", 0, HDR, 0, "H1[a|b|c] M2:1 M3:1 R4[7|8|9] E {1,2,0}"},
  /* Unterminated quote: the rest of the input is that record. */
  {"a,b,c\n1,2,3\n\"open,4\n\n5,6,7\n", 0, HDR, 0, "H1[a|b|c] R2[1|2|3] M3:3 E {1,1,0}"},
  {"x\n\"a\nb\nc", 0, RAW, 0, "R1[x] M2:3 E {1,1,0}"},
  {"a,\"b\n", 0, RAW, 0, "M1:3 E {0,1,0}"},
  {"\"a\"\"", 0, RAW, 0, "M1:3 E {0,1,0}"},
  /* CR without LF outside quotes. */
  {"a,b,c\n1,2\r3,4\n5,6,7\n", 0, HDR, 0, "H1[a|b|c] M2:5 R3[5|6|7] E {1,1,0}"},
  /* Line numbers after embedded newlines and empty lines. */
  {"a,b,c\n\"x\ny\nz\",2,3\n1,\"q\"w,3\n\n7,8,9\n", 0, HDR, 0,
   "H1[a|b|c] R2[x\\ny\\nz|2|3] M5:4 R7[7|8|9] E {2,1,1}"},
  {"a,b,c\n\n\n1,2\n", 0, HDR, 0, "H1[a|b|c] M4:1 E {0,1,2}"},
  /* After a problem, quotes still decide where the record ends. */
  {"a,b,c\n1,x\"y,\"multi\nline\"\n7,8,9\n", 0, HDR, 0, "H1[a|b|c] M2:2 R4[7|8|9] E {1,1,0}"},
  {"\"a\"b,\"c\nd\"\ne\n", 0, RAW, 0, "M1:4 R3[e] E {1,1,0}"},
  {"\"a\" ,b\n", 0, RAW, 0, "M1:4 E {0,1,0}"},
  {"ab\"\n", 0, RAW, 0, "M1:2 E {0,1,0}"},
  {"\"a\"\rb\n", 0, RAW, 0, "M1:4 E {0,1,0}"},
  {"\"\"x\n", 0, RAW, 0, "M1:4 E {0,1,0}"},
  /* The first problem in a record is the one reported. */
  {"a\"b\rc,\"d\"e\n", 0, RAW, 0, "M1:2 E {0,1,0}"},
};

static void run_table(const csv_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    run_opts o = {0};
    o.header = cases[i].header;
    o.mode = PCTL_CSV_REPORT;
    o.delimiter = cases[i].delimiter;
    size_t len = cases[i].len != 0 ? cases[i].len : strlen(cases[i].in);
    check_matrix(cases[i].in, len, o, cases[i].expected);
  }
}

static void test_well_formed(void **state) {
  (void)state;
  run_table(well_formed, sizeof well_formed / sizeof well_formed[0]);
}

static void test_malformed_report(void **state) {
  (void)state;
  run_table(malformed, sizeof malformed / sizeof malformed[0]);
}

/* ------------------------------------------------------------------ */
/* Malformed rows: stop mode, messages, expect_fields */

static void test_malformed_stop(void **state) {
  (void)state;
  run_opts o = {0};
  o.header = true;
  o.mode = PCTL_CSV_STOP;
  const char *in = "a,b\n1,2\n1\n3,4\n";
  check_matrix(in, strlen(in), o, "H1[a|b] R2[1|2] X-4 {1,0,0}");
}

/* Open a reader over a string with REPORT mode and the defaults. */
static pctl_csv *open_str(const char *in, chunk_reader *cr, pctl_csv_on_malformed mode) {
  chunk_reader_init(cr, in, strlen(in), 0);
  pctl_csv_config cfg;
  pctl_csv_config_init(&cfg);
  cfg.on_malformed = mode;
  pctl_csv *r = NULL;
  assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, cr, &r), LP_OK);
  return r;
}

static void test_malformed_messages(void **state) {
  (void)state;
  static const struct {
    const char *in;
    const char *msg;
  } cases[] = {
    {"a,b,c\n1,2\n", "line 2: expected 3 fields, found 2"},
    {"a,b,c\n1,x\"y,3\n", "line 2: quote inside unquoted field 2"},
    {"a,b,c\n\n1,2,\"open\n", "line 3: quoted field 3 is not closed before the end of input"},
    {"a,b,c\n1,\"x\"y,3\n", "line 2: unexpected character after the closing quote of field 2"},
    {"a,b,c\n1\r2,3,4\n", "line 2: carriage return without line feed in field 1"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    chunk_reader cr;
    pctl_csv *r = open_str(cases[i].in, &cr, PCTL_CSV_REPORT);
    assert_int_equal(pctl_csv_read_header(r), LP_OK);
    assert_int_equal(pctl_csv_next(r), PCTL_CSV_MALFORMED);
    assert_string_equal(pctl_csv_errmsg(r), cases[i].msg);
    pctl_csv_close(r);

    /* Stop mode: the same message, as a sticky LP_ECORRUPT. */
    r = open_str(cases[i].in, &cr, PCTL_CSV_STOP);
    assert_int_equal(pctl_csv_read_header(r), LP_OK);
    assert_int_equal(pctl_csv_next(r), LP_ECORRUPT);
    assert_string_equal(pctl_csv_errmsg(r), cases[i].msg);
    assert_int_equal(pctl_csv_next(r), LP_ECORRUPT);
    pctl_csv_close(r);
  }
}

static void test_problem_kind_resets(void **state) {
  (void)state;
  chunk_reader cr;
  pctl_csv *r = open_str("a,b\n1\n1,2\n", &cr, PCTL_CSV_REPORT);
  assert_int_equal(pctl_csv_problem_kind(r), PCTL_CSV_NO_PROBLEM);
  assert_int_equal(pctl_csv_record_line(r), 0);
  assert_string_equal(pctl_csv_errmsg(r), "no error");
  assert_int_equal(pctl_csv_read_header(r), LP_OK);
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_MALFORMED);
  assert_int_equal(pctl_csv_problem_kind(r), PCTL_CSV_FIELD_COUNT);
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_ROW);
  assert_int_equal(pctl_csv_problem_kind(r), PCTL_CSV_NO_PROBLEM);
  assert_int_equal(pctl_csv_record_line(r), 3);
  pctl_csv_close(r);
}

static void test_problem_text(void **state) {
  (void)state;
  assert_string_equal(pctl_csv_problem_text(PCTL_CSV_NO_PROBLEM), "no problem");
  assert_string_equal(pctl_csv_problem_text(PCTL_CSV_FIELD_COUNT), "wrong number of fields");
  assert_string_equal(pctl_csv_problem_text(PCTL_CSV_QUOTE_IN_FIELD),
                      "quote inside unquoted field");
  assert_string_equal(pctl_csv_problem_text(PCTL_CSV_UNTERMINATED_QUOTE),
                      "unterminated quoted field");
  assert_string_equal(pctl_csv_problem_text(PCTL_CSV_AFTER_QUOTE),
                      "unexpected character after closing quote");
  assert_string_equal(pctl_csv_problem_text(PCTL_CSV_BARE_CR),
                      "carriage return without line feed");
  assert_string_equal(pctl_csv_problem_text((pctl_csv_problem)99), "unknown problem");
}

static void test_expect_fields(void **state) {
  (void)state;
  run_opts o = {0};
  o.mode = PCTL_CSV_REPORT;
  o.expect = 2;
  const char *in = "1,2\n3\n4,5,6\n7,8\n";
  check_matrix(in, strlen(in), o, "R1[1|2] M2:1 M3:1 R4[7|8] E {2,2,0}");

  /* 0 turns the check off again; it also overrides the header's count. */
  chunk_reader cr;
  pctl_csv *r = open_str("a,b\n1\n1,2,3\n", &cr, PCTL_CSV_STOP);
  assert_int_equal(pctl_csv_read_header(r), LP_OK);
  assert_int_equal(pctl_csv_expect_fields(r, 0), LP_OK);
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_ROW);
  assert_int_equal(pctl_csv_expect_fields(r, 3), LP_OK);
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_ROW);
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_END);
  pctl_csv_close(r);
  assert_int_equal(pctl_csv_expect_fields(NULL, 1), LP_EINVAL);
}

/* ------------------------------------------------------------------ */
/* Header */

static void test_header_lookup(void **state) {
  (void)state;
  chunk_reader cr;
  pctl_csv *r = open_str("id,\"amount\",note,,note\n", &cr, PCTL_CSV_STOP);
  size_t idx = 99;
  assert_int_equal(pctl_csv_column(r, "id", &idx), LP_EMISUSE);
  assert_string_equal(pctl_csv_errmsg(r), "column 'id': no header has been read");
  assert_int_equal(pctl_csv_header_count(r), 0);

  assert_int_equal(pctl_csv_read_header(r), LP_OK);
  assert_int_equal(pctl_csv_header_count(r), 5);
  assert_int_equal(pctl_csv_column(r, "id", &idx), LP_OK);
  assert_int_equal(idx, 0);
  assert_int_equal(pctl_csv_column(r, "amount", &idx), LP_OK);
  assert_int_equal(idx, 1);
  assert_int_equal(pctl_csv_column(r, "", &idx), LP_OK); /* an empty name is a name */
  assert_int_equal(idx, 3);

  assert_int_equal(pctl_csv_column(r, "Amount", &idx), LP_ENOTFOUND); /* exact match */
  assert_string_equal(pctl_csv_errmsg(r), "column 'Amount' not found in the header");
  assert_int_equal(pctl_csv_column(r, "note", &idx), LP_ECONFLICT);
  assert_string_equal(pctl_csv_errmsg(r),
                      "column 'note' appears 2 times in the header (columns 3 and 5)");
  assert_int_equal(idx, 3); /* untouched by failures */
  assert_int_equal(pctl_csv_column(r, NULL, &idx), LP_EINVAL);
  assert_int_equal(pctl_csv_column(r, "id", NULL), LP_EINVAL);
  assert_int_equal(pctl_csv_column(NULL, "id", &idx), LP_EINVAL);

  /* Lookup failures are not sticky. */
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_END);

  pctl_csv_field f = pctl_csv_header_name(r, 1);
  assert_int_equal(f.len, 6);
  assert_memory_equal(f.ptr, "amount", 7);
  f = pctl_csv_header_name(r, 5);
  assert_null(f.ptr);
  assert_int_equal(f.len, 0);
  f = pctl_csv_header_name(NULL, 0);
  assert_null(f.ptr);
  assert_int_equal(pctl_csv_header_count(NULL), 0);
  pctl_csv_close(r);
}

static void test_header_errors(void **state) {
  (void)state;
  chunk_reader cr;
  /* Empty input (empty lines only) has no header. */
  pctl_csv *r = open_str("\n\n", &cr, PCTL_CSV_REPORT);
  assert_int_equal(pctl_csv_read_header(r), LP_ECORRUPT);
  assert_string_equal(pctl_csv_errmsg(r), "no header row: the input is empty");
  assert_int_equal(pctl_csv_next(r), LP_ECORRUPT);
  pctl_csv_close(r);

  /* A malformed header is an error even in report mode. */
  r = open_str("\na,b\"c\n1,2\n", &cr, PCTL_CSV_REPORT);
  assert_int_equal(pctl_csv_read_header(r), LP_ECORRUPT);
  assert_string_equal(pctl_csv_errmsg(r), "line 2: header: quote inside unquoted field 2");
  assert_int_equal(pctl_csv_next(r), LP_ECORRUPT);
  pctl_csv_close(r);

  /* Only once, and only first. */
  r = open_str("a\n1\n", &cr, PCTL_CSV_REPORT);
  assert_int_equal(pctl_csv_read_header(r), LP_OK);
  assert_int_equal(pctl_csv_read_header(r), LP_EMISUSE);
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_ROW); /* not sticky */
  pctl_csv_close(r);
  r = open_str("a\n1\n", &cr, PCTL_CSV_REPORT);
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_ROW);
  assert_int_equal(pctl_csv_read_header(r), LP_EMISUSE);
  pctl_csv_close(r);
  assert_int_equal(pctl_csv_read_header(NULL), LP_EINVAL);
}

/* ------------------------------------------------------------------ */
/* Limits */

static void test_limits(void **state) {
  (void)state;
  run_opts o = {0};
  o.mode = PCTL_CSV_REPORT;

  o.max_fields = 3;
  check_matrix("a,b,c\n", 6, o, "R1[a|b|c] E {1,0,0}");
  check_matrix("a,b,c\n1,2,3,4\n", 14, o, "R1[a|b|c] X-7 {1,0,0}");
  o.max_fields = 1;
  check_matrix("a\n\"b,c\"\nd,e\n", 12, o, "R1[a] R2[b,c] X-7 {2,0,0}");
  /* More fields than the initial table (16) grows it. */
  o.max_fields = 0;
  check_matrix("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18\n", 45, o,
               "R1[1|2|3|4|5|6|7|8|9|10|11|12|13|14|15|16|17|18] E {1,0,0}");

  /* Record size: raw bytes, the line ending excluded. */
  o.max_record = 5;
  check_matrix("abcde\nab\n", 9, o, "R1[abcde] R2[ab] E {2,0,0}");
  check_matrix("abcde\r\n", 7, o, "R1[abcde] E {1,0,0}");
  check_matrix("abcde", 5, o, "R1[abcde] E {1,0,0}");
  check_matrix("\"abc\"\n", 6, o, "R1[abc] E {1,0,0}");
  check_matrix("ab\nabcdef\n", 10, o, "R1[ab] X-7 {1,0,0}");
  check_matrix("\"abcd\"\n", 7, o, "X-7 {0,0,0}");
  check_matrix("abcdef", 6, o, "X-7 {0,0,0}");
  /* Empty lines do not count toward a record. */
  check_matrix("\n\n\n\n\n\n\nabc\n", 11, o, "R8[abc] E {1,0,7}");
}

static void test_limit_messages(void **state) {
  (void)state;
  pctl_csv_config cfg;
  pctl_csv_config_init(&cfg);
  cfg.max_record_bytes = 8;
  cfg.max_fields = 2;
  chunk_reader cr;
  pctl_csv *r;

  const char *in = "ok\n\"unterminated quote that runs on\n";
  chunk_reader_init(&cr, in, strlen(in), 0);
  assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_OK);
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_ROW);
  assert_int_equal(pctl_csv_next(r), LP_ELIMIT);
  assert_string_equal(pctl_csv_errmsg(r),
                      "line 2: record longer than 8 bytes (max_record_bytes); it is inside "
                      "a quoted field: unterminated quote?");
  pctl_csv_close(r);

  in = "a\n\nb,c,d\n";
  chunk_reader_init(&cr, in, strlen(in), 0);
  assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_OK);
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_ROW);
  assert_int_equal(pctl_csv_next(r), LP_ELIMIT);
  assert_string_equal(pctl_csv_errmsg(r), "line 3: record has more than 2 fields (max_fields)");
  pctl_csv_close(r);
}

/* ------------------------------------------------------------------ */
/* Opening, argument checks, accessors */

static void test_open_validation(void **state) {
  (void)state;
  chunk_reader cr;
  chunk_reader_init(&cr, "", 0, 0);
  pctl_csv *r = (pctl_csv *)&cr; /* must be reset to NULL on failure */
  pctl_csv_config cfg;

  assert_int_equal(pctl_csv_open(NULL, chunk_reader_read, &cr, NULL), LP_EINVAL);
  assert_int_equal(pctl_csv_open(NULL, NULL, &cr, &r), LP_EINVAL);
  assert_null(r);

  static const char bad_delims[] = {'"', '\r', '\n', '\0'};
  for (size_t i = 0; i < sizeof bad_delims; i++) {
    pctl_csv_config_init(&cfg);
    cfg.delimiter = bad_delims[i];
    assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_EINVAL);
  }
  pctl_csv_config_init(&cfg);
  cfg.buffer_size = 3;
  assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_EINVAL);
  pctl_csv_config_init(&cfg);
  cfg.max_fields = 0;
  assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_EINVAL);
  pctl_csv_config_init(&cfg);
  cfg.max_record_bytes = 0;
  assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_EINVAL);
  pctl_csv_config_init(&cfg);
  cfg.max_record_bytes = SIZE_MAX;
  assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_EINVAL);
  pctl_csv_config_init(&cfg);
  cfg.on_malformed = (pctl_csv_on_malformed)7;
  assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_EINVAL);
  /* An allocator with alloc but no free is invalid. */
  fail_alloc fa;
  lp_allocator a = fail_alloc_make(&fa, 0);
  a.free = NULL;
  pctl_csv_config_init(&cfg);
  cfg.alloc = &a;
  assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_EINVAL);
  assert_null(r);

  /* Defaults, also via NULL config. */
  pctl_csv_config_init(&cfg);
  assert_int_equal(cfg.delimiter, ',');
  assert_int_equal(cfg.on_malformed, PCTL_CSV_STOP);
  assert_int_equal(cfg.buffer_size, 256 * 1024);
  assert_int_equal(cfg.max_fields, 4096);
  assert_int_equal(cfg.max_record_bytes, 1024 * 1024);
  assert_null(cfg.alloc);
  pctl_csv_config_init(NULL);
  assert_int_equal(pctl_csv_open(NULL, chunk_reader_read, &cr, &r), LP_OK);
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_END);
  pctl_csv_close(r);
  pctl_csv_close(NULL);
}

static void test_null_accessors(void **state) {
  (void)state;
  size_t n = 7;
  assert_int_equal(pctl_csv_next(NULL), LP_EINVAL);
  assert_null(pctl_csv_fields(NULL, &n));
  assert_int_equal(n, 0);
  assert_int_equal(pctl_csv_record_line(NULL), 0);
  assert_int_equal(pctl_csv_problem_kind(NULL), PCTL_CSV_NO_PROBLEM);
  assert_string_equal(pctl_csv_errmsg(NULL), "invalid handle: NULL");
  pctl_csv_stats st;
  memset(&st, 0xFF, sizeof st);
  pctl_csv_get_stats(NULL, &st);
  assert_int_equal(st.rows, 0);
  assert_int_equal(st.bytes, 0);
  pctl_csv_get_stats(NULL, NULL);
}

static void test_fields_valid_until_next(void **state) {
  (void)state;
  chunk_reader cr;
  pctl_csv *r = open_str("a,\"b\"\"c\"\n", &cr, PCTL_CSV_STOP);
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_ROW);
  size_t n;
  const pctl_csv_field *f = pctl_csv_fields(r, &n);
  assert_int_equal(n, 2);
  assert_string_equal(f[0].ptr, "a");
  assert_string_equal(f[1].ptr, "b\"c");
  /* NULL count pointer is allowed. */
  assert_non_null(pctl_csv_fields(r, NULL));
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_END);
  assert_null(pctl_csv_fields(r, &n));
  assert_int_equal(n, 0);
  pctl_csv_close(r);
}

/* ------------------------------------------------------------------ */
/* FILE adapter */

static void test_open_file(void **state) {
  (void)state;
  FILE *f = tmpfile();
  assert_non_null(f);
  fputs("\xEF\xBB\xBFname,n\r\n\"x, y\",1\r\n", f);
  rewind(f);
  pctl_csv *r;
  assert_int_equal(pctl_csv_open_file(NULL, f, &r), LP_OK);
  assert_int_equal(pctl_csv_read_header(r), LP_OK);
  size_t idx;
  assert_int_equal(pctl_csv_column(r, "n", &idx), LP_OK);
  assert_int_equal(idx, 1);
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_ROW);
  size_t n;
  const pctl_csv_field *fl = pctl_csv_fields(r, &n);
  assert_int_equal(n, 2);
  assert_string_equal(fl[0].ptr, "x, y");
  assert_int_equal(pctl_csv_next(r), PCTL_CSV_END);
  pctl_csv_close(r);
  fclose(f);

  r = (pctl_csv *)&n; /* any non-NULL value: must be reset */
  assert_int_equal(pctl_csv_open_file(NULL, NULL, &r), LP_EINVAL);
  assert_null(r);
  assert_int_equal(pctl_csv_open_file(NULL, NULL, NULL), LP_EINVAL);

  /* A stream in error: on Linux a directory opens but reading it fails. */
  f = fopen("/", "rb");
  assert_non_null(f);
  assert_int_equal(pctl_csv_open_file(NULL, f, &r), LP_OK);
  assert_int_equal(pctl_csv_next(r), LP_EIO);
  /* The message carries the system's reason. */
  assert_string_equal(pctl_csv_errmsg(r), "read failed at byte 0: Is a directory");
  pctl_csv_close(r);
  fclose(f);
}

/* ------------------------------------------------------------------ */
/* Failing callbacks and allocators */

static const char *const fail_input =
  "\xEF\xBB\xBF" "id,\"long quoted, with \"\"escapes\"\"\",c\r\n1,2,3\n\n\"x\ny\",5,6\n7,8,9";

/* Transcript of fail_input with nothing failing, for the prefix checks. */
static void reference(size_t chunk, char *out) {
  run_opts o = {0};
  o.header = true;
  o.mode = PCTL_CSV_REPORT;
  o.buffer = 4;
  o.chunk = chunk;
  run(fail_input, strlen(fail_input), &o, out);
  assert_string_equal(out, "H1[id|long quoted, with \"escapes\"|c] R2[1|2|3] R4[x\\ny|5|6] "
                           "R6[7|8|9] E {3,0,1}");
}

/* Fail read call k for every k the good run makes: the reader must stop
 * with the callback's code (negative) or LP_EIO (positive), having
 * returned a prefix of the good transcript, and free everything. */
static void test_failing_reader(void **state) {
  (void)state;
  static const int codes[] = {LP_EIO, LP_ENOMEM, 5};
  char good[OUT_CAP];
  for (size_t chunk = 1; chunk <= 4; chunk += 3) {
    reference(chunk, good);
    /* Count the calls of a good run. */
    chunk_reader probe;
    chunk_reader_init(&probe, fail_input, strlen(fail_input), chunk);
    pctl_csv_config cfg;
    pctl_csv_config_init(&cfg);
    cfg.buffer_size = 4;
    cfg.on_malformed = PCTL_CSV_REPORT;
    pctl_csv *r;
    assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &probe, &r), LP_OK);
    assert_int_equal(pctl_csv_read_header(r), LP_OK);
    while (pctl_csv_next(r) != PCTL_CSV_END) {
    }
    pctl_csv_close(r);

    for (unsigned k = 1; k <= probe.calls; k++) {
      for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++) {
        chunk_reader cr;
        chunk_reader_init(&cr, fail_input, strlen(fail_input), chunk);
        cr.fail_at = k;
        cr.fail_code = codes[c];
        assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_OK);
        int expect = codes[c] < 0 ? codes[c] : LP_EIO;
        int rc = pctl_csv_read_header(r);
        char out[OUT_CAP] = "";
        if (rc == LP_OK) {
          append(out, "H1[id|long quoted, with \"escapes\"|c] ");
          while ((rc = pctl_csv_next(r)) == PCTL_CSV_ROW) {
            size_t n;
            const pctl_csv_field *f = pctl_csv_fields(r, &n);
            append(out, "R%llu", (unsigned long long)pctl_csv_record_line(r));
            append_fields(out, f, n);
            append(out, " ");
          }
        }
        assert_int_equal(rc, expect);
        assert_int_equal(pctl_csv_next(r), expect);
        assert_non_null(strstr(pctl_csv_errmsg(r), "read failed at byte "));
        assert_memory_equal(good, out, strlen(out));
        pctl_csv_close(r);
      }
    }
  }
}

static void test_reader_overreports(void **state) {
  (void)state;
  chunk_reader cr;
  chunk_reader_init(&cr, "abc", 3, 0);
  cr.overreport = 1;
  pctl_csv *r;
  assert_int_equal(pctl_csv_open(NULL, chunk_reader_read, &cr, &r), LP_OK);
  assert_int_equal(pctl_csv_next(r), LP_EIO);
  assert_non_null(strstr(pctl_csv_errmsg(r), "read callback returned"));
  pctl_csv_close(r);
}

/* Fail allocation k for every k a good run makes (buffer growth, field
 * table growth, header copy): clean LP_ENOMEM and nothing leaked. */
static void test_failing_allocator(void **state) {
  (void)state;
  const char *in = "h1,h2\n\"a long field that outgrows the buffer\",2\n"
                   "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20\n";
  unsigned total = 0;
  for (unsigned k = 1;; k++) {
    fail_alloc fa;
    lp_allocator a = fail_alloc_make(&fa, k);
    chunk_reader cr;
    chunk_reader_init(&cr, in, strlen(in), 3);
    pctl_csv_config cfg;
    pctl_csv_config_init(&cfg);
    cfg.alloc = &a;
    cfg.buffer_size = 8;
    cfg.on_malformed = PCTL_CSV_REPORT;
    pctl_csv *r = (pctl_csv *)&cr;
    int rc = pctl_csv_open(&cfg, chunk_reader_read, &cr, &r);
    if (rc != LP_OK) {
      assert_int_equal(rc, LP_ENOMEM);
      assert_null(r);
      assert_int_equal(fa.live, 0);
      continue;
    }
    rc = pctl_csv_read_header(r);
    int last = rc;
    if (rc == LP_OK) {
      while ((last = pctl_csv_next(r)) == PCTL_CSV_ROW || last == PCTL_CSV_MALFORMED) {
      }
    }
    pctl_csv_close(r);
    assert_int_equal(fa.live, 0);
    if (last == PCTL_CSV_END) {
      total = k;
      break;
    }
    assert_int_equal(last, LP_ENOMEM);
    assert_true(k < 100);
  }
  /* Handle, buffer, two field tables, some growth: more than four. */
  assert_true(total > 4);
}

/* ------------------------------------------------------------------ */
/* Larger input: generated records round-trip through quoting */

static void test_generated_roundtrip(void **state) {
  (void)state;
  /* Build 2000 records whose fields need every kind of quoting, then
   * check each field comes back byte-exact with odd buffer/read sizes. */
  enum { ROWS = 2000 };
  size_t cap = ROWS * 64;
  char *in = malloc(cap);
  assert_non_null(in);
  size_t len = 0;
  static const char *const texts[] = {"plain", "with,comma", "with \"quote\"", "multi\nline",
                                      "", "crlf\r\ninside", "\"", ",", "trailing space "};
  for (unsigned i = 0; i < ROWS; i++) {
    const char *t = texts[i % 9];
    bool quote = strpbrk(t, ",\"\r\n") != NULL || i % 2 == 0;
    len += (size_t)snprintf(in + len, cap - len, "%u,", i);
    if (quote) {
      in[len++] = '"';
      for (const char *p = t; *p; p++) {
        if (*p == '"') in[len++] = '"';
        in[len++] = *p;
      }
      in[len++] = '"';
    } else {
      len += (size_t)snprintf(in + len, cap - len, "%s", t);
    }
    len += (size_t)snprintf(in + len, cap - len, i % 3 == 0 ? "\r\n" : "\n");
  }
  static const size_t sizes[][2] = {{4, 1}, {13, 7}, {64, 0}, {4096, 100}};
  for (size_t s = 0; s < 4; s++) {
    chunk_reader cr;
    chunk_reader_init(&cr, in, len, sizes[s][1]);
    pctl_csv_config cfg;
    pctl_csv_config_init(&cfg);
    cfg.buffer_size = sizes[s][0];
    pctl_csv *r;
    assert_int_equal(pctl_csv_open(&cfg, chunk_reader_read, &cr, &r), LP_OK);
    assert_int_equal(pctl_csv_expect_fields(r, 2), LP_OK);
    uint64_t line = 1;
    for (unsigned i = 0; i < ROWS; i++) {
      assert_int_equal(pctl_csv_next(r), PCTL_CSV_ROW);
      assert_int_equal(pctl_csv_record_line(r), line);
      size_t n;
      const pctl_csv_field *f = pctl_csv_fields(r, &n);
      assert_int_equal(strtoul(f[0].ptr, NULL, 10), i);
      const char *t = texts[i % 9];
      assert_int_equal(f[1].len, strlen(t));
      assert_memory_equal(f[1].ptr, t, f[1].len);
      for (const char *p = t; *p; p++) line += *p == '\n';
      line++;
    }
    assert_int_equal(pctl_csv_next(r), PCTL_CSV_END);
    pctl_csv_stats st;
    pctl_csv_get_stats(r, &st);
    assert_int_equal(st.rows, ROWS);
    assert_int_equal(st.bytes, len);
    pctl_csv_close(r);
  }
  free(in);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_well_formed),
    cmocka_unit_test(test_malformed_report),
    cmocka_unit_test(test_malformed_stop),
    cmocka_unit_test(test_malformed_messages),
    cmocka_unit_test(test_problem_kind_resets),
    cmocka_unit_test(test_problem_text),
    cmocka_unit_test(test_expect_fields),
    cmocka_unit_test(test_header_lookup),
    cmocka_unit_test(test_header_errors),
    cmocka_unit_test(test_limits),
    cmocka_unit_test(test_limit_messages),
    cmocka_unit_test(test_open_validation),
    cmocka_unit_test(test_null_accessors),
    cmocka_unit_test(test_fields_valid_until_next),
    cmocka_unit_test(test_open_file),
    cmocka_unit_test(test_failing_reader),
    cmocka_unit_test(test_reader_overreports),
    cmocka_unit_test(test_failing_allocator),
    cmocka_unit_test(test_generated_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
