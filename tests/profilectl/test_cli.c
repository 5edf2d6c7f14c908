/*
 * Tests for the CLI helpers and the option parser (cli.h), the CSV writer
 * (csvout.h), the text and number helpers (textutil.h), the subcommand
 * table (commands.h) and a step run in a child process (child.h).
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "cli.h"
#include "commands.h"
#include "csvout.h"
#include "textutil.h"

/* ------------------------------------------------------------------ */
/* The option parser */

typedef struct all_opts {
  bool flag;
  int set;
  int64_t count, n, when;
  const char *text, *path;
  double x;
  int choice;
  pctl_strlist list;
  const char *pair[2];
  int custom;
} all_opts;

static bool parse_even(const pctl_option *opt, const char *v, char *err, size_t cap) {
  int n = atoi(v);
  if (n % 2 != 0) {
    snprintf(err, cap, "%s is odd", v);
    return false;
  }
  *(int *)opt->dest = n;
  return true;
}

static const pctl_command test_cmd = {"tcmd", "[options] FILE...", "a test command",
                                      "Prose of the command.\n", NULL};

static const char *const choices[] = {"red", "green", "blue", NULL};
static const char *text_dest;

/* Parse argv (NULL-terminated, without the command name) into *o. */
static int parse(all_opts *o, pctl_operands *ops, char **args) {
  static char *argv[2 * PCTL_LIST_MAX + 16];
  int argc = 0;
  argv[argc++] = "tcmd";
  while (*args != NULL) argv[argc++] = *args++;
  argv[argc] = NULL;
  o->set = 7; /* SET options leave their field's default to the command */
  const pctl_option table[] = {
    PCTL_OPT_FLAG("flag", 'f', &o->flag, "a flag"),
    PCTL_OPT_SET("set", 0, &o->set, 3, "set to 3"),
    PCTL_OPT_COUNT("verbose", 'v', &o->count, "more"),
    PCTL_OPT_INT("n", 'n', "N", &o->n, -5, 10, "4", "a number"),
    PCTL_OPT_STRING("text", 't', "TEXT", &o->text, "dflt", "a text"),
    PCTL_OPT_PATH("path", 0, "FILE", &o->path, NULL, "a path"),
    PCTL_OPT_NUMBER("x", 0, "X", &o->x, 0.0, 1.5, "0.25", "a real"),
    PCTL_OPT_ENUM("color", 'c', "C", &o->choice, choices, "green", "a color"),
    PCTL_REQUIRED(PCTL_OPT_DATE("when", 0, "DATE", &o->when, NULL, "a time")),
    PCTL_OPT_LIST("tag", 0, "T", &o->list, "repeatable"),
    PCTL_OPT_PAIR("pair", 0, "A B", o->pair, "two values\nsecond line"),
    PCTL_OPT_CUSTOM("even", 0, "E", &o->custom, parse_even, "2", "an even number"),
    PCTL_OPT_END,
  };
  memset(ops, 0, sizeof *ops);
  return pctl_parse_options(&test_cmd, table, argc, argv, ops);
}

/* The help text of `cmd` with `table` (NULL: the program usage first, then
 * the command's help), in a static buffer. */
