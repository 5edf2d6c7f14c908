/*
 * Helpers shared by the subcommands, and the table-driven option parser.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "textutil.h"
#include "timeparse.h"

static void verror(const char *prefix, const char *fmt, va_list ap) PCTL_PRINTF(2, 0);

static void verror(const char *prefix, const char *fmt, va_list ap) {
  fputs(PCTL_PROGRAM ": error: ", stderr);
  if (prefix != NULL) fputs(prefix, stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void pctl_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verror(NULL, fmt, ap);
  va_end(ap);
}

int pctl_data_error(const char *path, uint64_t line, const char *fmt, ...) {
  char where[512];
  if (line > 0) {
    snprintf(where, sizeof where, "%s:%llu: ", path, (unsigned long long)line);
  } else {
    snprintf(where, sizeof where, "%s: ", path);
  }
  va_list ap;
  va_start(ap, fmt);
  verror(where, fmt, ap);
  va_end(ap);
  return PCTL_EXIT_FAILURE;
}

int pctl_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verror(NULL, fmt, ap);
  va_end(ap);
  if (cmd != NULL) {
    fprintf(stderr, "Run '" PCTL_PROGRAM " help %s' for usage.\n", cmd);
  } else {
    fputs("Run '" PCTL_PROGRAM " help' for usage.\n", stderr);
  }
  return PCTL_EXIT_USAGE;
}

int pctl_finish_stdout(void) {
  errno = 0;
  if (fflush(stdout) != 0 || ferror(stdout)) {
    pctl_error("cannot write the output: %s", strerror(errno != 0 ? errno : EIO));
    return PCTL_EXIT_FAILURE;
  }
  return PCTL_EXIT_OK;
}

int pctl_open_input(const char *path, FILE **out, uint64_t *size) {
  *out = NULL;
  if (size != NULL) *size = 0;
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (f == NULL) {
    pctl_error("cannot open '%s': %s", path, strerror(errno));
    return PCTL_EXIT_FAILURE;
  }
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    pctl_error("cannot read '%s': %s", path, strerror(EISDIR));
    pctl_close_input(f);
    return PCTL_EXIT_FAILURE;
  }
  if (size != NULL && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    *size = (uint64_t)st.st_size;
  }
  *out = f;
  return PCTL_EXIT_OK;
}

void pctl_close_input(FILE *f) {
  if (f != NULL && f != stdin) fclose(f);
}

static int make_one_dir(const char *path, const char *shown) {
  if (mkdir(path, 0777) == 0) return PCTL_EXIT_OK;
  int e = errno;
  struct stat st;
  if (e == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return PCTL_EXIT_OK;
  if (e == EEXIST) e = ENOTDIR;
  pctl_error("cannot create the folder '%s': %s", shown, strerror(e));
  return PCTL_EXIT_FAILURE;
}

int pctl_make_dir(const char *path) {
  size_t n = strlen(path);
  if (n == 0) {
    pctl_error("cannot create a folder with an empty name");
    return PCTL_EXIT_FAILURE;
  }
  char *p = malloc(n + 1);
  if (p == NULL) {
    pctl_error("cannot create the folder '%s': %s", path, strerror(ENOMEM));
    return PCTL_EXIT_FAILURE;
  }
  memcpy(p, path, n + 1);
  int rc = PCTL_EXIT_OK;
  /* Each parent first ("a", "a/b", ...), skipping repeated slashes. */
  for (size_t i = 1; i < n && rc == PCTL_EXIT_OK; i++) {
    if (p[i] != '/' || p[i - 1] == '/') continue;
    p[i] = '\0';
    rc = make_one_dir(p, path);
    p[i] = '/';
  }
  if (rc == PCTL_EXIT_OK) rc = make_one_dir(p, path);
  free(p);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Options */

