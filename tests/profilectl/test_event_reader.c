/*
 * Tests for the events reader (tools/profilectl/event_reader.h): the
 * events handed over, their lines and the row count are the same for every
 * thread count and chunk size; a callback failure and a data error stop the
 * read at the same event in every mode. Lines and timestamps of the small
 * file were counted by hand. With a time window (event_window.h) every
 * block of events arrives sorted by timestamp, stably, in every mode; the
 * window itself is tested on hand-made events.
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
#include "event_window.h"
#include "libprofile.h"
#include "par.h"

/* What a run saw: one text line per event, and how it ended. */
typedef struct seen {
  char *text;
  size_t len, cap;
  size_t events;
  size_t stop_at; /* fail on this event (1-based); 0 never */
  /* per recorded event: its timestamp and where its text starts */
  int64_t ts[4096];
  size_t at[4096];
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
  assert_true(s->events <= sizeof s->ts / sizeof *s->ts);
  s->ts[s->events - 1] = ev->ts;
  s->at[s->events - 1] = s->len;
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

/* Read `path` (header user_id,ts,source,email) with the given settings
 * and a time window of `window` events (0: file order). */
static result read_file_window(const char *path, size_t threads, int64_t chunk, size_t stop_at,
                               size_t window) {
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
  pctl_event_extra x;
  memset(&x, 0, sizeof x);
  x.time_window = window;
  r.status = window == 0 ? pctl_events_read(&in, record, &r.s, &r.rows)
                         : pctl_events_read_ex(&in, &x, record, &r.s, &r.rows);
  pctl_csv_close(csv);
  fclose(f);
  lp_idgraph_free(g);
  return r;
}

static result read_file(const char *path, size_t threads, int64_t chunk, size_t stop_at) {
  return read_file_window(path, threads, chunk, stop_at, 0);
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

/* Many rows with quoted line endings, CRLF and empty lines; timestamps
 * ascending, or (`shuffled`) in a few dozen values out of order. */
static char *big_file_ts(size_t rows, size_t bad_row, bool shuffled, size_t *len) {
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
                            r % 4 ? r % 50 : 0, shuffled ? 1000 + r % 37 : 1000 + i, src,
                            r % 2 ? "p" : "", r % 2 ? r % 70 : 0,
                            end);
  }
  *len = n;
  return b;
}

