/*
 * profilectl kmeans: segment the rows of a CSV file of numeric features
 * with lp_kmeans; labels and centroids to files or stdout, a metrics
 * summary on stderr, or a table of metrics per k with --sweep.
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "csv.h"
#include "csvout.h"
#include "textutil.h"
#include "libprofile.h"

#define CMD "kmeans"
#define MAX_COLS 256

typedef struct km_opts {
  const char *path, *cols, *id_col, *init, *out_labels, *out_centroids;
  int64_t k, n_init, max_iter, seed;
  int scale, algorithm, init_method;
  double tol;
  size_t sweep_min, sweep_max;
  bool sweep;
} km_opts;

typedef struct km_table {
  double *x;
  size_t rows, cols, cap;
  char **ids; /* rows entries when --id-col is given */
  char *names[MAX_COLS];
} km_table;

/* --sweep KMIN..KMAX */
static bool parse_sweep(const pctl_option *opt, const char *v, char *err, size_t cap) {
  km_opts *o = opt->dest;
  const char *dots = strstr(v, "..");
  char lo[32];
  bool ok = dots != NULL && (size_t)(dots - v) < sizeof lo;
  unsigned long long a = 0, b = 0;
  if (ok) {
    memcpy(lo, v, (size_t)(dots - v));
    lo[dots - v] = '\0';
    char *e1, *e2;
    errno = 0;
    a = strtoull(lo, &e1, 10);
    b = strtoull(dots + 2, &e2, 10);
    ok = pctl_is_digit(lo[0]) && *e1 == '\0' && pctl_is_digit(dots[2]) && *e2 == '\0' &&
         errno == 0 && a >= 1 && a <= b && b <= LP_KMEANS_MAX_K;
  }
  if (!ok) {
    snprintf(err, cap, "expected KMIN..KMAX with 1 <= KMIN <= KMAX <= %u, not '%s'",
             LP_KMEANS_MAX_K, v);
    return false;
  }
  o->sweep = true;
  o->sweep_min = (size_t)a;
  o->sweep_max = (size_t)b;
  return true;
}

static int parse_options(int argc, char **argv, km_opts *o) {
  static const char *const scales[] = {"none", "zscore", "minmax", "log1p", NULL};
  static const char *const algos[] = {"auto", "lloyd", "hamerly", "minibatch", "yinyang", NULL};
  o->sweep = false;
  const pctl_option table[] = {
    PCTL_OPT_INT("k", 0, "K", &o->k, 1, LP_KMEANS_MAX_K, NULL, "number of clusters"),
    PCTL_OPT_STRING("cols", 0, "C1,C2,...", &o->cols, NULL, "feature columns, in this order"),
    PCTL_OPT_STRING("id-col", 0, "C", &o->id_col, NULL,
                    "column copied to the labels file (else the row number)"),
    PCTL_OPT_ENUM("scale", 0, "S", &o->scale, scales, "none", "scaling of every feature"),
    PCTL_OPT_STRING("init", 0, "I", &o->init, "kmeans++",
                    "kmeans++, random, or a CSV FILE of k centroid rows"),
    PCTL_OPT_INT("n-init", 0, "N", &o->n_init, 1, LP_KMEANS_MAX_N_INIT, NULL,
                 "restarts, lowest inertia wins (library default 10;\n"
                 "given centroids run once)"),
    PCTL_OPT_INT("seed", 0, "S", &o->seed, 0, INT64_MAX, "0", "seed of the random choices"),
    PCTL_OPT_ENUM("algorithm", 0, "A", &o->algorithm, algos, "auto", "how to iterate"),
    PCTL_OPT_INT("max-iter", 0, "N", &o->max_iter, 0, UINT32_MAX, "300", "most iterations"),
    PCTL_OPT_NUMBER("tol", 0, "X", &o->tol, 0.0, 1e300, "0.0001",
                    "relative centroid-shift tolerance"),
    PCTL_OPT_PATH("out-labels", 0, "FILE", &o->out_labels, NULL,
                  "write 'id,cluster' rows ('-': stdout)"),
    PCTL_OPT_PATH("out-centroids", 0, "FILE", &o->out_centroids, NULL,
                  "write 'cluster,features...' rows (default: stdout)"),
    PCTL_OPT_CUSTOM("sweep", 0, "KMIN..KMAX", o, parse_sweep, NULL,
                    "print a table of metrics per k instead of fitting one"),
    PCTL_OPT_END,
  };
  int rc = pctl_parse_file_command(&pctl_cmd_kmeans, table, argc, argv, &o->path);
  if (rc != PCTL_EXIT_OK) return rc;
  if (strcmp(o->init, "kmeans++") == 0) {
    o->init_method = LP_KMEANS_INIT_KMEANSPP;
    o->init = NULL;
  } else if (strcmp(o->init, "random") == 0) {
    o->init_method = LP_KMEANS_INIT_RANDOM;
    o->init = NULL;
  } else {
    o->init_method = LP_KMEANS_INIT_GIVEN;
  }
  if (o->k == 0 && !o->sweep && o->init == NULL)
    return pctl_usage_error(CMD, "--k is required (or --sweep, or --init FILE)");
  if (o->sweep && o->init != NULL)
    return pctl_usage_error(CMD, "--sweep cannot be combined with --init FILE");
  return PCTL_EXIT_OK;
}