static const char *help_of(const pctl_command *cmd, const pctl_option *table, bool usage) {
  FILE *f = tmpfile();
  assert_non_null(f);
  if (usage) pctl_print_usage(f);
  pctl_print_help(f, cmd, table);
  rewind(f);
  static char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void test_options_defaults_and_values(void **state) {
  (void)state;
  all_opts o;
  pctl_operands ops;
  memset(&o, 0xAB, sizeof o);
  char *a1[] = {"--when", "1970-01-02", "file1", NULL};
  assert_int_equal(parse(&o, &ops, a1), PCTL_EXIT_OK);
  /* Every destination got its table default (or zero) before parsing. */
  assert_false(o.flag);
  assert_int_equal(o.set, 7);
  assert_int_equal(o.count, 0);
  assert_int_equal(o.n, 4);
  assert_string_equal(o.text, "dflt");
  assert_null(o.path);
  assert_true(o.x == 0.25);
  assert_int_equal(o.choice, 1);
  assert_int_equal(o.when, 86400);
  assert_int_equal(o.list.count, 0);
  assert_null(o.pair[0]);
  assert_null(o.pair[1]);
  assert_int_equal(o.custom, 2);
  assert_int_equal(ops.count, 1);
  assert_string_equal(ops.items[0], "file1");

  char *a2[] = {"a", "-f", "--set", "-vv", "-v", "--verbose", "-n", "-5", "--text=", "--path", "p",
                "--x=1.5", "-cblue", "--when=86400", "--tag", "t1", "b", "--tag=t2", "--pair",
                "A", "B", "--even", "8", "-n10", "--", "--flag", "-", NULL};
  assert_int_equal(parse(&o, &ops, a2), PCTL_EXIT_USAGE); /* -vv is not -v -v */
  char *a3[] = {"a", "-f", "--set", "-v", "--verbose", "-n", "-5", "--text=", "--path", "p",
                "--x=1.5", "-cblue", "--when=86400", "--tag", "t1", "b", "--tag=t2", "--pair",
                "A", "B", "--even", "8", "-n10", "--", "--flag", "-", NULL};
  assert_int_equal(parse(&o, &ops, a3), PCTL_EXIT_OK);
  assert_true(o.flag);
  assert_int_equal(o.set, 3);
  assert_int_equal(o.count, 2);
  assert_int_equal(o.n, 10); /* the last one wins */
  assert_string_equal(o.text, "");
  assert_string_equal(o.path, "p");
  assert_true(o.x == 1.5);
  assert_int_equal(o.choice, 2);
  assert_int_equal(o.when, 86400);
  assert_int_equal(o.list.count, 2);
  assert_string_equal(o.list.items[0], "t1");
  assert_string_equal(o.list.items[1], "t2");
  assert_string_equal(o.pair[0], "A");
  assert_string_equal(o.pair[1], "B");
  assert_int_equal(o.custom, 8);
  /* Operands in order; after "--" everything is one; "-" alone is one. */
  assert_int_equal(ops.count, 4);
  assert_string_equal(ops.items[0], "a");
  assert_string_equal(ops.items[1], "b");
  assert_string_equal(ops.items[2], "--flag");
  assert_string_equal(ops.items[3], "-");
}

static void test_options_errors(void **state) {
  (void)state;
  all_opts o;
  pctl_operands ops;
  /* Each of these is a usage error (exit 2). */
  static const char *const bad[][4] = {
    {"--nope", NULL},                 /* unknown long option */
    {"--nope=3", NULL},               /* unknown, with a value */
    {"-z", NULL},                     /* unknown short option */
    {"--flag=1", NULL},               /* a flag takes no value */
    {"-n", NULL},                     /* missing value */
    {"-n", "11", NULL},               /* above max */
    {"-n", "-6", NULL},               /* below min */
    {"-n", "1x", NULL},               /* not a number */
    {"-n", "", NULL},                 /* empty */
    {"-n", "99999999999999999999", NULL}, /* overflow */
    {"--x", "nan", NULL},             /* not finite */
    {"--x", "2", NULL},               /* above max */
    {"--x", "1e999", NULL},           /* out of range */
    {"--x", "0.5y", NULL},            /* junk */
    {"--color", "pink", NULL},        /* not a choice */
    {"--when", "yesterday", NULL},    /* not a time */
    {"--path", "", NULL},             /* empty path */
    {"--pair", "A", NULL},            /* one of two values */
    {"--pair=A", "B", NULL},          /* no inline value for a pair */
    {"--even", "3", NULL},            /* custom parser refuses */
  };
  for (size_t i = 0; i < PCTL_ARRAY_LEN(bad); i++) {
    char *argv[8];
    size_t k = 0;
    argv[k++] = "--when";
    argv[k++] = "0";
    for (size_t j = 0; bad[i][j] != NULL; j++) argv[k++] = (char *)bad[i][j];
    argv[k] = NULL;
    if (parse(&o, &ops, argv) != PCTL_EXIT_USAGE) fail_msg("case %zu (%s) was accepted", i, bad[i][0]);
  }
  /* A required option that is missing. */
  char *missing[] = {"f", NULL};
  assert_int_equal(parse(&o, &ops, missing), PCTL_EXIT_USAGE);
  /* A list given too often. */
  static char *many[2 * PCTL_LIST_MAX + 8];
  size_t k = 0;
  many[k++] = "--when";
  many[k++] = "0";
  for (int i = 0; i <= PCTL_LIST_MAX; i++) {
    many[k++] = "--tag";
    many[k++] = "t";
  }
  many[k] = NULL;
  assert_int_equal(parse(&o, &ops, many), PCTL_EXIT_USAGE);
  /* INT64 extremes parse. */
  int64_t big = 0;
  const pctl_option t2[] = {PCTL_OPT_INT("v", 0, "V", &big, INT64_MIN, INT64_MAX, NULL, "v"),
                            PCTL_OPT_END};
  char *argv2[] = {"tcmd", "--v", "-9223372036854775808", NULL};
  assert_int_equal(pctl_parse_options(&test_cmd, t2, 3, argv2, &ops), PCTL_EXIT_OK);
  assert_true(big == INT64_MIN);
  char *argv3[] = {"tcmd", "--v", "+9223372036854775807", NULL};
  assert_int_equal(pctl_parse_options(&test_cmd, t2, 3, argv3, &ops), PCTL_EXIT_OK);
  assert_true(big == INT64_MAX);
  char *argv4[] = {"tcmd", "--v", "9223372036854775808", NULL};
  assert_int_equal(pctl_parse_options(&test_cmd, t2, 3, argv4, &ops), PCTL_EXIT_USAGE);
  char *argv5[] = {"tcmd", "--v", "-", NULL};
  assert_int_equal(pctl_parse_options(&test_cmd, t2, 3, argv5, &ops), PCTL_EXIT_USAGE);
  /* No table: only operands, and --help. */
  char *argv6[] = {"tcmd", "x", "--", "-y", NULL};
  assert_int_equal(pctl_parse_options(&test_cmd, NULL, 4, argv6, &ops), PCTL_EXIT_OK);
  assert_int_equal(ops.count, 2);
  char *argv7[] = {"tcmd", "-y", NULL};
  assert_int_equal(pctl_parse_options(&test_cmd, NULL, 2, argv7, &ops), PCTL_EXIT_USAGE);
}

static void test_options_help(void **state) {
  (void)state;
  all_opts o;
  pctl_operands ops;
  /* --help and -h stop parsing and report PCTL_EXIT_HELP (printed to stdout). */
  char *h1[] = {"--help", NULL};
  assert_int_equal(parse(&o, &ops, h1), PCTL_EXIT_HELP);
  char *h2[] = {"x", "-h", "--nope", NULL};
  assert_int_equal(parse(&o, &ops, h2), PCTL_EXIT_HELP);
  char *h3[] = {"--", "-h", "--when", "0", NULL};
  assert_int_equal(parse(&o, &ops, h3), PCTL_EXIT_USAGE); /* after "--", -h is an operand */

  /* The help text is generated from the same table. */
  static int64_t n;
  static bool flag;
  static int color;
  const pctl_option table[] = {
    PCTL_OPT_FLAG("flag", 'f', &flag, "a flag"),
    PCTL_OPT_INT("n", 'n', "N", &n, -5, 10, "4", "a number"),
    PCTL_OPT_ENUM("color", 0, "C", &color, choices, "green", "a color"),
    PCTL_OPT_INT("a-very-long-option-name", 0, "VALUE", &n, 0, 1, NULL, "wraps\nand continues"),
    PCTL_OPT_END,
  };
  assert_string_equal(help_of(&test_cmd, table, false),
                      "usage: profilectl tcmd [options] FILE...\n\n"
                      "a test command\n\n"
                      "Prose of the command.\n\n"
                      "options:\n"
                      "  -f, --flag            a flag\n"
                      "  -n, --n N             a number (-5..10; default 4)\n"
                      "  --color C             a color (red|green|blue; default green)\n"
                      "  --a-very-long-option-name VALUE\n"
                      "                        wraps\n"
                      "                        and continues (0..1)\n"
                      "  -h, --help            print this help\n");
}

static void test_ranges_in_help(void **state) {
  (void)state;
  static int64_t a, b, c;
  static double x;
  const pctl_option table[] = {
    PCTL_OPT_INT("a", 0, "A", &a, INT64_MIN, 5, NULL, "upper bound only"),
    PCTL_OPT_INT("b", 0, "B", &b, INT64_MIN, INT64_MAX, NULL, "any"),
    PCTL_OPT_INT("c", 0, "C", &c, 0, INT64_MAX, "", "lower bound only"),
    PCTL_OPT_NUMBER("x", 0, "X", &x, 0.0, 0.5, "0.1", "real"),
    PCTL_OPT_STRING("s", 0, "S", &text_dest, "two words", "quoted default"),
    PCTL_REQUIRED(PCTL_OPT_PATH("p", 0, "P", &text_dest, NULL, "required")),
    PCTL_OPT_END,
  };
  const char *buf = help_of(&test_cmd, table, false);
  assert_non_null(strstr(buf, "upper bound only (at most 5)\n"));
  assert_non_null(strstr(buf, "any (any 64-bit value)\n"));
  assert_non_null(strstr(buf, "lower bound only (at least 0; default \"\")\n"));
  assert_non_null(strstr(buf, "real (0..0.5; default 0.1)\n"));
  assert_non_null(strstr(buf, "quoted default (default \"two words\")\n"));
  assert_non_null(strstr(buf, "required (required)\n"));
}

static void test_want_operands(void **state) {
  (void)state;
  char *items[] = {"a", "b"};
  pctl_operands ops = {items, 2};
  assert_int_equal(pctl_want_operands(&test_cmd, &ops, 1, 2, "FILE"), PCTL_EXIT_OK);
  assert_int_equal(pctl_want_operands(&test_cmd, &ops, 1, 1, "FILE"), PCTL_EXIT_USAGE);
  assert_int_equal(pctl_want_operands(&test_cmd, &ops, 0, 0, "argument"), PCTL_EXIT_USAGE);
  assert_int_equal(pctl_want_operands(&test_cmd, &ops, 3, 4, "FILE"), PCTL_EXIT_USAGE);
}

/* Every command's table: its defaults parse (the parser is run on
 * "--help", which sets the defaults first and prints the help). */
static void test_every_command_help(void **state) {
  (void)state;
  for (size_t i = 0; i < pctl_command_count; i++) {
    char name[64], help[] = "--help";
    snprintf(name, sizeof name, "%s", pctl_commands[i]->name);
    char *argv[] = {name, help, NULL};
    assert_int_equal(pctl_commands[i]->run(2, argv), PCTL_EXIT_HELP);
  }
}

/* ------------------------------------------------------------------ */
/* Numbers */

static void test_format_double(void **state) {
  (void)state;
  char b[PCTL_DOUBLE_BUF];
  static const struct {
    double v;
    const char *want;
  } cases[] = {
    {217.99, "217.99"},
    {0.1 + 0.2, "0.30000000000000004"},
    {0.1, "0.1"},
    {1.0, "1"},
    {-2.5, "-2.5"},
    {-0.0, "0"},
    {0.0, "0"},
    {1e-5, "1e-05"},
    {1.5e300, "1.5e+300"},
    {123456789012345678.0, "1.2345678901234568e+17"},
    {5e-324, "5e-324"},
    {1.7976931348623157e308, "1.7976931348623157e+308"},
    {100.0, "100"},
    {1e15, "1000000000000000"},
    {1e16, "1e+16"},
    {0.0001, "0.0001"},
    {1234.5, "1234.5"},
    {-120.0, "-120"},
  };
  for (size_t i = 0; i < PCTL_ARRAY_LEN(cases); i++) {
    assert_string_equal(pctl_format_double(b, cases[i].v), cases[i].want);
  }
  assert_string_equal(pctl_format_double(b, NAN), "nan");
  assert_string_equal(pctl_format_double(b, INFINITY), "inf");
  assert_string_equal(pctl_format_double(b, -INFINITY), "-inf");
  /* Round trip on a spread of values (a fixed LCG, so the test is repeatable). */
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20000; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    double v;
    uint64_t bits = x;
    memcpy(&v, &bits, sizeof v);
    if (!isfinite(v)) continue;
    pctl_format_double(b, v);
    assert_true(strtod(b, NULL) == v);
    assert_true(strlen(b) < 25);
  }
}

