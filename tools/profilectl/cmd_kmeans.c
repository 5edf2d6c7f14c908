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
#include "libprofile.h"

#define CMD "kmeans"
#define MAX_COLS 256

typedef struct km_opts {
  const char *path, *cols, *id_col, *init, *out_labels, *out_centroids;
  size_t k, n_init, max_iter, sweep_min, sweep_max;
  int64_t seed;
  int scale, algorithm, init_method;
  double tol;
  bool has_k, has_n_init, has_max_iter, has_tol, sweep;
} km_opts;

typedef struct km_table {
  double *x;
  size_t rows, cols, cap;
  char **ids; /* rows entries when --id-col is given */
  char *names[MAX_COLS];
} km_table;

static int pick(const char *v, const char *const *names, size_t n, const char *opt, int *out) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v, names[i]) == 0) {
      *out = (int)i;
      return PCTL_EXIT_OK;
    }
  return pctl_usage_error(CMD, "%s: unknown value '%s'", opt, v);
}

static int parse_double(const char *v, const char *opt, double *out) {
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (end == v || *end != '\0' || errno != 0 || !isfinite(d) || d < 0)
    return pctl_usage_error(CMD, "%s: '%s' is not a non-negative number", opt, v);
  *out = d;
  return PCTL_EXIT_OK;
}

static int parse_sweep(const char *v, km_opts *o) {
  const char *dots = strstr(v, "..");
  char lo[32];
  if (dots == NULL || (size_t)(dots - v) >= sizeof lo)
    return pctl_usage_error(CMD, "--sweep: expected KMIN..KMAX, not '%s'", v);
  memcpy(lo, v, (size_t)(dots - v));
  lo[dots - v] = '\0';
  char *e1, *e2;
  unsigned long long a = strtoull(lo, &e1, 10), b = strtoull(dots + 2, &e2, 10);
  if (*lo == '\0' || *e1 != '\0' || dots[2] == '\0' || *e2 != '\0' || a < 1 || a > b ||
      b > LP_KMEANS_MAX_K)
    return pctl_usage_error(CMD, "--sweep: expected 1 <= KMIN <= KMAX, not '%s'", v);
  o->sweep = true;
  o->sweep_min = (size_t)a;
  o->sweep_max = (size_t)b;
  return PCTL_EXIT_OK;
}

static int parse_options(int argc, char **argv, km_opts *o) {
  static const char *const scales[] = {"none", "zscore", "minmax", "log1p"};
  static const char *const algos[] = {"auto", "lloyd", "hamerly", "minibatch"};
  memset(o, 0, sizeof *o);
  pctl_args a;
  pctl_args_init(&a, argc, argv);
  const char *arg, *v = NULL;
  bool option;
  int rc = PCTL_EXIT_OK;
  while (rc == PCTL_EXIT_OK && pctl_args_next(&a, &arg, &option)) {
    if (!option) {
      if (o->path != NULL) return pctl_usage_error(CMD, "only one FILE may be given");
      o->path = arg;
      continue;
    }
    rc = pctl_args_value(&a, arg, &v);
    if (rc != PCTL_EXIT_OK) break;
    if (pctl_args_is(arg, "--k")) {
      rc = pctl_args_size(&a, "--k", v, 1, &o->k);
      o->has_k = true;
    } else if (pctl_args_is(arg, "--cols")) {
      o->cols = v;
    } else if (pctl_args_is(arg, "--id-col")) {
      o->id_col = v;
    } else if (pctl_args_is(arg, "--scale")) {
      rc = pick(v, scales, 4, "--scale", &o->scale);
    } else if (pctl_args_is(arg, "--init")) {
      if (strcmp(v, "kmeans++") == 0)
        o->init_method = LP_KMEANS_INIT_KMEANSPP;
      else if (strcmp(v, "random") == 0)
        o->init_method = LP_KMEANS_INIT_RANDOM;
      else
        o->init = v, o->init_method = LP_KMEANS_INIT_GIVEN;
    } else if (pctl_args_is(arg, "--n-init")) {
      rc = pctl_args_size(&a, "--n-init", v, 1, &o->n_init);
      o->has_n_init = true;
    } else if (pctl_args_is(arg, "--seed")) {
      char *end;
      errno = 0;
      o->seed = (int64_t)strtoull(v, &end, 10);
      if (*v == '\0' || *end != '\0' || errno != 0)
        rc = pctl_usage_error(CMD, "--seed: '%s' is not an unsigned integer", v);
    } else if (pctl_args_is(arg, "--algorithm")) {
      rc = pick(v, algos, 4, "--algorithm", &o->algorithm);
    } else if (pctl_args_is(arg, "--max-iter")) {
      rc = pctl_args_size(&a, "--max-iter", v, 1, &o->max_iter);
      o->has_max_iter = true;
    } else if (pctl_args_is(arg, "--tol")) {
      rc = parse_double(v, "--tol", &o->tol);
      o->has_tol = true;
    } else if (pctl_args_is(arg, "--out-labels")) {
      o->out_labels = v;
    } else if (pctl_args_is(arg, "--out-centroids")) {
      o->out_centroids = v;
    } else if (pctl_args_is(arg, "--sweep")) {
      rc = parse_sweep(v, o);
    } else {
      return pctl_usage_error(CMD, "unknown option '%s'", arg);
    }
  }
  if (rc != PCTL_EXIT_OK) return rc;
  if (o->path == NULL) return pctl_usage_error(CMD, "missing FILE");
  if (!o->has_k && !o->sweep && o->init == NULL)
    return pctl_usage_error(CMD, "--k is required (or --sweep, or --init FILE)");
  if (o->sweep && o->init != NULL)
    return pctl_usage_error(CMD, "--sweep cannot be combined with --init FILE");
  return PCTL_EXIT_OK;
}