/* The common case without strtod: [-]digits[.digits] with a value below
 * 2^53 and at most 22 decimals, then spaces. Both the integer and the
 * power of ten are exact doubles, so one division gives the correctly
 * rounded value: the bits strtod gives. Anything else returns false and
 * goes to strtod. */
static bool field_number_fast(const char *p, size_t len, double *out) {
  static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  if (len == 0 || len >= 128) return false; /* field_number's limit */
  const unsigned char *s = (const unsigned char *)p, *e = s + len;
  const bool neg = *s == '-';
  s += neg;
  /* The digits before and after one point; more than 19 of them may wrap
   * m, and are refused below. */
  const unsigned char *d0 = s;
  uint64_t m = 0;
  while (s < e && (unsigned)(*s - '0') < 10u) m = m * 10u + (uint64_t)(*s++ - '0');
  size_t digits = (size_t)(s - d0), frac = 0;
  if (s < e && *s == '.') {
    const unsigned char *f0 = ++s;
    while (s < e && (unsigned)(*s - '0') < 10u) m = m * 10u + (uint64_t)(*s++ - '0');
    frac = (size_t)(s - f0);
  }
  while (s < e && *s == ' ') s++;
  digits += frac;
  if (s != e || digits == 0 || digits > 19 || frac > 22 || m > (UINT64_C(1) << 53)) return false;
  double v = (double)m / pow10[frac];
  *out = neg ? -v : v;
  return true;
}

/* A field as a finite double, the whole field (spaces around it allowed). */
static bool field_number(const pctl_csv_field *f, double *out) {
  if (field_number_fast(f->ptr, f->len, out)) return true;
  char buf[128];
  if (f->len == 0 || f->len >= sizeof buf) return false;
  memcpy(buf, f->ptr, f->len);
  buf[f->len] = '\0';
  char *end;
  errno = 0;
  double v = strtod(buf, &end);
  while (*end == ' ') end++;
  if (end == buf || *end != '\0' || errno == ERANGE || !isfinite(v)) return false;
  *out = v;
  return true;
}

static int grow_rows(km_table *t, bool ids) {
  if (t->rows < t->cap) return 0;
  size_t cap = t->cap ? t->cap * 2 : 1024;
  double *x = realloc(t->x, cap * t->cols * sizeof(double));
  if (x == NULL) return -1;
  t->x = x;
  if (ids) {
    char **p = realloc(t->ids, cap * sizeof(char *));
    if (p == NULL) return -1;
    t->ids = p;
  }
  t->cap = cap;
  return 0;
}

static void free_table(km_table *t) {
  for (size_t i = 0; t->ids != NULL && i < t->rows; i++) free(t->ids[i]);
  free(t->ids);
  for (size_t c = 0; c < t->cols; c++) free(t->names[c]);
  free(t->x);
  memset(t, 0, sizeof *t);
}

static char *dup_field(const pctl_csv_field *f) {
  char *s = malloc(f->len + 1);
  if (s != NULL) {
    memcpy(s, f->ptr, f->len);
    s[f->len] = '\0';
  }
  return s;
}

/* --cols is one CSV record of column names (RFC 4180, so a name with a
 * comma is written "x,pos"), looked up in the header in that order. */