/* ------------------------------------------------------------------ */
/* The CSV writer */

static char *slurp(FILE *f, char *buf, size_t cap) {
  rewind(f);
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  return buf;
}

static void test_csvout(void **state) {
  (void)state;
  FILE *f = tmpfile();
  assert_non_null(f);
  pctl_csvout w;
  pctl_csvout_stream(&w, f, "tmp");
  static const char *const head[] = {"id", "name,with comma", "q\"uote"};
  pctl_csvout_strs(&w, head, 3);
  pctl_csvout_end_row(&w);
  pctl_csvout_str(&w, "line\nbreak");
  pctl_csvout_str(&w, "cr\rhere");
  pctl_csvout_str(&w, "");
  pctl_csvout_field(&w, "nul\0byte", 8);
  pctl_csvout_end_row(&w);
  pctl_csvout_i64(&w, INT64_MIN);
  pctl_csvout_u64(&w, UINT64_MAX);
  pctl_csvout_double(&w, 217.99);
  pctl_csvout_double(&w, -0.0);
  pctl_csvout_end_row(&w);
  assert_int_equal(pctl_csvout_close(&w), PCTL_EXIT_OK);
  static char buf[1 << 16];
  slurp(f, buf, sizeof buf);
  const char want[] = "id,\"name,with comma\",\"q\"\"uote\"\n"
                      "\"line\nbreak\",\"cr\rhere\",,nul\0byte\n"
                      "-9223372036854775808,18446744073709551615,217.99,0\n";
  assert_memory_equal(buf, want, sizeof want - 1);
  fclose(f);

  /* Larger than the buffer: written in pieces, byte for byte. */
  f = tmpfile();
  pctl_csvout_stream(&w, f, "tmp");
  static char big[PCTL_CSVOUT_BUF * 2 + 17];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  pctl_csvout_str(&w, big);
  pctl_csvout_str(&w, "\"");
  pctl_csvout_end_row(&w);
  assert_int_equal(pctl_csvout_close(&w), PCTL_EXIT_OK);
  static char back[sizeof big + 64];
  slurp(f, back, sizeof back);
  assert_int_equal(strlen(back), sizeof big - 1 + 6);
  assert_memory_equal(back, big, sizeof big - 1);
  assert_string_equal(back + sizeof big - 1, ",\"\"\"\"\n");
  fclose(f);

  /* A file that cannot be opened, and one that cannot be written. */
  assert_int_equal(pctl_csvout_open(&w, "/nonexistent/dir/out.csv"), PCTL_EXIT_FAILURE);
  assert_int_equal(pctl_csvout_close(&w), PCTL_EXIT_FAILURE);
  FILE *full = fopen("/dev/full", "wb");
  if (full != NULL) {
    pctl_csvout_stream(&w, full, "/dev/full");
    pctl_csvout_str(&w, "x");
    pctl_csvout_end_row(&w);
    assert_int_equal(pctl_csvout_close(&w), PCTL_EXIT_FAILURE);
    fclose(full);
  }
  assert_int_equal(pctl_csvout_open(&w, "/dev/full"), PCTL_EXIT_OK);
  for (int i = 0; i < 5000; i++) pctl_csvout_str(&w, "0123456789");
  assert_int_equal(pctl_csvout_close(&w), PCTL_EXIT_FAILURE);
  /* "-" is standard output. */
  assert_int_equal(pctl_csvout_open(&w, "-"), PCTL_EXIT_OK);
  assert_ptr_equal(w.f, stdout);
  assert_int_equal(pctl_csvout_close(&w), PCTL_EXIT_OK);
  /* A real file. */
  const char *path = "pctl_test_csvout.csv";
  assert_int_equal(pctl_csvout_open(&w, path), PCTL_EXIT_OK);
  pctl_csvout_str(&w, "a");
  pctl_csvout_end_row(&w);
  assert_int_equal(pctl_csvout_close(&w), PCTL_EXIT_OK);
  f = fopen(path, "rb");
  assert_non_null(f);
  assert_string_equal(slurp(f, buf, sizeof buf), "a\n");
  fclose(f);
  remove(path);
}

