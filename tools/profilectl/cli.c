/*
 * Helpers shared by the subcommands.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

static void verror(const char *fmt, va_list ap) LP_PRINTF(1, 0);

static void verror(const char *fmt, va_list ap) {
  fputs(PCTL_PROGRAM ": error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void pctl_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verror(fmt, ap);
  va_end(ap);
}

int pctl_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verror(fmt, ap);
  va_end(ap);
  if (cmd != NULL) {
    fprintf(stderr, "Run '" PCTL_PROGRAM " help %s' for usage.\n", cmd);
  } else {
    fputs("Run '" PCTL_PROGRAM " help' for usage.\n", stderr);
  }
  return PCTL_EXIT_USAGE;
}

int pctl_finish_stdout(void) {
  if (fflush(stdout) != 0 || ferror(stdout)) {
    pctl_error("cannot write the output: %s", strerror(errno));
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
    pctl_error("cannot read '%s': it is a directory", path);
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

void pctl_args_init(pctl_args *a, int argc, char **argv) {
  a->argc = argc;
  a->argv = argv;
  a->next = 1;
  a->operands_only = false;
  a->cmd = argc > 0 ? argv[0] : NULL;
}

bool pctl_args_next(pctl_args *a, const char **arg, bool *option) {
  while (a->next < a->argc) {
    const char *s = a->argv[a->next++];
    if (!a->operands_only && strcmp(s, "--") == 0) {
      a->operands_only = true;
      continue;
    }
    *arg = s;
    *option = !a->operands_only && s[0] == '-' && s[1] != '\0';
    return true;
  }
  return false;
}

bool pctl_args_is(const char *arg, const char *name) {
  size_t n = strlen(name);
  return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

int pctl_args_value(pctl_args *a, const char *arg, const char **value) {
  const char *eq = strchr(arg, '=');
  if (eq != NULL) {
    *value = eq + 1;
    return PCTL_EXIT_OK;
  }
  if (a->next >= a->argc) return pctl_usage_error(a->cmd, "option '%s' needs a value", arg);
  *value = a->argv[a->next++];
  return PCTL_EXIT_OK;
}

int pctl_args_size(const pctl_args *a, const char *opt, const char *text, size_t min,
                   size_t *out) {
  size_t v = 0;
  bool ok = text[0] != '\0';
  for (const char *p = text; ok && *p != '\0'; p++) {
    if (*p < '0' || *p > '9' || v > (SIZE_MAX - (size_t)(*p - '0')) / 10) {
      ok = false;
    } else {
      v = v * 10 + (size_t)(*p - '0');
    }
  }
  if (!ok || v < min) {
    return pctl_usage_error(a->cmd, "option '%s' needs a whole number of at least %zu, not '%s'",
                            opt, min, text);
  }
  *out = v;
  return PCTL_EXIT_OK;
}