static int cols_columns(pctl_csv *r, const km_opts *o, size_t *idx, km_table *t) {
  lp_memreader mr;
  pctl_csv *list = NULL;
  int st = lp_memreader_init(&mr, o->cols, strlen(o->cols));
  if (st == LP_OK) st = pctl_csv_open(NULL, lp_memreader_read, &mr, &list);
  if (st == LP_OK) st = pctl_csv_next(list);
  size_t n = 0;
  const pctl_csv_field *names = st == PCTL_CSV_ROW ? pctl_csv_fields(list, &n) : NULL;
  int rc = PCTL_EXIT_OK;
  if (names == NULL || n > MAX_COLS || pctl_csv_next(list) != PCTL_CSV_END)
    rc = pctl_usage_error(CMD, "--cols: expected one CSV line of at most %d column names", MAX_COLS);
  for (size_t i = 0; rc == PCTL_EXIT_OK && i < n; i++) {
    char name[256];
    if (names[i].len == 0 || names[i].len >= sizeof name) {
      rc = pctl_usage_error(CMD, "--cols: column name %zu is empty or longer than %zu bytes", i + 1,
                            sizeof name - 1);
      break;
    }
    memcpy(name, names[i].ptr, names[i].len);
    name[names[i].len] = '\0';
    if (pctl_csv_column(r, name, &idx[t->cols]) != LP_OK) {
      rc = pctl_csv_report(r, o->path);
      break;
    }
    t->names[t->cols++] = dup_field(&names[i]);
  }
  pctl_csv_close(list);
  return rc;
}

/* Feature columns: --cols in that order, else every column but --id-col. */
static int choose_columns(pctl_csv *r, const km_opts *o, size_t *idx, km_table *t,
                          size_t *id_index) {
  if (o->id_col != NULL && pctl_csv_column(r, o->id_col, id_index) != LP_OK)
    return pctl_csv_report(r, o->path);
  if (o->cols != NULL) {
    int rc = cols_columns(r, o, idx, t);
    if (rc != PCTL_EXIT_OK) return rc;
  } else {
    for (size_t c = 0; c < pctl_csv_header_count(r); c++) {
      if (o->id_col != NULL && c == *id_index) continue;
      if (t->cols == MAX_COLS) {
        return pctl_data_error(o->path, 1, "more than %d feature columns; choose with --cols",
                               MAX_COLS);
      }
      pctl_csv_field f = pctl_csv_header_name(r, c);
      idx[t->cols] = c;
      t->names[t->cols++] = dup_field(&f);
    }
  }
  if (t->cols == 0) return pctl_data_error(o->path, 1, "no feature columns");
  return PCTL_EXIT_OK;
}

static int read_features(const km_opts *o, km_table *t) {
  FILE *f;
  if (pctl_open_input(o->path, &f, NULL) != PCTL_EXIT_OK) return PCTL_EXIT_FAILURE;
  pctl_csv_config cfg;
  pctl_csv_config_init(&cfg);
  pctl_csv *r;
  int rc = PCTL_EXIT_FAILURE;
  if (pctl_csv_open_file(&cfg, f, &r) != LP_OK) {
    pctl_csv_report(NULL, o->path);
    pctl_close_input(f);
    return rc;
  }
  size_t idx[MAX_COLS], id_index = 0;
  if (pctl_csv_read_header(r) != LP_OK) {
    pctl_csv_report(r, o->path);
  } else if ((rc = choose_columns(r, o, idx, t, &id_index)) == PCTL_EXIT_OK) {
    int st;
    while ((st = pctl_csv_next(r)) == PCTL_CSV_ROW) {
      size_t count;
      const pctl_csv_field *fields = pctl_csv_fields(r, &count);
      if (grow_rows(t, o->id_col != NULL) != 0) {
        pctl_error("out of memory after %zu rows", t->rows);
        rc = PCTL_EXIT_FAILURE;
        break;
      }
      for (size_t c = 0; c < t->cols && rc == PCTL_EXIT_OK; c++) {
        if (!field_number(&fields[idx[c]], &t->x[t->rows * t->cols + c])) {
          pctl_data_error(o->path, pctl_csv_record_line(r), "column '%s' is not a finite number",
                          t->names[c]);
          rc = PCTL_EXIT_FAILURE;
        }
      }
      if (rc != PCTL_EXIT_OK) break;
      if (o->id_col != NULL && (t->ids[t->rows] = dup_field(&fields[id_index])) == NULL) {
        pctl_error("out of memory");
        rc = PCTL_EXIT_FAILURE;
        break;
      }
      t->rows++;
    }
    if (rc == PCTL_EXIT_OK && st != PCTL_CSV_END) {
      pctl_csv_report(r, o->path);
      rc = PCTL_EXIT_FAILURE;
    }
  }
  pctl_csv_close(r);
  pctl_close_input(f);
  return rc;
}