static void test_make_dir(void **state) {
  (void)state;
  char base[] = "pctl_test_dir_XXXXXX";
  assert_non_null(mkdtemp(base));
  char path[256];
  snprintf(path, sizeof path, "%s/a//b/c/", base);
  assert_int_equal(pctl_make_dir(path), PCTL_EXIT_OK);
  assert_int_equal(pctl_make_dir(path), PCTL_EXIT_OK); /* exists: fine */
  snprintf(path, sizeof path, "%s/a/b/c/file", base);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fclose(f);
  assert_int_equal(pctl_make_dir(path), PCTL_EXIT_FAILURE); /* a file is in the way */
  char sub[300];
  snprintf(sub, sizeof sub, "%s/x", path);
  assert_int_equal(pctl_make_dir(sub), PCTL_EXIT_FAILURE); /* a parent is a file */
  assert_int_equal(pctl_make_dir(""), PCTL_EXIT_FAILURE);
  remove(path);
  snprintf(path, sizeof path, "%s/a/b/c", base);
  rmdir(path);
  snprintf(path, sizeof path, "%s/a/b", base);
  rmdir(path);
  snprintf(path, sizeof path, "%s/a", base);
  rmdir(path);
  rmdir(base);
}

/* ------------------------------------------------------------------ */
/* Messages, output, input files */