static char *big_file(size_t rows, size_t bad_row, size_t *len) {
  return big_file_ts(rows, bad_row, false, len);
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

/* The text `ref` (file order) would give with each block of `window`
 * events sorted by timestamp, equal ones in file order (insertion sort:
 * the blocks are small). */
static char *blockwise_sorted(const seen *ref, size_t window) {
  char *out = malloc(ref->len + 1);
  assert_non_null(out);
  size_t used = 0, idx[4096];
  for (size_t from = 0; from < ref->events; from += window) {
    size_t n = ref->events - from < window ? ref->events - from : window;
    for (size_t i = 0; i < n; i++) {
      size_t j = i;
      for (; j > 0 && ref->ts[idx[j - 1]] > ref->ts[from + i]; j--) idx[j] = idx[j - 1];
      idx[j] = from + i;
    }
    for (size_t i = 0; i < n; i++) {
      size_t e = idx[i], end = e + 1 < ref->events ? ref->at[e + 1] : ref->len;
      memcpy(out + used, ref->text + ref->at[e], end - ref->at[e]);
      used += end - ref->at[e];
    }
  }
  assert_int_equal(used, ref->len);
  out[used] = '\0';
  return out;
}

static void test_window_sorts_each_block(void **state) {
  (void)state;
  size_t len;
  char *data = big_file_ts(400, SIZE_MAX, true, &len);
  char *path = write_temp(data, len);
  result ref = read_file(path, 1, 1 << 20, 0);
  assert_int_equal(ref.status, PCTL_EXIT_OK);
  bool unsorted = false;
  for (size_t i = 1; i < ref.s.events; i++) unsorted |= ref.s.ts[i - 1] > ref.s.ts[i];
  assert_true(unsorted); /* else the test shows nothing */
  static const size_t windows[] = {2, 7, 64, 1000};
  for (size_t w = 0; w < sizeof windows / sizeof *windows; w++) {
    char *want = blockwise_sorted(&ref.s, windows[w]);
    for (size_t i = 0; i < sizeof threads_list / sizeof *threads_list; i++) {
      for (size_t k = 0; k < sizeof chunk_list / sizeof *chunk_list; k++) {
        result r = read_file_window(path, threads_list[i], chunk_list[k], 0, windows[w]);
        assert_int_equal(r.status, PCTL_EXIT_OK);
        assert_int_equal(r.rows, ref.rows);
        assert_int_equal(r.s.events, ref.s.events);
        assert_int_equal(r.s.len, ref.s.len);
        assert_memory_equal(r.s.text, want, r.s.len);
        free(r.s.text);
      }
    }
    free(want);
  }
  free(ref.s.text);
  unlink(path);
  free(path);
  free(data);
}

/* A data error at row 333 with a window of 64: events 321-332 are held
 * when the reader finds it. They are handed over first, and the callback's
 * failure on one of them (the 325th) is what the read returns. */
static void test_window_hands_over_before_an_error(void **state) {
  (void)state;
  size_t len;
  char *data = big_file_ts(400, 333, true, &len);
  char *path = write_temp(data, len);
  for (size_t i = 0; i < sizeof threads_list / sizeof *threads_list; i++) {
    for (size_t k = 0; k < sizeof chunk_list / sizeof *chunk_list; k++) {
      result r = read_file_window(path, threads_list[i], chunk_list[k], 325, 64);
      assert_int_equal(r.status, 7);
      assert_int_equal(r.s.events, 325);
      free(r.s.text);
      r = read_file_window(path, threads_list[i], chunk_list[k], 0, 64);
      assert_int_equal(r.status, PCTL_EXIT_FAILURE); /* the reader's own error */
      assert_int_equal(r.s.events, 333);
      free(r.s.text);
    }
  }
  unlink(path);
  free(path);
  free(data);
}

/* ---- the window alone ---- */

typedef struct got {
  size_t n;
  uint64_t line[16];
  char text[16][32]; /* source, then the first value */
  int fail_at;       /* fail on this call (1-based); 0 never */
} got;

static int take(void *ud, const pctl_event *ev) {
  got *g = ud;
  if (g->fail_at != 0 && (int)g->n + 1 == g->fail_at) {
    g->fail_at = 0;
    return 9;
  }
  assert_true(g->n < 16);
  g->line[g->n] = ev->line;
  snprintf(g->text[g->n], sizeof g->text[g->n], "%.*s|%.*s", (int)ev->source_len, ev->source,
           ev->ids[0].value != NULL ? (int)ev->ids[0].len : 4,
           ev->ids[0].value != NULL ? ev->ids[0].value : "none");
  g->n++;
  return PCTL_EXIT_OK;
}

/* Event `line` at `ts` with source "s<line>" and value "v<line>" (NULL
 * for odd lines), built in buffers that are overwritten afterwards. */
static int give(pctl_event_window *w, uint64_t line, int64_t ts) {
  char src[16], val[16];
  snprintf(src, sizeof src, "s%llu", (unsigned long long)line);
  snprintf(val, sizeof val, "v%llu", (unsigned long long)line);
  lp_idgraph_prepared p;
  memset(&p, 0, sizeof p);
  p.value = line % 2 ? NULL : val;
  p.len = line % 2 ? 0 : strlen(val);
  p.hash[0] = (uint8_t)line;
  pctl_event ev = {ts, src, strlen(src), &p, 1, line};
  int st = pctl_event_window_add(w, &ev);
  memset(src, 'x', sizeof src);
  memset(val, 'x', sizeof val);
  return st;
}

static void test_window_order_and_copies(void **state) {
  (void)state;
  got g;
  memset(&g, 0, sizeof g);
  pctl_event_window w;
  assert_int_equal(pctl_event_window_init(&w, 10, NULL, take, &g), 0);
  static const int64_t ts[] = {5, -3, 5, 0, -3, INT64_MIN, INT64_MAX};
  for (uint64_t i = 0; i < 7; i++) assert_int_equal(give(&w, i + 1, ts[i]), PCTL_EXIT_OK);
  assert_int_equal(g.n, 0); /* all held */
  assert_int_equal(pctl_event_window_flush(&w), PCTL_EXIT_OK);
  static const uint64_t want[] = {6, 2, 5, 4, 1, 3, 7};
  assert_int_equal(g.n, 7);
  for (size_t i = 0; i < 7; i++) assert_int_equal(g.line[i], want[i]);
  assert_string_equal(g.text[0], "s6|v6");
  assert_string_equal(g.text[1], "s2|v2");
  assert_string_equal(g.text[4], "s1|none");
  assert_int_equal(pctl_event_window_flush(&w), PCTL_EXIT_OK); /* empty now */
  assert_int_equal(g.n, 7);
  pctl_event_window_free(&w);
}

static void test_window_full_and_pass_through(void **state) {
  (void)state;
  got g;
  memset(&g, 0, sizeof g);
  pctl_event_window w;
  assert_int_equal(pctl_event_window_init(&w, 3, NULL, take, &g), 0);
  for (uint64_t i = 0; i < 3; i++) assert_int_equal(give(&w, i + 1, 10 - (int64_t)i), PCTL_EXIT_OK);
  assert_int_equal(g.n, 0);
  assert_int_equal(give(&w, 4, 0), PCTL_EXIT_OK); /* the full window goes first */
  assert_int_equal(g.n, 3);
  assert_int_equal(g.line[0], 3);
  assert_int_equal(g.line[2], 1);
  assert_int_equal(pctl_event_window_flush(&w), PCTL_EXIT_OK);
  assert_int_equal(g.n, 4);
  assert_int_equal(g.line[3], 4);
  pctl_event_window_free(&w);
  /* cap 1 (and 0, taken as 1): each event at once */
  memset(&g, 0, sizeof g);
  assert_int_equal(pctl_event_window_init(&w, 0, NULL, take, &g), 0);
  assert_int_equal(give(&w, 8, 5), PCTL_EXIT_OK);
  assert_int_equal(g.n, 1);
  assert_string_equal(g.text[0], "s8|v8");
  pctl_event_window_free(&w);
}

static void test_window_callback_failure(void **state) {
  (void)state;
  got g;
  memset(&g, 0, sizeof g);
  g.fail_at = 2;
  pctl_event_window w;
  assert_int_equal(pctl_event_window_init(&w, 8, NULL, take, &g), 0);
  for (uint64_t i = 0; i < 4; i++) assert_int_equal(give(&w, i + 1, (int64_t)i), PCTL_EXIT_OK);
  assert_int_equal(pctl_event_window_flush(&w), 9);
  assert_int_equal(g.n, 1); /* the ones after the failure are dropped */
  assert_int_equal(pctl_event_window_flush(&w), PCTL_EXIT_OK);
  assert_int_equal(g.n, 1);
  /* a failure while a full window is handed on is add's status */
  g.fail_at = 3;
  for (uint64_t i = 0; i < 8; i++) assert_int_equal(give(&w, i + 10, 0), PCTL_EXIT_OK);
  assert_int_equal(give(&w, 20, 0), 9);
  pctl_event_window_free(&w);
}

/* An allocator that fails from its `ok`-th call on. */
typedef struct failing {
  size_t calls, ok;
} failing;

static void *f_alloc(void *ud, size_t n) {
  failing *f = ud;
  return ++f->calls >= f->ok ? NULL : malloc(n);
}
static void *f_realloc(void *ud, void *p, size_t o, size_t n) {
  (void)o;
  failing *f = ud;
  return ++f->calls >= f->ok ? NULL : realloc(p, n);
}
static void f_free(void *ud, void *p, size_t n) {
  (void)ud;
  (void)n;
  free(p);
}

/* Without memory the window hands on what it holds and lets the event
 * through: every event arrives exactly once, whatever allocation fails. */
static void test_window_without_memory(void **state) {
  (void)state;
  for (size_t ok = 1; ok < 40; ok++) {
    failing f = {0, ok};
    lp_allocator a = LP_ALLOCATOR_INIT;
    a.ud = &f;
    a.alloc = f_alloc;
    a.realloc = f_realloc;
    a.free = f_free;
    got g;
    memset(&g, 0, sizeof g);
    pctl_event_window w;
    assert_int_equal(pctl_event_window_init(&w, 16, &a, take, &g), 0);
    for (uint64_t i = 0; i < 12; i++) assert_int_equal(give(&w, i + 1, 100 - (int64_t)i), PCTL_EXIT_OK);
    assert_int_equal(pctl_event_window_flush(&w), PCTL_EXIT_OK);
    assert_int_equal(g.n, 12);
    bool once[13] = {false};
    for (size_t i = 0; i < 12; i++) {
      assert_true(g.line[i] >= 1 && g.line[i] <= 12 && !once[g.line[i]]);
      once[g.line[i]] = true;
      char want[32];
      snprintf(want, sizeof want, g.line[i] % 2 ? "s%llu|none" : "s%llu|v%llu",
               (unsigned long long)g.line[i], (unsigned long long)g.line[i]);
      assert_string_equal(g.text[i], want);
    }
    pctl_event_window_free(&w);
  }
  lp_allocator bad = LP_ALLOCATOR_INIT;
  bad.alloc = f_alloc; /* without free: not a valid description */
  pctl_event_window w;
  assert_int_equal(pctl_event_window_init(&w, 4, &bad, take, NULL), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_window_sorts_each_block),
      cmocka_unit_test(test_window_hands_over_before_an_error),
      cmocka_unit_test(test_window_order_and_copies),
      cmocka_unit_test(test_window_full_and_pass_through),
      cmocka_unit_test(test_window_callback_failure),
      cmocka_unit_test(test_window_without_memory),
      cmocka_unit_test(test_small_by_hand),
      cmocka_unit_test(test_threads_and_chunks_agree),
      cmocka_unit_test(test_data_error_stops_everywhere),
      cmocka_unit_test(test_thread_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
