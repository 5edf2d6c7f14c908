/*
 * Tests for the CLI helpers (cli.h), the text helpers (textutil.h) and the
 * subcommand table (commands.h).
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "textutil.h"

/* ------------------------------------------------------------------ */
/* Argument scanning */

typedef struct scanned {
  const char *arg;
  bool option;
} scanned;

static size_t scan_all(int argc, char **argv, scanned *out) {
  pctl_args a;
  pctl_args_init(&a, argc, argv);
  size_t n = 0;
  const char *arg;
  bool option;
  while (pctl_args_next(&a, &arg, &option)) {
    out[n].arg = arg;
    out[n].option = option;
    n++;
  }
  return n;
}

static void test_args_scan(void **state) {
  (void)state;
  char *argv[] = {"cmd", "-d", ";", "file", "-", "--x=1", "--", "--not-option", "-q", NULL};
  scanned s[10];
  size_t n = scan_all(9, argv, s);
  /* The name is skipped, "--" is consumed and ends the options. */
  assert_int_equal(n, 7);
  static const scanned want[] = {{"-d", true},  {";", false}, {"file", false}, {"-", false},
                                 {"--x=1", true}, {"--not-option", false}, {"-q", false}};
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(s[i].arg, want[i].arg);
    assert_int_equal(s[i].option, want[i].option);
  }
  /* Only the name: nothing. */
  assert_int_equal(scan_all(1, argv, s), 0);
}

static void test_args_is(void **state) {
  (void)state;
  assert_true(pctl_args_is("--delimiter", "--delimiter"));
  assert_true(pctl_args_is("--delimiter=;", "--delimiter"));
  assert_false(pctl_args_is("--delimiters", "--delimiter"));
  assert_false(pctl_args_is("--delim", "--delimiter"));
  assert_true(pctl_args_is("-d", "-d"));
  assert_false(pctl_args_is("-dx", "-d"));
}

static void test_args_value(void **state) {
  (void)state;
  char *argv[] = {"cmd", "--sep=;", "--sep", "|", "--sep", NULL};
  pctl_args a;
  pctl_args_init(&a, 5, argv);
  const char *arg, *v = NULL;
  bool option;
  assert_true(pctl_args_next(&a, &arg, &option));
  assert_int_equal(pctl_args_value(&a, arg, &v), PCTL_EXIT_OK);
  assert_string_equal(v, ";");
  assert_true(pctl_args_next(&a, &arg, &option));
  assert_int_equal(pctl_args_value(&a, arg, &v), PCTL_EXIT_OK); /* takes the next argument */
  assert_string_equal(v, "|");
  assert_true(pctl_args_next(&a, &arg, &option));
  assert_int_equal(pctl_args_value(&a, arg, &v), PCTL_EXIT_USAGE); /* missing */
  assert_false(pctl_args_next(&a, &arg, &option));
  /* "--sep=" gives an empty value. */
  char *argv2[] = {"cmd", "--sep=", NULL};
  pctl_args_init(&a, 2, argv2);
  assert_true(pctl_args_next(&a, &arg, &option));
  assert_int_equal(pctl_args_value(&a, arg, &v), PCTL_EXIT_OK);
  assert_string_equal(v, "");
}

static void test_args_size(void **state) {
  (void)state;
  char *argv[] = {"cmd", NULL};
  pctl_args a;
  pctl_args_init(&a, 1, argv);
  size_t v = 77;
  assert_int_equal(pctl_args_size(&a, "--n", "0", 0, &v), PCTL_EXIT_OK);
  assert_int_equal(v, 0);
  assert_int_equal(pctl_args_size(&a, "--n", "1048576", 1, &v), PCTL_EXIT_OK);
  assert_int_equal(v, 1048576);
  v = 77;
  assert_int_equal(pctl_args_size(&a, "--n", "0", 1, &v), PCTL_EXIT_USAGE); /* below min */
  assert_int_equal(pctl_args_size(&a, "--n", "", 0, &v), PCTL_EXIT_USAGE);
  assert_int_equal(pctl_args_size(&a, "--n", "-1", 0, &v), PCTL_EXIT_USAGE);
  assert_int_equal(pctl_args_size(&a, "--n", "12k", 0, &v), PCTL_EXIT_USAGE);
  assert_int_equal(pctl_args_size(&a, "--n", "99999999999999999999999", 0, &v),
                   PCTL_EXIT_USAGE);
  assert_int_equal(v, 77);
}

/* ------------------------------------------------------------------ */
/* Messages, output, input files */

static void test_messages_and_output(void **state) {
  (void)state;
  /* These print to stderr; what matters here is the returned status. */
  pctl_error("test message %d", 1);
  assert_int_equal(pctl_usage_error("csv-check", "bad %s", "thing"), PCTL_EXIT_USAGE);
  assert_int_equal(pctl_usage_error(NULL, "bad"), PCTL_EXIT_USAGE);
  assert_int_equal(pctl_finish_stdout(), PCTL_EXIT_OK);
}