/* --init FILE: k rows of d numbers, with or without a header line. */
static int read_init(const char *path, size_t d, double **out, size_t *k) {
  FILE *f;
  if (pctl_open_input(path, &f, NULL) != PCTL_EXIT_OK) return PCTL_EXIT_FAILURE;
  pctl_csv_config cfg;
  pctl_csv_config_init(&cfg);
  pctl_csv *r;
  if (pctl_csv_open_file(&cfg, f, &r) != LP_OK) {
    pctl_close_input(f);
    return pctl_csv_report(NULL, path);
  }
  size_t cap = 0, rows = 0;
  double *c = NULL;
  int rc = PCTL_EXIT_OK, st = PCTL_CSV_END;
  bool first = true;
  while (rc == PCTL_EXIT_OK && (st = pctl_csv_next(r)) == PCTL_CSV_ROW) {
    size_t count;
    const pctl_csv_field *fields = pctl_csv_fields(r, &count);
    double v;
    if (first && count > 0 && !field_number(&fields[0], &v)) {
      first = false; /* a header line */
      continue;
    }
    first = false;
    if (count != d) {
      pctl_data_error(path, pctl_csv_record_line(r), "%zu values, the features have %zu", count, d);
      rc = PCTL_EXIT_FAILURE;
      break;
    }
    if (rows == cap) {
      cap = cap ? cap * 2 : 16;
      double *nc = realloc(c, cap * d * sizeof(double));
      if (nc == NULL) {
        rc = pctl_data_error(path, pctl_csv_record_line(r), "%s", strerror(ENOMEM));
        break;
      }
      c = nc;
    }
    for (size_t t = 0; t < d && rc == PCTL_EXIT_OK; t++)
      if (!field_number(&fields[t], &c[rows * d + t])) {
        pctl_data_error(path, pctl_csv_record_line(r), "value %zu is not a finite number", t + 1);
        rc = PCTL_EXIT_FAILURE;
      }
    rows++;
  }
  if (rc == PCTL_EXIT_OK && st != PCTL_CSV_END) rc = pctl_csv_report(r, path);
  if (rc == PCTL_EXIT_OK && rows == 0) rc = pctl_data_error(path, 0, "no centroids");
  pctl_csv_close(r);
  pctl_close_input(f);
  if (rc != PCTL_EXIT_OK) {
    free(c);
    return rc;
  }
  *out = c;
  *k = rows;
  return PCTL_EXIT_OK;
}

static int configure(lp_kmeans *h, const km_opts *o, const km_table *t) {
  int rc = lp_kmeans_set_int(h, LP_KMEANS_SCALE, o->scale);
  if (rc == LP_OK) rc = lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM, o->algorithm);
  if (rc == LP_OK) rc = lp_kmeans_set_int(h, LP_KMEANS_SEED, o->seed);
  if (rc == LP_OK && o->k > 0) rc = lp_kmeans_set_int(h, LP_KMEANS_K, o->k);
  if (rc == LP_OK && o->n_init > 0) rc = lp_kmeans_set_int(h, LP_KMEANS_N_INIT, o->n_init);
  if (rc == LP_OK) rc = lp_kmeans_set_int(h, LP_KMEANS_MAX_ITER, o->max_iter);
  if (rc == LP_OK) rc = lp_kmeans_set_double(h, LP_KMEANS_TOL, o->tol);
  if (rc == LP_OK && o->init == NULL) rc = lp_kmeans_set_int(h, LP_KMEANS_INIT, o->init_method);
  if (rc == LP_OK && o->init != NULL) {
    double *c = NULL;
    size_t k = 0;
    if (read_init(o->init, t->cols, &c, &k) != PCTL_EXIT_OK) return PCTL_EXIT_FAILURE;
    if (o->k > 0 && k != (size_t)o->k) {
      free(c);
      return pctl_usage_error(CMD, "--k %lld but %s holds %zu centroids", (long long)o->k, o->init,
                              k);
    }
    rc = lp_kmeans_set_init_centroids(h, c, k, t->cols);
    free(c);
  }
  if (rc != LP_OK) {
    pctl_error("%s", lp_kmeans_errmsg(h));
    return rc == LP_ERANGE ? PCTL_EXIT_USAGE : PCTL_EXIT_FAILURE;
  }
  return PCTL_EXIT_OK;
}