/* "--name" or "-n" as the user would write it, for messages. */
static void opt_label(const pctl_option *o, bool as_short, char *buf, size_t cap) {
  if (as_short) {
    snprintf(buf, cap, "-%c", o->short_name);
  } else {
    snprintf(buf, cap, "--%s", o->long_name);
  }
}

static bool takes_value(const pctl_option *o) {
  return o->kind != PCTL_KIND_FLAG && o->kind != PCTL_KIND_SET && o->kind != PCTL_KIND_COUNT;
}

static bool parse_int_text(const char *v, int64_t *out) {
  const char *p = v;
  bool neg = *p == '-';
  if (*p == '-' || *p == '+') p++;
  if (*p == '\0') return false;
  uint64_t x = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (; *p != '\0'; p++) {
    if (!pctl_is_digit(*p)) return false;
    unsigned d = (unsigned)(*p - '0');
    if (x > (limit - d) / 10) return false;
    x = x * 10 + d;
  }
  *out = neg ? (x == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)x) : (int64_t)x;
  return true;
}

static void list_choices(const char *const *choices, char *buf, size_t cap) {
  size_t o = 0;
  buf[0] = '\0';
  for (size_t i = 0; choices[i] != NULL; i++) {
    int n = snprintf(buf + o, cap - o, "%s%s", i > 0 ? ", " : "", choices[i]);
    if (n < 0 || (size_t)n >= cap - o) break;
    o += (size_t)n;
  }
}

/* "1..10", "at least 0" (no upper bound), "at most 5". */
static void int_range(const pctl_option *o, char *buf, size_t cap) {
  if (o->max == INT64_MAX && o->min == INT64_MIN) {
    snprintf(buf, cap, "any 64-bit value");
  } else if (o->max == INT64_MAX) {
    snprintf(buf, cap, "at least %lld", (long long)o->min);
  } else if (o->min == INT64_MIN) {
    snprintf(buf, cap, "at most %lld", (long long)o->max);
  } else {
    snprintf(buf, cap, "%lld..%lld", (long long)o->min, (long long)o->max);
  }
}

/* Parse one value into the destination; false with a reason in err. */
static bool store_value(const pctl_option *o, const char *v, char *err, size_t cap) {
  switch (o->kind) {
  case PCTL_KIND_STRING:
    *(const char **)o->dest = v;
    return true;
  case PCTL_KIND_PATH:
    if (v[0] == '\0') {
      snprintf(err, cap, "needs a non-empty file name");
      return false;
    }
    *(const char **)o->dest = v;
    return true;
  case PCTL_KIND_INT: {
    int64_t x;
    char range[64];
    int_range(o, range, sizeof range);
    if (!parse_int_text(v, &x)) {
      snprintf(err, cap, "'%s' is not a whole number (%s)", v, range);
      return false;
    }
    if (x < o->min || x > o->max) {
      snprintf(err, cap, "%s is out of range (%s)", v, range);
      return false;
    }
    *(int64_t *)o->dest = x;
    return true;
  }
  case PCTL_KIND_NUMBER: {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    char lo[32], hi[32];
    pctl_format_double(lo, o->dmin);
    pctl_format_double(hi, o->dmax);
    if (end == v || *end != '\0' || errno == ERANGE || !isfinite(d)) {
      snprintf(err, cap, "'%s' is not a finite number (%s..%s)", v, lo, hi);
      return false;
    }
    if (d < o->dmin || d > o->dmax) {
      snprintf(err, cap, "%s is out of range (%s..%s)", v, lo, hi);
      return false;
    }
    *(double *)o->dest = d;
    return true;
  }
  case PCTL_KIND_ENUM:
    for (size_t i = 0; o->choices[i] != NULL; i++) {
      if (strcmp(o->choices[i], v) == 0) {
        *(int *)o->dest = (int)i;
        return true;
      }
    }
    {
      char list[256];
      list_choices(o->choices, list, sizeof list);
      snprintf(err, cap, "'%s' is not one of %s", v, list);
    }
    return false;
  case PCTL_KIND_DATE: {
    char why[PCTL_ERRBUF_SIZE];
    if (pctl_time_parse(v, strlen(v), PCTL_TIME_AUTO, (int64_t *)o->dest, why, sizeof why) !=
        LP_OK) {
      snprintf(err, cap, "%s", why);
      return false;
    }
    return true;
  }
  case PCTL_KIND_LIST: {
    pctl_strlist *l = o->dest;
    if (l->count == PCTL_LIST_MAX) {
      snprintf(err, cap, "may be given at most %d times", PCTL_LIST_MAX);
      return false;
    }
    l->items[l->count++] = v;
    return true;
  }
  case PCTL_KIND_CUSTOM:
    return o->parse(o, v, err, cap);
  default:
    snprintf(err, cap, "takes no value");
    return false;
  }
}