static void test_messages_and_output(void **state) {
  (void)state;
  /* These print to stderr; what matters here is the returned status. */
  pctl_error("test message %d", 1);
  assert_int_equal(pctl_data_error("f.csv", 3, "bad %s", "x"), PCTL_EXIT_FAILURE);
  assert_int_equal(pctl_data_error("f.csv", 0, "bad"), PCTL_EXIT_FAILURE);
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
  const char *buf = help_of(pctl_find_command("version"), NULL, true);
  assert_non_null(strstr(buf, "usage: profilectl <command> [arguments]\n"));
  assert_non_null(strstr(buf, "  help         list the commands, or show one command's usage\n"));
  assert_non_null(strstr(buf, "  version      print the version\n"));
  assert_non_null(strstr(buf, "  csv-check    check a CSV file"));
  /* A command without arguments has no trailing space in its usage line,
   * and without options no options list. */
  assert_non_null(strstr(buf, "usage: profilectl version\n\nprint the version\n"));
  assert_null(strstr(buf, "options:"));
}

/* ------------------------------------------------------------------ */
/* A step in a child process */

static int child_value = 1;

/* Writes its mark into the file ud names, changes a variable (the
 * parent's copy must not change) and succeeds. */
static int child_marks(void *ud, char *msg, size_t cap) {
  (void)msg;
  (void)cap;
  child_value = 2;
  FILE *f = fopen(ud, "w");
  if (f == NULL) return -1;
  fputs("child", f);
  return fclose(f) == 0 ? 0 : -1;
}