static int write_labels(const km_opts *o, const km_table *t, const uint32_t *labels) {
  pctl_csvout w;
  if (pctl_csvout_open(&w, o->out_labels) != PCTL_EXIT_OK) return PCTL_EXIT_FAILURE;
  pctl_csvout_str(&w, o->id_col != NULL ? o->id_col : "row");
  pctl_csvout_str(&w, "cluster");
  pctl_csvout_end_row(&w);
  for (size_t i = 0; i < t->rows; i++) {
    if (t->ids != NULL)
      pctl_csvout_str(&w, t->ids[i]);
    else
      pctl_csvout_u64(&w, i);
    pctl_csvout_u64(&w, labels[i]);
    pctl_csvout_end_row(&w);
  }
  return pctl_csvout_close(&w);
}

static int write_centroids(const char *path, const km_table *t, const double *c, size_t k) {
  pctl_csvout w;
  if (pctl_csvout_open(&w, path) != PCTL_EXIT_OK) return PCTL_EXIT_FAILURE;
  pctl_csvout_str(&w, "cluster");
  for (size_t j = 0; j < t->cols; j++) pctl_csvout_str(&w, t->names[j]);
  pctl_csvout_end_row(&w);
  for (size_t j = 0; j < k; j++) {
    pctl_csvout_u64(&w, j);
    for (size_t q = 0; q < t->cols; q++) pctl_csvout_double(&w, c[j * t->cols + q]);
    pctl_csvout_end_row(&w);
  }
  return pctl_csvout_close(&w);
}

/* Metrics of the fitted model on the scaled data, on stderr. */
static void summary(lp_kmeans *h, const km_table *t, const double *scaled,
                    const uint32_t *labels) {
  const size_t k = lp_kmeans_k(h), n = t->rows;
  static const char *const names[] = {"auto", "lloyd", "hamerly", "minibatch", "yinyang"};
  char b1[PCTL_DOUBLE_BUF], b2[PCTL_DOUBLE_BUF], b3[PCTL_DOUBLE_BUF];
  fprintf(stderr, "kmeans: n=%zu d=%zu k=%zu algorithm=%s iterations=%u inertia=%s\n", n,
          t->cols, k, names[lp_kmeans_algorithm_used(h)], lp_kmeans_n_iter(h),
          pctl_format_double(b1, lp_kmeans_inertia(h)));
  double sil, db, ch;
  size_t sample = n > 10000 ? 10000 : 0;
  if (lp_kmeans_silhouette(h, scaled, n, t->cols, labels, k, sample, 0, &sil) == LP_OK &&
      lp_kmeans_davies_bouldin(h, scaled, n, t->cols, labels, k, &db) == LP_OK &&
      lp_kmeans_calinski_harabasz(h, scaled, n, t->cols, labels, k, &ch) == LP_OK)
    fprintf(stderr, "kmeans: silhouette%s=%s davies_bouldin=%s calinski_harabasz=%s\n",
            sample ? "(sample 10000)" : "", pctl_format_double(b1, sil),
            pctl_format_double(b2, db), pctl_format_double(b3, ch));
  else
    fprintf(stderr, "kmeans: metrics need 2 <= non-empty clusters <= n - 1\n");
  size_t *sizes = calloc(k, sizeof(size_t));
  if (sizes == NULL) return;
  for (size_t i = 0; i < n; i++) sizes[labels[i]]++;
  fputs("kmeans: cluster sizes", stderr);
  for (size_t j = 0; j < k; j++) fprintf(stderr, " %zu", sizes[j]);
  fputc('\n', stderr);
  free(sizes);
}