static void set_defaults(const pctl_option *table) {
  for (const pctl_option *o = table; o->kind != PCTL_KIND_END; o++) {
    switch (o->kind) {
    case PCTL_KIND_FLAG: *(bool *)o->dest = false; break;
    case PCTL_KIND_SET: break; /* the field's default is the command's (several rows share it) */
    case PCTL_KIND_COUNT:
    case PCTL_KIND_INT:
    case PCTL_KIND_DATE: *(int64_t *)o->dest = 0; break;
    case PCTL_KIND_NUMBER: *(double *)o->dest = 0.0; break;
    case PCTL_KIND_ENUM: *(int *)o->dest = 0; break;
    case PCTL_KIND_STRING:
    case PCTL_KIND_PATH: *(const char **)o->dest = NULL; break;
    case PCTL_KIND_LIST: ((pctl_strlist *)o->dest)->count = 0; break;
    case PCTL_KIND_PAIR: ((const char **)o->dest)[0] = ((const char **)o->dest)[1] = NULL; break;
    default: break;
    }
    if (o->def != NULL && takes_value(o)) {
      char err[PCTL_ERRBUF_SIZE];
      /* A default that does not parse is a bug in the table: tests catch it. */
      (void)store_value(o, o->def, err, sizeof err);
    }
  }
}

static const pctl_option *find_long(const pctl_option *table, const char *name, size_t len) {
  for (const pctl_option *o = table; o->kind != PCTL_KIND_END; o++) {
    if (strlen(o->long_name) == len && memcmp(o->long_name, name, len) == 0) return o;
  }
  return NULL;
}

static const pctl_option *find_short(const pctl_option *table, char c) {
  for (const pctl_option *o = table; o->kind != PCTL_KIND_END; o++) {
    if (o->short_name == c) return o;
  }
  return NULL;
}

/* Apply option `o` seen as `label`; `inline_value` is the text after '='
 * (or after the short letter), NULL when none. */
static int apply_option(const struct pctl_command *cmd, const pctl_option *o, const char *label,
                        const char *inline_value, int argc, char **argv, int *next) {
  char err[640];
  if (!takes_value(o)) {
    if (inline_value != NULL) return pctl_usage_error(cmd->name, "option '%s' takes no value", label);
    if (o->kind == PCTL_KIND_FLAG) *(bool *)o->dest = true;
    else if (o->kind == PCTL_KIND_SET) *(int *)o->dest = (int)o->min;
    else (*(int64_t *)o->dest)++;
    return PCTL_EXIT_OK;
  }
  if (o->kind == PCTL_KIND_PAIR) {
    if (inline_value != NULL || *next + 2 > argc)
      return pctl_usage_error(cmd->name, "option '%s' takes two values (%s)", label, o->metavar);
    ((const char **)o->dest)[0] = argv[(*next)++];
    ((const char **)o->dest)[1] = argv[(*next)++];
    return PCTL_EXIT_OK;
  }
  const char *v = inline_value;
  if (v == NULL) {
    if (*next >= argc)
      return pctl_usage_error(cmd->name, "option '%s' needs a value (%s)", label, o->metavar);
    v = argv[(*next)++];
  }
  if (!store_value(o, v, err, sizeof err))
    return pctl_usage_error(cmd->name, "option '%s': %s", label, err);
  return PCTL_EXIT_OK;
}

