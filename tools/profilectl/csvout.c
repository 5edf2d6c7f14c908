/*
 * The one CSV writer: RFC 4180 quoting, buffered, error-checked.
 * SPDX-License-Identifier: MIT
 */
#include "csvout.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "textutil.h"

static void flush_buf(pctl_csvout *w) {
  if (w->used == 0) return;
  if (w->err == 0) {
    errno = 0;
    if (fwrite(w->buf, 1, w->used, w->f) != w->used) w->err = errno != 0 ? errno : EIO;
  }
  w->used = 0;
}

static void put(pctl_csvout *w, const char *s, size_t n) {
  while (n > 0) {
    if (w->used == sizeof w->buf) flush_buf(w);
    size_t k = sizeof w->buf - w->used;
    if (k > n) k = n;
    memcpy(w->buf + w->used, s, k);
    w->used += k;
    s += k;
    n -= k;
  }
}

static void put_char(pctl_csvout *w, char c) {
  if (w->used == sizeof w->buf) flush_buf(w);
  w->buf[w->used++] = c;
}

void pctl_csvout_stream(pctl_csvout *w, FILE *f, const char *name) {
  w->f = f;
  w->path = name;
  w->owned = false;
  w->row_started = false;
  w->err = 0;
  w->used = 0;
}

int pctl_csvout_open(pctl_csvout *w, const char *path) {
  if (strcmp(path, "-") == 0) {
    pctl_csvout_stream(w, stdout, "standard output");
    return PCTL_EXIT_OK;
  }
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    pctl_error("cannot open '%s' for writing: %s", path, strerror(errno));
    pctl_csvout_stream(w, NULL, path);
    return PCTL_EXIT_FAILURE;
  }
  pctl_csvout_stream(w, f, path);
  w->owned = true;
  return PCTL_EXIT_OK;
}

void pctl_csvout_field(pctl_csvout *w, const char *s, size_t len) {
  if (w->row_started) put_char(w, ',');
  w->row_started = true;
  bool quote = false;
  for (size_t i = 0; i < len && !quote; i++)
    quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
  if (!quote) {
    put(w, s, len);
    return;
  }
  put_char(w, '"');
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"') put_char(w, '"');
    put_char(w, s[i]);
  }
  put_char(w, '"');
}

void pctl_csvout_str(pctl_csvout *w, const char *s) { pctl_csvout_field(w, s, strlen(s)); }

void pctl_csvout_strs(pctl_csvout *w, const char *const *names, size_t n) {
  for (size_t i = 0; i < n; i++) pctl_csvout_str(w, names[i]);
}

void pctl_csvout_i64(pctl_csvout *w, int64_t v) {
  char b[24];
  int n = snprintf(b, sizeof b, "%" PRId64, v);
  pctl_csvout_field(w, b, (size_t)n);
}

void pctl_csvout_u64(pctl_csvout *w, uint64_t v) {
  char b[24];
  int n = snprintf(b, sizeof b, "%" PRIu64, v);
  pctl_csvout_field(w, b, (size_t)n);
}

void pctl_csvout_double(pctl_csvout *w, double v) {
  char b[PCTL_DOUBLE_BUF];
  pctl_csvout_str(w, pctl_format_double(b, v));
}

void pctl_csvout_end_row(pctl_csvout *w) {
  put_char(w, '\n');
  w->row_started = false;
}

int pctl_csvout_close(pctl_csvout *w) {
  if (w->f == NULL) return PCTL_EXIT_FAILURE;
  flush_buf(w);
  if (w->err == 0) {
    errno = 0;
    if (fflush(w->f) != 0 || ferror(w->f)) w->err = errno != 0 ? errno : EIO;
  }
  if (w->owned) {
    errno = 0;
    if (fclose(w->f) != 0 && w->err == 0) w->err = errno != 0 ? errno : EIO;
  }
  w->f = NULL;
  if (w->err != 0) {
    pctl_error("cannot write '%s': %s", w->path, strerror(w->err));
    return PCTL_EXIT_FAILURE;
  }
  return PCTL_EXIT_OK;
}