static int child_fails(void *ud, char *msg, size_t cap) {
  (void)ud;
  snprintf(msg, cap, "cannot save the store to 'x': No space left on device");
  return -1;
}

static int child_killed(void *ud, char *msg, size_t cap) {
  (void)ud;
  (void)msg;
  (void)cap;
  raise(SIGKILL);
  return 0;
}

static int child_exits(void *ud, char *msg, size_t cap) {
  (void)ud;
  (void)msg;
  (void)cap;
  _exit(3);
}

static int child_sleeps(void *ud, char *msg, size_t cap) {
  (void)ud;
  (void)msg;
  (void)cap;
  sleep(60);
  return 0;
}

static void test_child(void **state) {
  (void)state;
  char path[] = "/tmp/pctl-test-child-XXXXXX", msg[256], got[16] = {0};
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  pctl_child c;
  pctl_child_usage u = {-1.0, -1.0, -1.0};
  /* success: the child's work is done, on its own copy of the memory */
  assert_true(pctl_child_start(&c, child_marks, path));
  assert_int_equal(pctl_child_wait(&c, msg, sizeof msg, &u), 0);
  assert_int_equal(child_value, 1);
  assert_true(u.user >= 0.0 && u.sys >= 0.0 && u.peak_mib > 0.0);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(got, sizeof got, f));
  fclose(f);
  remove(path);
  assert_string_equal(got, "child");
  /* the child's own message */
  assert_true(pctl_child_start(&c, child_fails, NULL));
  assert_int_equal(pctl_child_wait(&c, msg, sizeof msg, NULL), -1);
  assert_string_equal(msg, "cannot save the store to 'x': No space left on device");
  /* ended without a report */
  assert_true(pctl_child_start(&c, child_killed, NULL));
  assert_int_equal(pctl_child_wait(&c, msg, sizeof msg, NULL), -2);
  assert_string_equal(msg, "was killed by signal 9");
  assert_true(pctl_child_start(&c, child_exits, NULL));
  assert_int_equal(pctl_child_wait(&c, msg, sizeof msg, NULL), -3);
  assert_string_equal(msg, "ended without a report (exit status 3)");
  /* cancelled: killed and reaped at once */
  assert_true(pctl_child_start(&c, child_sleeps, NULL));
  pid_t pid = c.pid;
  pctl_child_cancel(&c);
  assert_int_equal(c.pid, 0);
  assert_int_equal(kill(pid, 0), -1); /* reaped: no such process */
  pctl_child_cancel(&c);              /* no child: nothing to do */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_options_defaults_and_values),
    cmocka_unit_test(test_options_errors),
    cmocka_unit_test(test_options_help),
    cmocka_unit_test(test_ranges_in_help),
    cmocka_unit_test(test_want_operands),
    cmocka_unit_test(test_every_command_help),
    cmocka_unit_test(test_format_double),
    cmocka_unit_test(test_csvout),
    cmocka_unit_test(test_make_dir),
    cmocka_unit_test(test_messages_and_output),
    cmocka_unit_test(test_open_input),
    cmocka_unit_test(test_errbuf),
    cmocka_unit_test(test_excerpt),
    cmocka_unit_test(test_trim_and_digit),
    cmocka_unit_test(test_command_table),
    cmocka_unit_test(test_usage_texts),
    cmocka_unit_test(test_child),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