int pctl_parse_options(const struct pctl_command *cmd, const pctl_option *table, int argc,
                       char **argv, pctl_operands *ops) {
  static const pctl_option no_options[] = {PCTL_OPT_END};
  if (table == NULL) table = no_options;
  set_defaults(table);
  bool seen[128];
  size_t nopts = 0;
  while (table[nopts].kind != PCTL_KIND_END) nopts++;
  memset(seen, 0, sizeof seen);
  int kept = 1; /* operands are moved down to argv[1..] */
  bool only_operands = false;
  int next = 1;
  while (next < argc) {
    char *arg = argv[next++];
    if (only_operands || arg[0] != '-' || arg[1] == '\0') {
      argv[kept++] = arg;
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      only_operands = true;
      continue;
    }
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      pctl_print_help(stdout, cmd, table);
      return PCTL_EXIT_HELP;
    }
    const pctl_option *o;
    const char *inline_value = NULL;
    char label[96];
    if (arg[1] == '-') {
      const char *name = arg + 2, *eq = strchr(name, '=');
      size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
      o = find_long(table, name, len);
      if (o == NULL) {
        if (eq != NULL) snprintf(label, sizeof label, "--%.*s", (int)len, name);
        else snprintf(label, sizeof label, "%s", arg);
        return pctl_usage_error(cmd->name, "unknown option '%s'", label);
      }
      if (eq != NULL) inline_value = eq + 1;
      opt_label(o, false, label, sizeof label);
    } else {
      o = find_short(table, arg[1]);
      if (o == NULL) return pctl_usage_error(cmd->name, "unknown option '-%c'", arg[1]);
      if (arg[2] != '\0') inline_value = arg + 2;
      opt_label(o, true, label, sizeof label);
    }
    int rc = apply_option(cmd, o, label, inline_value, argc, argv, &next);
    if (rc != PCTL_EXIT_OK) return rc;
    size_t idx = (size_t)(o - table);
    if (idx < PCTL_ARRAY_LEN(seen)) seen[idx] = true;
  }
  for (size_t i = 0; i < nopts && i < PCTL_ARRAY_LEN(seen); i++) {
    if ((table[i].flags & PCTL_OPT_REQUIRED) != 0 && !seen[i]) {
      return pctl_usage_error(cmd->name, "missing --%s%s%s", table[i].long_name,
                              table[i].metavar != NULL ? " " : "",
                              table[i].metavar != NULL ? table[i].metavar : "");
    }
  }
  ops->items = argv + 1;
  ops->count = (size_t)(kept - 1);
  return PCTL_EXIT_OK;
}

int pctl_want_operands(const struct pctl_command *cmd, const pctl_operands *ops, size_t min,
                       size_t max, const char *name) {
  if (ops->count < min) return pctl_usage_error(cmd->name, "missing %s", name);
  if (ops->count > max) {
    if (max == 1) return pctl_usage_error(cmd->name, "only one %s may be given", name);
    return pctl_usage_error(cmd->name, "unexpected argument '%s'", ops->items[max]);
  }
  return PCTL_EXIT_OK;
}

int pctl_parse_file_command(const struct pctl_command *cmd, const pctl_option *table, int argc,
                            char **argv, const char **path) {
  pctl_operands ops;
  int rc = pctl_parse_options(cmd, table, argc, argv, &ops);
  if (rc == PCTL_EXIT_OK) rc = pctl_want_operands(cmd, &ops, 1, 1, "FILE");
  if (rc == PCTL_EXIT_OK) *path = ops.items[0];
  return rc;
}