static int run_sweep(lp_kmeans *h, const km_opts *o, const km_table *t) {
  size_t rows = o->sweep_max - o->sweep_min + 1, len = rows * LP_KMEANS_SWEEP_COLUMNS;
  double *table = malloc(len * sizeof(double));
  if (table == NULL) return PCTL_EXIT_FAILURE;
  size_t needed;
  int rc = lp_kmeans_sweep(h, t->x, t->rows, t->cols, NULL, o->sweep_min, o->sweep_max, table,
                           len, &needed);
  if (rc != LP_OK) {
    pctl_error("%s", lp_kmeans_errmsg(h));
    free(table);
    return PCTL_EXIT_FAILURE;
  }
  static const char *const header[] = {"k", "inertia", "silhouette", "davies_bouldin",
                                       "calinski_harabasz", "iterations"};
  pctl_csvout w;
  pctl_csvout_stream(&w, stdout, "standard output");
  pctl_csvout_strs(&w, header, PCTL_ARRAY_LEN(header));
  pctl_csvout_end_row(&w);
  for (size_t r = 0; r < rows; r++) {
    const double *v = table + r * LP_KMEANS_SWEEP_COLUMNS;
    for (size_t col = 0; col < LP_KMEANS_SWEEP_COLUMNS; col++) pctl_csvout_double(&w, v[col]);
    pctl_csvout_end_row(&w);
  }
  free(table);
  return pctl_csvout_close(&w);
}

static int run_fit(lp_kmeans *h, const km_opts *o, const km_table *t) {
  if (lp_kmeans_fit(h, t->x, t->rows, t->cols, NULL) != LP_OK) {
    pctl_error("%s: %s", o->path, lp_kmeans_errmsg(h));
    return PCTL_EXIT_FAILURE;
  }
  const size_t k = lp_kmeans_k(h), kd = k * t->cols;
  /* Unscaled features are their own scaled values ((x - 0) / 1 is x for
   * the finite values the fit accepted): no copy for the metrics. */
  const bool unscaled = (uint32_t)o->scale == LP_KMEANS_SCALE_NONE;
  double *c = malloc(kd * sizeof(double));
  double *copy = unscaled ? NULL : malloc(t->rows * t->cols * sizeof(double));
  const double *scaled = unscaled ? t->x : copy;
  uint32_t *labels = malloc((t->rows ? t->rows : 1) * sizeof *labels);
  int rc = PCTL_EXIT_FAILURE;
  size_t needed;
  if (c != NULL && scaled != NULL && labels != NULL &&
      lp_kmeans_centroids(h, LP_KMEANS_SPACE_ORIGINAL, c, kd, &needed) == LP_OK &&
      lp_kmeans_labels(h, labels, t->rows, &needed) == LP_OK &&
      (unscaled || lp_kmeans_transform(h, t->x, t->rows, t->cols, copy) == LP_OK)) {
    summary(h, t, scaled, labels);
    rc = PCTL_EXIT_OK;
    if (o->out_labels != NULL) rc = write_labels(o, t, labels);
    if (rc == PCTL_EXIT_OK && (o->out_centroids != NULL || o->out_labels == NULL))
      rc = write_centroids(o->out_centroids != NULL ? o->out_centroids : "-", t, c, k);
    if (rc == PCTL_EXIT_OK) rc = pctl_finish_stdout();
  }
  if (rc != PCTL_EXIT_OK && (c == NULL || scaled == NULL || labels == NULL))
    pctl_error("out of memory");
  else if (rc != PCTL_EXIT_OK && c != NULL && labels != NULL && scaled != NULL && needed == 0)
    pctl_error("%s", lp_kmeans_errmsg(h));
  free(c);
  free(copy);
  free(labels);
  return rc;
}

static int run(int argc, char **argv) {
  km_opts o;
  int rc = parse_options(argc, argv, &o);
  if (rc != PCTL_EXIT_OK) return rc;
  km_table t;
  memset(&t, 0, sizeof t);
  rc = read_features(&o, &t);
  lp_kmeans *h = NULL;
  if (rc == PCTL_EXIT_OK && lp_kmeans_create(NULL, &h) != LP_OK) rc = PCTL_EXIT_FAILURE;
  if (rc == PCTL_EXIT_OK) rc = configure(h, &o, &t);
  if (rc == PCTL_EXIT_OK) rc = o.sweep ? run_sweep(h, &o, &t) : run_fit(h, &o, &t);
  lp_kmeans_free(h);
  free_table(&t);
  return rc;
}

const pctl_command pctl_cmd_kmeans = {
    "kmeans",
    "--k K [options] FEATURES.csv",
    "segment rows of numeric features with k-means",
    "Reads a CSV file with a header; every column but --id-col is a feature\n"
    "unless --cols chooses them. Writes centroids (original units) to stdout or\n"
    "--out-centroids, labels to --out-labels ('-' = stdout), and a metrics\n"
    "summary (inertia, silhouette, Davies-Bouldin, Calinski-Harabasz, sizes)\n"
    "to stderr. Numbers are printed as the shortest text that reads back to\n"
    "the same double.\n",
    run,
};