static void test_open_input(void **state) {
  (void)state;
  FILE *f = (FILE *)1;
  uint64_t size = 99;
  assert_int_equal(pctl_open_input("/nonexistent/pctl/file.csv", &f, &size), PCTL_EXIT_FAILURE);
  assert_null(f);
  assert_int_equal(size, 0);
  assert_int_equal(pctl_open_input("/", &f, &size), PCTL_EXIT_FAILURE); /* a directory */
  assert_null(f);

  const char *path = "pctl_test_cli_input.csv"; /* in the test's working directory */
  FILE *w = fopen(path, "wb");
  assert_non_null(w);
  fputs("a,b\n1,2\n", w);
  fclose(w);
  assert_int_equal(pctl_open_input(path, &f, &size), PCTL_EXIT_OK);
  assert_non_null(f);
  assert_int_equal(size, 8);
  char buf[16];
  assert_int_equal(fread(buf, 1, sizeof buf, f), 8);
  pctl_close_input(f);
  assert_int_equal(pctl_open_input(path, &f, NULL), PCTL_EXIT_OK);
  pctl_close_input(f);
  remove(path);

  assert_int_equal(pctl_open_input("-", &f, NULL), PCTL_EXIT_OK);
  assert_ptr_equal(f, stdin);
  pctl_close_input(f); /* stdin stays open */
  assert_int_equal(ferror(stdin), 0);
  pctl_close_input(NULL);
}

/* ------------------------------------------------------------------ */
/* Text helpers */

static void test_errbuf(void **state) {
  (void)state;
  char buf[8] = "xxxxxxx";
  assert_int_equal(pctl_errbuf_set(buf, sizeof buf, LP_ERANGE, "%s-%d", "abc", 12345), LP_ERANGE);
  assert_string_equal(buf, "abc-123"); /* cut to fit, terminated */
  assert_int_equal(pctl_errbuf_set(NULL, 10, LP_EINVAL, "x"), LP_EINVAL);
  buf[0] = 'Q';
  assert_int_equal(pctl_errbuf_set(buf, 0, LP_EINVAL, "x"), LP_EINVAL);
  assert_int_equal(buf[0], 'Q');
}

static void test_excerpt(void **state) {
  (void)state;
  char out[PCTL_EXCERPT_CAP];
  pctl_text_excerpt("a\tb\x80\x7f~ ", 7, out);
  assert_string_equal(out, "a?b??~ ");
  pctl_text_excerpt(NULL, 0, out);
  assert_string_equal(out, "");
  const char *long_text = "0123456789012345678901234567890123456789ABC";
  pctl_text_excerpt(long_text, strlen(long_text), out);
  assert_string_equal(out, "0123456789012345678901234567890123456789...");
  pctl_text_excerpt(long_text, 40, out); /* exactly the maximum: not cut */
  assert_string_equal(out, "0123456789012345678901234567890123456789");
}

static void test_trim_and_digit(void **state) {
  (void)state;
  const char *s = "  a b  ";
  size_t n = strlen(s);
  pctl_trim_spaces(&s, &n);
  assert_int_equal(n, 3);
  assert_memory_equal(s, "a b", 3);
  s = "    ";
  n = 4;
  pctl_trim_spaces(&s, &n);
  assert_int_equal(n, 0);
  s = "\tx\t"; /* only 0x20 is trimmed */
  n = 3;
  pctl_trim_spaces(&s, &n);
  assert_int_equal(n, 3);
  assert_true(pctl_is_digit('0'));
  assert_true(pctl_is_digit('9'));
  assert_false(pctl_is_digit('a'));
  assert_false(pctl_is_digit('/'));
  assert_false(pctl_is_digit(':'));
}

/* ------------------------------------------------------------------ */
/* Command table */

static void test_command_table(void **state) {
  (void)state;
  /* Modules add their own subcommands after these three. */
  assert_true(pctl_command_count >= 3);
  static const char *const names[] = {"help", "version", "csv-check"};
  for (size_t i = 0; i < 3; i++) {
    const pctl_command *c = pctl_find_command(names[i]);
    assert_non_null(c);
    assert_ptr_equal(c, pctl_commands[i]);
    assert_string_equal(c->name, names[i]);
    assert_non_null(c->synopsis);
    assert_non_null(c->summary);
    assert_non_null(c->run);
  }
  assert_null(pctl_find_command("nope"));
  assert_null(pctl_find_command(""));
  assert_null(pctl_find_command("csv"));
}

static void test_usage_texts(void **state) {
  (void)state;
  FILE *f = tmpfile();
  assert_non_null(f);
  pctl_print_usage(f);
  pctl_print_command_help(f, pctl_find_command("version"));
  pctl_print_command_help(f, pctl_find_command("csv-check"));
  rewind(f);
  static char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  assert_non_null(strstr(buf, "usage: profilectl <command> [arguments]\n"));
  assert_non_null(strstr(buf, "  help         list the commands, or show one command's usage\n"));
  assert_non_null(strstr(buf, "  version      print the version\n"));
  assert_non_null(strstr(buf, "  csv-check    check a CSV file"));
  /* A command without arguments has no trailing space in its usage line. */
  assert_non_null(strstr(buf, "usage: profilectl version\n\nprint the version\n"));
  assert_non_null(strstr(buf, "usage: profilectl csv-check [options] FILE\n"));
  assert_non_null(strstr(buf, "--max-record-bytes"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_args_scan),
    cmocka_unit_test(test_args_is),
    cmocka_unit_test(test_args_value),
    cmocka_unit_test(test_args_size),
    cmocka_unit_test(test_messages_and_output),
    cmocka_unit_test(test_open_input),
    cmocka_unit_test(test_errbuf),
    cmocka_unit_test(test_excerpt),
    cmocka_unit_test(test_trim_and_digit),
    cmocka_unit_test(test_command_table),
    cmocka_unit_test(test_usage_texts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