/* A field as a finite double, the whole field (spaces around it allowed). */
static bool field_number(const pctl_csv_field *f, double *out) {
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

/* Feature columns: --cols in that order, else every column but --id-col. */
static int choose_columns(pctl_csv *r, const km_opts *o, size_t *idx, km_table *t,
                          size_t *id_index) {
  if (o->id_col != NULL && pctl_csv_column(r, o->id_col, id_index) != LP_OK) {
    pctl_error("%s: %s", o->path, pctl_csv_errmsg(r));
    return PCTL_EXIT_FAILURE;
  }
  if (o->cols != NULL) {
    const char *p = o->cols;
    while (*p != '\0') {
      const char *comma = strchr(p, ',');
      size_t len = comma ? (size_t)(comma - p) : strlen(p);
      char name[256];
      if (len == 0 || len >= sizeof name || t->cols == MAX_COLS)
        return pctl_usage_error(CMD, "--cols: bad or too many column names");
      memcpy(name, p, len);
      name[len] = '\0';
      if (pctl_csv_column(r, name, &idx[t->cols]) != LP_OK) {
        pctl_error("%s: %s", o->path, pctl_csv_errmsg(r));
        return PCTL_EXIT_FAILURE;
      }
      pctl_csv_field named = {name, len};
      t->names[t->cols++] = dup_field(&named);
      p += len + (comma != NULL);
    }
  } else {
    for (size_t c = 0; c < pctl_csv_header_count(r); c++) {
      if (o->id_col != NULL && c == *id_index) continue;
      if (t->cols == MAX_COLS) {
        pctl_error("%s: more than %d feature columns; choose with --cols", o->path, MAX_COLS);
        return PCTL_EXIT_FAILURE;
      }
      pctl_csv_field f = pctl_csv_header_name(r, c);
      idx[t->cols] = c;
      t->names[t->cols++] = dup_field(&f);
    }
  }
  if (t->cols == 0) {
    pctl_error("%s: no feature columns", o->path);
    return PCTL_EXIT_FAILURE;
  }
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
    pctl_error("%s: cannot start reading", o->path);
    pctl_close_input(f);
    return rc;
  }
  size_t idx[MAX_COLS], id_index = 0;
  if (pctl_csv_read_header(r) != LP_OK) {
    pctl_error("%s: %s", o->path, pctl_csv_errmsg(r));
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
          pctl_error("%s: line %llu: column '%s' is not a finite number", o->path,
                     (unsigned long long)pctl_csv_record_line(r), t->names[c]);
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
      pctl_error("%s: %s", o->path, pctl_csv_errmsg(r));
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
    return PCTL_EXIT_FAILURE;
  }
  size_t cap = 0, rows = 0;
  double *c = NULL;
  int rc = PCTL_EXIT_OK, st;
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
      pctl_error("%s: line %llu: %zu values, the features have %zu", path,
                 (unsigned long long)pctl_csv_record_line(r), count, d);
      rc = PCTL_EXIT_FAILURE;
      break;
    }
    if (rows == cap) {
      cap = cap ? cap * 2 : 16;
      double *nc = realloc(c, cap * d * sizeof(double));
      if (nc == NULL) {
        rc = PCTL_EXIT_FAILURE;
        break;
      }
      c = nc;
    }
    for (size_t t = 0; t < d && rc == PCTL_EXIT_OK; t++)
      if (!field_number(&fields[t], &c[rows * d + t])) {
        pctl_error("%s: line %llu: value %zu is not a finite number", path,
                   (unsigned long long)pctl_csv_record_line(r), t + 1);
        rc = PCTL_EXIT_FAILURE;
      }
    rows++;
  }
  if (rc == PCTL_EXIT_OK && rows == 0) {
    pctl_error("%s: no centroids", path);
    rc = PCTL_EXIT_FAILURE;
  }
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
  if (rc == LP_OK && o->has_k) rc = lp_kmeans_set_int(h, LP_KMEANS_K, (int64_t)o->k);
  if (rc == LP_OK && o->has_n_init) rc = lp_kmeans_set_int(h, LP_KMEANS_N_INIT, (int64_t)o->n_init);
  if (rc == LP_OK && o->has_max_iter)
    rc = lp_kmeans_set_int(h, LP_KMEANS_MAX_ITER, (int64_t)o->max_iter);
  if (rc == LP_OK && o->has_tol) rc = lp_kmeans_set_double(h, LP_KMEANS_TOL, o->tol);
  if (rc == LP_OK && o->init == NULL) rc = lp_kmeans_set_int(h, LP_KMEANS_INIT, o->init_method);
  if (rc == LP_OK && o->init != NULL) {
    double *c;
    size_t k;
    if (read_init(o->init, t->cols, &c, &k) != PCTL_EXIT_OK) return PCTL_EXIT_FAILURE;
    if (o->has_k && k != o->k) {
      free(c);
      return pctl_usage_error(CMD, "--k %zu but %s holds %zu centroids", o->k, o->init, k);
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

static FILE *open_output(const char *path) {
  if (strcmp(path, "-") == 0) return stdout;
  FILE *f = fopen(path, "wb");
  if (f == NULL) pctl_error("%s: cannot open for writing: %s", path, strerror(errno));
  return f;
}

static int close_output(FILE *f, const char *path) {
  if (f == stdout) return PCTL_EXIT_OK;
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    pctl_error("%s: write failed", path);
    return PCTL_EXIT_FAILURE;
  }
  return PCTL_EXIT_OK;
}

static int write_labels(const km_opts *o, const km_table *t, const uint32_t *labels) {
  FILE *f = open_output(o->out_labels);
  if (f == NULL) return PCTL_EXIT_FAILURE;
  fprintf(f, "%s,cluster\n", o->id_col != NULL ? o->id_col : "row");
  for (size_t i = 0; i < t->rows; i++) {
    if (t->ids != NULL)
      fprintf(f, "%s,%u\n", t->ids[i], labels[i]);
    else
      fprintf(f, "%zu,%u\n", i, labels[i]);
  }
  return close_output(f, o->out_labels);
}

static int write_centroids(const char *path, const km_table *t, const double *c, size_t k) {
  FILE *f = open_output(path);
  if (f == NULL) return PCTL_EXIT_FAILURE;
  fputs("cluster", f);
  for (size_t j = 0; j < t->cols; j++) fprintf(f, ",%s", t->names[j]);
  fputc('\n', f);
  for (size_t j = 0; j < k; j++) {
    fprintf(f, "%zu", j);
    for (size_t q = 0; q < t->cols; q++) fprintf(f, ",%.17g", c[j * t->cols + q]);
    fputc('\n', f);
  }
  return close_output(f, path);
}

/* Metrics of the fitted model on the scaled data, on stderr. */
static void summary(lp_kmeans *h, const km_table *t, const double *scaled) {
  const size_t k = lp_kmeans_k(h), n = t->rows;
  const uint32_t *labels = lp_kmeans_labels(h, NULL);
  static const char *const names[] = {"auto", "lloyd", "hamerly", "minibatch"};
  fprintf(stderr, "kmeans: n=%zu d=%zu k=%zu algorithm=%s iterations=%u inertia=%.10g\n", n,
          t->cols, k, names[lp_kmeans_algorithm_used(h)], lp_kmeans_n_iter(h),
          lp_kmeans_inertia(h));
  double sil, db, ch;
  size_t sample = n > 10000 ? 10000 : 0;
  if (lp_kmeans_silhouette(h, scaled, n, t->cols, labels, k, sample, 0, &sil) == LP_OK &&
      lp_kmeans_davies_bouldin(h, scaled, n, t->cols, labels, k, &db) == LP_OK &&
      lp_kmeans_calinski_harabasz(h, scaled, n, t->cols, labels, k, &ch) == LP_OK)
    fprintf(stderr, "kmeans: silhouette%s=%.6f davies_bouldin=%.6f calinski_harabasz=%.6f\n",
            sample ? "(sample 10000)" : "", sil, db, ch);
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
  int rc = lp_kmeans_sweep(h, t->x, t->rows, t->cols, NULL, o->sweep_min, o->sweep_max, table, len);
  if (rc != LP_OK) {
    pctl_error("%s", lp_kmeans_errmsg(h));
    free(table);
    return PCTL_EXIT_FAILURE;
  }
  printf("k,inertia,silhouette,davies_bouldin,calinski_harabasz,iterations\n");
  for (size_t r = 0; r < rows; r++) {
    const double *v = table + r * LP_KMEANS_SWEEP_COLUMNS;
    printf("%.0f,%.10g,%.6f,%.6f,%.6f,%.0f\n", v[LP_KMEANS_SWEEP_K], v[LP_KMEANS_SWEEP_INERTIA],
           v[LP_KMEANS_SWEEP_SILHOUETTE], v[LP_KMEANS_SWEEP_DAVIES_BOULDIN],
           v[LP_KMEANS_SWEEP_CALINSKI_HARABASZ], v[LP_KMEANS_SWEEP_N_ITER]);
  }
  free(table);
  return pctl_finish_stdout();
}

static int run_fit(lp_kmeans *h, const km_opts *o, const km_table *t) {
  if (lp_kmeans_fit(h, t->x, t->rows, t->cols, NULL) != LP_OK) {
    pctl_error("%s: %s", o->path, lp_kmeans_errmsg(h));
    return PCTL_EXIT_FAILURE;
  }
  const size_t k = lp_kmeans_k(h), kd = k * t->cols;
  double *c = malloc(kd * sizeof(double)), *scaled = malloc(t->rows * t->cols * sizeof(double));
  int rc = PCTL_EXIT_FAILURE;
  if (c != NULL && scaled != NULL &&
      lp_kmeans_centroids(h, LP_KMEANS_SPACE_ORIGINAL, c, kd) == LP_OK &&
      lp_kmeans_transform(h, t->x, t->rows, t->cols, scaled) == LP_OK) {
    summary(h, t, scaled);
    rc = PCTL_EXIT_OK;
    if (o->out_labels != NULL) rc = write_labels(o, t, lp_kmeans_labels(h, NULL));
    if (rc == PCTL_EXIT_OK && (o->out_centroids != NULL || o->out_labels == NULL))
      rc = write_centroids(o->out_centroids != NULL ? o->out_centroids : "-", t, c, k);
    if (rc == PCTL_EXIT_OK) rc = pctl_finish_stdout();
  }
  free(c);
  free(scaled);
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
    "to stderr.\n\n"
    "  --k K                 number of clusters\n"
    "  --cols C1,C2,...      feature columns, in this order\n"
    "  --id-col C            column copied to the labels file (else row number)\n"
    "  --scale S             none | zscore | minmax | log1p (default none)\n"
    "  --init I              kmeans++ | random | FILE of k centroid rows\n"
    "  --n-init N            restarts, lowest inertia wins (default 10)\n"
    "  --seed S              unsigned seed (default 0)\n"
    "  --algorithm A         auto | lloyd | hamerly | minibatch (default auto)\n"
    "  --max-iter N          most iterations (default 300)\n"
    "  --tol X               relative centroid-shift tolerance (default 1e-4)\n"
    "  --out-labels FILE     write 'id,cluster' rows\n"
    "  --out-centroids FILE  write 'cluster,features...' rows\n"
    "  --sweep KMIN..KMAX    print a table of metrics per k instead of fitting one\n",
    run,
};