/* What the help says after an option's text: range, choices, default. */
static void option_notes(const pctl_option *o, char *buf, size_t cap) {
  char list[256] = "";
  buf[0] = '\0';
  if (o->kind == PCTL_KIND_INT) {
    int_range(o, list, sizeof list);
  } else if (o->kind == PCTL_KIND_NUMBER) {
    char lo[32], hi[32];
    pctl_format_double(lo, o->dmin);
    pctl_format_double(hi, o->dmax);
    snprintf(list, sizeof list, "%s..%s", lo, hi);
  } else if (o->kind == PCTL_KIND_ENUM) {
    list_choices(o->choices, list, sizeof list);
    for (char *p = list; (p = strstr(p, ", ")) != NULL;) {
      *p = '|';
      memmove(p + 1, p + 2, strlen(p + 2) + 1);
    }
  }
  const char *req = (o->flags & PCTL_OPT_REQUIRED) != 0 ? "required" : NULL;
  const char *parts[3] = {list[0] != '\0' ? list : NULL, req, NULL};
  char dflt[160] = "";
  if (o->def != NULL) {
    bool quote = o->def[0] == '\0' || strchr(o->def, ' ') != NULL;
    snprintf(dflt, sizeof dflt, quote ? "default \"%s\"" : "default %s", o->def);
    parts[2] = dflt;
  }
  size_t n = 0;
  for (int i = 0; i < 3; i++) {
    if (parts[i] == NULL) continue;
    int w = snprintf(buf + n, cap - n, "%s%s", n == 0 ? " (" : "; ", parts[i]);
    if (w < 0 || (size_t)w >= cap - n) return;
    n += (size_t)w;
  }
  if (n > 0 && n + 1 < cap) {
    buf[n] = ')';
    buf[n + 1] = '\0';
  }
}

void pctl_print_help(FILE *out, const struct pctl_command *cmd, const pctl_option *table) {
  fprintf(out, "usage: " PCTL_PROGRAM " %s%s%s\n\n%s\n", cmd->name,
          cmd->synopsis[0] != '\0' ? " " : "", cmd->synopsis, cmd->summary);
  if (cmd->details != NULL) fprintf(out, "\n%s", cmd->details);
  if (table == NULL || table[0].kind == PCTL_KIND_END) return;
  fputs("\noptions:\n", out);
  for (const pctl_option *o = table; o->kind != PCTL_KIND_END; o++) {
    char head[128], notes[512];
    int n;
    if (o->short_name != 0) {
      n = snprintf(head, sizeof head, "  -%c, --%s%s%s", o->short_name, o->long_name,
                   o->metavar != NULL ? " " : "", o->metavar != NULL ? o->metavar : "");
    } else {
      n = snprintf(head, sizeof head, "  --%s%s%s", o->long_name, o->metavar != NULL ? " " : "",
                   o->metavar != NULL ? o->metavar : "");
    }
    option_notes(o, notes, sizeof notes);
    if (n >= 0 && n < 24) {
      fprintf(out, "%-24s", head);
    } else {
      fprintf(out, "%s\n%-24s", head, "");
    }
    for (const char *h = o->help; *h != '\0'; h++) {
      fputc(*h, out);
      if (*h == '\n') fprintf(out, "%-24s", "");
    }
    fprintf(out, "%s\n", notes);
  }
  fputs("  -h, --help            print this help\n", out);
}

int pctl_file_write(void *ud, const void *buf, size_t len) {
  FILE *stream = ud;
  if (stream == NULL) return LP_EINVAL;
  return len == 0 || fwrite(buf, 1, len, stream) == len ? LP_OK : LP_EIO;
}

int pctl_file_read(void *ud, void *buf, size_t cap, size_t *got) {
  FILE *stream = ud;
  if (stream == NULL || got == NULL) return LP_EINVAL;
  *got = cap == 0 ? 0 : fread(buf, 1, cap, stream);
  return *got == 0 && cap > 0 && ferror(stream) ? LP_EIO : LP_OK;
}
