/*
 * Tests for the progress line (tools/profilectl/progress.h), with a fake
 * clock so throttling is deterministic. Expected lines were worked out by
 * hand from the format in progress.c (e.g. 1 MiB of 2 MiB after 1 s: 10 of
 * 20 bar cells, 50.0%, 1.0 MiB/s).
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"

#define MS UINT64_C(1000000)
#define MIB UINT64_C(1048576)
#define CLR "\r\033[K"

typedef struct fake_clock {
  uint64_t now;
  unsigned calls;
} fake_clock;

static uint64_t fake_now(void *ud) {
  fake_clock *c = ud;
  c->calls++;
  return c->now;
}

/* Everything written to f so far. */
static const char *contents(FILE *f) {
  static char buf[4096];
  fflush(f);
  long end = ftell(f);
  rewind(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fseek(f, end, SEEK_SET);
  return buf;
}

static pctl_progress start_fake(FILE *f, fake_clock *c, uint64_t total, uint32_t every) {
  pctl_progress_opts o;
  pctl_progress_opts_init(&o);
  o.mode = PCTL_PROGRESS_ALWAYS;
  o.stream = f;
  o.total_bytes = total;
  o.check_every = every;
  o.clock = fake_now;
  o.clock_ud = c;
  pctl_progress p;
  pctl_progress_start(&p, &o);
  return p;
}

static void test_throttled_drawing(void **state) {
  (void)state;
  FILE *f = tmpfile();
  assert_non_null(f);
  fake_clock c = {0, 0};
  pctl_progress p = start_fake(f, &c, 2 * MIB, 1);
  assert_true(pctl_progress_enabled(&p));

  c.now = 50 * MS; /* before the 100 ms interval: nothing */
  pctl_progress_update(&p, 100, 1);
  assert_string_equal(contents(f), "");
  c.now = 100 * MS;
  pctl_progress_update(&p, 100, 2);
  const char *first = CLR "[--------------------]   0.0%  0.0 / 2.0 MiB  2 rows  0.0 MiB/s";
  assert_string_equal(contents(f), first);
  c.now = 150 * MS; /* 50 ms after the last draw: nothing new */
  pctl_progress_update(&p, MIB / 2, 5);
  assert_string_equal(contents(f), first);
  c.now = 1000 * MS;
  pctl_progress_update(&p, MIB, 10);
  char want[512];
  snprintf(want, sizeof want, "%s%s", first,
           CLR "[##########----------]  50.0%  1.0 / 2.0 MiB  10 rows  1.0 MiB/s");
  assert_string_equal(contents(f), want);

  /* More bytes than announced: the bar stops at 100%. */
  c.now = 2000 * MS;
  pctl_progress_update(&p, 3 * MIB, 30);
  strcat(want, CLR "[####################] 100.0%  3.0 / 2.0 MiB  30 rows  1.5 MiB/s");
  assert_string_equal(contents(f), want);

  pctl_progress_finish(&p);
  strcat(want, CLR);
  assert_string_equal(contents(f), want);
  /* A second finish draws nothing more. */
  pctl_progress_finish(&p);
  assert_string_equal(contents(f), want);
  fclose(f);
}

static void test_unknown_total(void **state) {
  (void)state;
  FILE *f = tmpfile();
  fake_clock c = {0, 0};
  pctl_progress p = start_fake(f, &c, 0, 1);
  c.now = 2000 * MS;
  pctl_progress_update(&p, 3 * MIB, 7);
  assert_string_equal(contents(f), CLR "3.0 MiB  7 rows  1.5 MiB/s");
  fclose(f);
}

static void test_clock_read_every_n(void **state) {
  (void)state;
  FILE *f = tmpfile();
  fake_clock c = {0, 0};
  pctl_progress p = start_fake(f, &c, 0, 4);
  assert_int_equal(c.calls, 1); /* the start time */
  for (int i = 0; i < 8; i++) pctl_progress_update(&p, 0, (uint64_t)i);
  assert_int_equal(c.calls, 3);
  /* poll() reads the clock at once and restarts the count. */
  pctl_progress_poll(&p, 0, 0);
  assert_int_equal(c.calls, 4);
  for (int i = 0; i < 3; i++) pctl_progress_update(&p, 0, 0);
  assert_int_equal(c.calls, 4);
  pctl_progress_update(&p, 0, 0);
  assert_int_equal(c.calls, 5);
  fclose(f);
}

static void test_disabled_is_silent(void **state) {
  (void)state;
  FILE *f = tmpfile();
  fake_clock c = {0, 0};
  pctl_progress_opts o;
  pctl_progress_opts_init(&o);
  o.stream = f;
  o.clock = fake_now;
  o.clock_ud = &c;
  o.check_every = 1;
  static const pctl_progress_mode modes[] = {PCTL_PROGRESS_NEVER, PCTL_PROGRESS_AUTO};
  for (size_t m = 0; m < 2; m++) {
    o.mode = modes[m]; /* AUTO: a temporary file is not a terminal */
    pctl_progress p;
    pctl_progress_start(&p, &o);
    assert_false(pctl_progress_enabled(&p));
    c.now = 0;
    for (int i = 0; i < 100; i++) {
      c.now += 1000 * MS;
      pctl_progress_update(&p, (uint64_t)i, (uint64_t)i);
    }
    pctl_progress_poll(&p, 1, 1);
    pctl_progress_finish(&p);
  }
  assert_int_equal(c.calls, 0);
  assert_string_equal(contents(f), "");
  fclose(f);
}

static void test_defaults(void **state) {
  (void)state;
  pctl_progress_opts o;
  memset(&o, 0xAB, sizeof o);
  pctl_progress_opts_init(&o);
  assert_int_equal(o.mode, PCTL_PROGRESS_AUTO);
  assert_null(o.stream);
  assert_int_equal(o.total_bytes, 0);
  assert_int_equal(o.check_every, 0);
  assert_int_equal(o.interval_ns, 0);
  assert_null(o.clock);
  assert_null(o.clock_ud);
  pctl_progress_opts_init(NULL);

  /* NULL options: stderr, drawn only if it is a terminal. */
  pctl_progress p;
  pctl_progress_start(&p, NULL);
  assert_int_equal(pctl_progress_enabled(&p), isatty(2) == 1);
  pctl_progress_finish(&p);
}

static void test_real_clock(void **state) {
  (void)state;
  FILE *f = tmpfile();
  pctl_progress_opts o;
  pctl_progress_opts_init(&o);
  o.mode = PCTL_PROGRESS_ALWAYS;
  o.stream = f;
  o.interval_ns = 1; /* any tick of CLOCK_MONOTONIC is enough */
  pctl_progress p;
  pctl_progress_start(&p, &o);
  for (int i = 0; i < 100000 && contents(f)[0] == '\0'; i++) pctl_progress_poll(&p, 10, 1);
  assert_non_null(strstr(contents(f), "0.0 MiB  1 rows  "));
  pctl_progress_finish(&p);
  fclose(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_throttled_drawing),
    cmocka_unit_test(test_unknown_total),
    cmocka_unit_test(test_clock_read_every_n),
    cmocka_unit_test(test_disabled_is_silent),
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_real_clock),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
