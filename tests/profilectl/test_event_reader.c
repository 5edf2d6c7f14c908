/*
 * Tests for the events reader (tools/profilectl/event_reader.h): the
 * events handed over, their lines and the row count are the same for every
 * thread count and chunk size; a callback failure and a data error stop the
 * read at the same event in every mode. Lines and timestamps of the small
 * file were counted by hand.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, strdup */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "event_reader.h"
#include "libprofile.h"
#include "par.h"

/* What a run saw: one text line per event, and how it ended. */
typedef struct seen {
  char *text;
  size_t len, cap;
  size_t events;
  size_t stop_at; /* fail on this event (1-based); 0 never */
} seen;

static void add(seen *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(seen *s, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  assert_true(n > 0 && (size_t)n < sizeof buf);
  if (s->len + (size_t)n + 1 > s->cap) {
    s->cap = 2 * (s->len + (size_t)n + 1);
    s->text = realloc(s->text, s->cap);
    assert_non_null(s->text);
  }
  memcpy(s->text + s->len, buf, (size_t)n + 1);
  s->len += (size_t)n;
}

static int record(void *ud, const pctl_event *ev) {
  seen *s = ud;
  s->events++;
  if (s->stop_at != 0 && s->events == s->stop_at) return 7;
  add(s, "%llu %lld [%.*s]", (unsigned long long)ev->line, (long long)ev->ts,
      (int)ev->source_len, ev->source);
  for (size_t i = 0; i < ev->n; i++) {
    add(s, " %u/%u/", (unsigned)ev->ids[i].type, (unsigned)ev->ids[i].status);
    for (size_t k = 0; k < LP_IDGRAPH_HASH_SIZE; k++) add(s, "%02x", ev->ids[i].hash[k]);
  }
  add(s, "\n");
  return PCTL_EXIT_OK;
}

static char *write_temp(const char *data, size_t len) {
  char *path = strdup("/tmp/test-event-reader-XXXXXX");
  assert_non_null(path);
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
  return path;
}

typedef struct result {
  int status;
  uint64_t rows;
  seen s;
} result;

/* Read `path` (header user_id,ts,source,email) with the given settings. */
static result read_file(const char *path, size_t threads, int64_t chunk, size_t stop_at) {
  lp_idgraph *g = NULL;
  assert_int_equal(lp_idgraph_create(NULL, &g), LP_OK);
  lp_idgraph_type_def def = LP_IDGRAPH_TYPE_DEF_INIT;
  uint32_t t_user, t_email;
  def.name = "user_id";
  assert_int_equal(lp_idgraph_add_type(g, &def, &t_user), LP_OK);
  def.name = "email";
  def.normalizer = LP_IDGRAPH_NORM_EMAIL;
  assert_int_equal(lp_idgraph_add_type(g, &def, &t_email), LP_OK);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  uint64_t size = (uint64_t)ftell(f);
  rewind(f);
  pctl_csv *csv = NULL;
  assert_int_equal(pctl_csv_open_file(NULL, f, &csv), LP_OK);
  assert_int_equal(pctl_csv_read_header(csv), LP_OK);
  pctl_event_columns c;
  memset(&c, 0, sizeof c);
  c.ts = 1;
  c.source = 2;
  c.n = 2;
  c.col[0] = 0;
  c.col[1] = 3;
  c.type[0] = t_user;
  c.type[1] = t_email;
  pctl_event_input in = {path, csv, size, &c, g, threads, chunk};
  result r;
  memset(&r, 0, sizeof r);
  r.s.stop_at = stop_at;
  r.status = pctl_events_read(&in, record, &r.s, &r.rows);
  pctl_csv_close(csv);
  fclose(f);
  lp_idgraph_free(g);
  return r;
}

static const size_t threads_list[] = {1, 2, 3, 5};
static const int64_t chunk_list[] = {1, 2, 13, 200, 1 << 20};

/* Every mode gives `ref`'s status, rows, events and text. */
static void same_everywhere(const char *path, size_t stop_at, const result *ref) {
  for (size_t i = 0; i < sizeof threads_list / sizeof *threads_list; i++) {
    for (size_t k = 0; k < sizeof chunk_list / sizeof *chunk_list; k++) {
      result r = read_file(path, threads_list[i], chunk_list[k], stop_at);
      assert_int_equal(r.status, ref->status);
      if (ref->status == PCTL_EXIT_OK) assert_int_equal(r.rows, ref->rows);
      assert_int_equal(r.s.events, ref->s.events);
      assert_int_equal(r.s.len, ref->s.len);
      if (r.s.len > 0) assert_memory_equal(r.s.text, ref->s.text, r.s.len);
      free(r.s.text);
    }
  }
}

/* Lines by hand: header 1; row "u1" 2; an empty line 3; row with a quoted
 * source over lines 4-5; a row without identifiers 6; CRLF row 7; last
 * row without a line ending 8. */
static const char small[] =
    "user_id,ts,source,email\n"
    "u1,100,web,A@Example.com\n"
    "\n"
    "u2,2024-01-01T00:00:00Z,\"two\nlines\",\n"
    ",300,crm,\n"
    ",400,\"q\"\"uote\",b@example.com\r\n"
    "u1,500,,";

static void test_small_by_hand(void **state) {
  (void)state;
  char *path = write_temp(small, sizeof small - 1);
  result ref = read_file(path, 1, 1 << 20, 0);
  assert_int_equal(ref.status, PCTL_EXIT_OK);
  assert_int_equal(ref.rows, 5);
  assert_int_equal(ref.s.events, 4);
  /* The events' lines, times and sources, in order. */
  const char *want[] = {"2 100 [web] ", "4 1704067200 [two\nlines] ", "7 400 [q\"uote] ",
                        "8 500 [] "};
  const char *p = ref.s.text;
  for (size_t i = 0; i < 4; i++) {
    assert_memory_equal(p, want[i], strlen(want[i]));
    p = strchr(p + strlen(want[i]), '\n');
    assert_non_null(p);
    p++;
  }
  same_everywhere(path, 0, &ref);
  free(ref.s.text);
  unlink(path);
  free(path);
}

/* Many rows with quoted line endings, CRLF and empty lines. */
static char *big_file(size_t rows, size_t bad_row, size_t *len) {
  size_t cap = rows * 96 + 64, n = 0;
  char *b = malloc(cap);
  assert_non_null(b);
  n += (size_t)snprintf(b + n, cap - n, "user_id,ts,source,email\n");
  uint32_t x = 12345;
  for (size_t i = 0; i < rows; i++) {
    x = x * 1103515245u + 12345u;
    unsigned r = (x >> 16) & 0x7fff;
    const char *src = r % 5 == 0 ? "\"a,b\r\nc\"\"d\n\"" : r % 5 == 1 ? "web" : "";
    const char *end = r % 3 == 0 ? "\r\n" : "\n";
    if (r % 17 == 0) n += (size_t)snprintf(b + n, cap - n, "\n");
    if (i == bad_row)
      n += (size_t)snprintf(b + n, cap - n, "u%u,soon,%s,%s", r % 50, src, end);
    else
      n += (size_t)snprintf(b + n, cap - n, "%s%u,%zu,%s,%s%u@x.example%s", r % 4 ? "u" : "",
                            r % 4 ? r % 50 : 0, 1000 + i, src, r % 2 ? "p" : "", r % 2 ? r % 70 : 0,
                            end);
  }
  *len = n;
  return b;
}

static void test_threads_and_chunks_agree(void **state) {
  (void)state;
  size_t len;
  char *data = big_file(400, SIZE_MAX, &len);
  char *path = write_temp(data, len);
  result ref = read_file(path, 1, 1 << 20, 0);
  assert_int_equal(ref.status, PCTL_EXIT_OK);
  assert_int_equal(ref.rows, 400);
  same_everywhere(path, 0, &ref);
  /* The callback's failure ends the read at the same event everywhere. */
  result stop = read_file(path, 1, 1 << 20, 150);
  assert_int_equal(stop.status, 7);
  assert_int_equal(stop.s.events, 150);
  same_everywhere(path, 150, &stop);
  free(stop.s.text);
  free(ref.s.text);
  unlink(path);
  free(path);
  free(data);
}

static void test_data_error_stops_everywhere(void **state) {
  (void)state;
  size_t len;
  char *data = big_file(400, 333, &len);
  char *path = write_temp(data, len);
  result ref = read_file(path, 1, 1 << 20, 0);
  assert_int_equal(ref.status, PCTL_EXIT_FAILURE);
  assert_int_equal(ref.s.events, 333); /* every row before it has an email */
  same_everywhere(path, 0, &ref);
  free(ref.s.text);
  unlink(path);
  free(path);
  free(data);
}

static void test_thread_count(void **state) {
  (void)state;
  assert_int_equal(pctl_events_threads(3, 10), 3);
  assert_int_equal(pctl_events_threads(1000, 10), PCTL_PAR_MAX);
  assert_int_equal(pctl_events_threads(4, 0), 1); /* a stream */
  assert_int_equal(pctl_events_threads(0, 0), 1);
  assert_int_equal(pctl_events_threads(0, 1000), 1); /* under 1 MiB */
  size_t t = pctl_events_threads(0, (uint64_t)1 << 30);
  assert_true(t == 1 || t == 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_small_by_hand),
      cmocka_unit_test(test_threads_and_chunks_agree),
      cmocka_unit_test(test_data_error_stops_everywhere),
      cmocka_unit_test(test_thread_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
