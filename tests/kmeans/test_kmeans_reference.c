/*
 * Reference suite: k-means with default settings (plus k) on the public
 * clustering benchmark sets in ../shared/data/clustering (S1-S4, A1-A3,
 * Unbalance, DIM32, Birch1; see SOURCES.md there). For each set it checks
 * the files against expected_values.csv (SSE at the ground-truth centroids,
 * computed independently by the data's curators), then reports the SSE of
 * the fit relative to the ground truth, the centroid index (CI) against
 * the ground-truth centroids and the ARI against the ground-truth
 * partition. Exits 77 (skip) with a reason when the data is absent.
 * Usage: test_kmeans_reference DATA_DIR [n_init] (default: the library's, 10)
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libprofile.h"

typedef struct matrix {
  double *v;
  size_t rows, cols;
} matrix;

/* Whitespace-separated numbers, one row per line; CRLF and trailing tabs
 * are fine. Returns 0 on success. */
static int read_matrix(const char *path, matrix *m) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return -1;
  size_t cap = 1024, len = 0;
  m->v = malloc(cap * sizeof(double));
  m->rows = 0;
  m->cols = 0;
  char line[4096];
  while (m->v != NULL && fgets(line, sizeof line, f) != NULL) {
    size_t cols = 0;
    char *p = line, *end;
    for (;;) {
      double x = strtod(p, &end);
      if (end == p) break;
      if (len == cap) {
        double *nv = realloc(m->v, (cap *= 2) * sizeof(double));
        if (nv == NULL) break;
        m->v = nv;
      }
      m->v[len++] = x;
      cols++;
      p = end;
    }
    if (cols == 0) continue;
    if (m->cols == 0) m->cols = cols;
    if (cols != m->cols) {
      fclose(f);
      return -1;
    }
    m->rows++;
  }
  fclose(f);
  return m->v != NULL && m->rows > 0 ? 0 : -1;
}

/* A .pa partition: header lines up to a line of dashes, then 1-based labels. */
static int read_partition(const char *path, uint32_t *labels, size_t n) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return -1;
  char line[256];
  int past_header = 0;
  size_t got = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (!past_header) {
      past_header = strncmp(line, "----", 4) == 0;
      continue;
    }
    char *end;
    long v = strtol(line, &end, 10);
    if (end == line) continue;
    if (got < n && v >= 1) labels[got] = (uint32_t)(v - 1);
    got++;
  }
  fclose(f);
  return got == n ? 0 : -1;
}

typedef struct dataset {
  char name[32], data[128], centroids[128], partition[128];
  size_t n, d, k;
  double sse_gt_centroids; /* NaN when the csv has none */
} dataset;

static int split_csv(char *line, char **fields, int max) {
  int n = 0;
  fields[n++] = line;
  for (char *p = line; *p != '\0' && n < max; p++)
    if (*p == ',') {
      *p = '\0';
      fields[n++] = p + 1;
    }
  return n;
}

static double sse_at(const matrix *x, const double *c, size_t k, uint32_t *labels) {
  double total = 0.0;
  for (size_t i = 0; i < x->rows; i++) {
    double best = HUGE_VAL;
    for (size_t j = 0; j < k; j++) {
      double s = 0.0;
      for (size_t t = 0; t < x->cols; t++) {
        double u = x->v[i * x->cols + t] - c[j * x->cols + t];
        s += u * u;
      }
      if (s < best) {
        best = s;
        if (labels != NULL) labels[i] = (uint32_t)j;
      }
    }
    total += best;
  }
  return total;
}

static int run_set(const char *dir, const dataset *s, int64_t n_init) {
  char path[1024];
  matrix x = {0}, gt = {0};
  snprintf(path, sizeof path, "%s/%s", dir, s->data);
  if (read_matrix(path, &x) != 0 || x.rows != s->n || x.cols != s->d) {
    printf("%s: cannot read %s as %zu x %zu\n", s->name, path, s->n, s->d);
    return 1;
  }
  snprintf(path, sizeof path, "%s/%s", dir, s->centroids);
  if (read_matrix(path, &gt) != 0 || gt.rows != s->k || gt.cols != s->d) {
    printf("%s: cannot read %s as %zu x %zu\n", s->name, path, s->k, s->d);
    return 1;
  }
  uint32_t *truth = malloc(s->n * sizeof(uint32_t));
  snprintf(path, sizeof path, "%s/%s", dir, s->partition);
  if (truth == NULL || read_partition(path, truth, s->n) != 0) {
    printf("%s: cannot read partition %s\n", s->name, path);
    return 1;
  }
  int bad = 0;
  const double sse_gt = sse_at(&x, gt.v, s->k, NULL);
  if (!isnan(s->sse_gt_centroids) &&
      fabs(sse_gt - s->sse_gt_centroids) > 1e-6 * s->sse_gt_centroids) {
    printf("%s: SSE at GT centroids %.6e differs from expected_values.csv %.6e\n", s->name,
           sse_gt, s->sse_gt_centroids);
    bad = 1;
  }
  lp_kmeans *h;
  if (lp_kmeans_create(NULL, &h) != LP_OK) return 1;
  lp_kmeans_set_int(h, LP_KMEANS_K, (int64_t)s->k);
  if (n_init > 0) lp_kmeans_set_int(h, LP_KMEANS_N_INIT, n_init);
  int rc = lp_kmeans_fit(h, x.v, s->n, s->d, NULL);
  if (rc != LP_OK) {
    printf("%s: fit failed: %s\n", s->name, lp_kmeans_errmsg(h));
    return 1;
  }
  double *c = malloc(s->k * s->d * sizeof(double)), ari = NAN;
  uint32_t ci = 0, *labels = malloc(s->n * sizeof(uint32_t));
  size_t needed;
  rc = c != NULL && labels != NULL ? LP_OK : LP_ENOMEM;
  if (rc == LP_OK) rc = lp_kmeans_centroids(h, LP_KMEANS_SPACE_ORIGINAL, c, s->k * s->d, &needed);
  if (rc == LP_OK) rc = lp_kmeans_labels(h, labels, s->n, &needed);
  if (rc == LP_OK) rc = lp_kmeans_centroid_index(h, c, s->k, gt.v, s->k, s->d, &ci);
  if (rc == LP_OK) rc = lp_kmeans_adjusted_rand(h, labels, truth, s->n, &ari);
  const double sse = lp_kmeans_inertia(h);
  printf("{\"set\":\"%s\",\"n\":%zu,\"d\":%zu,\"k\":%zu,\"n_init\":%lld,\"sse\":%.6e,"
         "\"sse_gt_centroids\":%.6e,\"sse_relative\":%.4f,\"ci\":%u,\"ari\":%.4f,"
         "\"n_iter\":%u}\n",
         s->name, s->n, s->d, s->k, (long long)(n_init > 0 ? n_init : 10), sse, sse_gt,
         sse / sse_gt, ci, ari, lp_kmeans_n_iter(h));
  /* A local optimum is allowed (CI > 0 is reported, not failed), but the
   * fit must be a sane k-means result: labels match, SSE no worse than
   * twice the ground truth's. */
  if (rc != LP_OK || !(sse <= 2.0 * sse_gt)) bad = 1;
  lp_kmeans_free(h);
  free(c);
  free(labels);
  free(truth);
  free(x.v);
  free(gt.v);
  return bad;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_kmeans_reference DATA_DIR [n_init]\n");
    return 2;
  }
  char dir[512], path[600];
  snprintf(dir, sizeof dir, "%s/clustering", argv[1]);
  const int64_t n_init = argc > 2 ? atoll(argv[2]) : 0;
  snprintf(path, sizeof path, "%s/expected_values.csv", dir);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    printf("SKIP: %s not found (the public clustering benchmark sets are not "
           "available here)\n", path);
    return 77;
  }
  char line[2048];
  int bad = 0, sets = 0;
  if (fgets(line, sizeof line, f) == NULL) bad = 1; /* header */
  while (fgets(line, sizeof line, f) != NULL) {
    char *fld[16];
    if (split_csv(line, fld, 16) < 8) continue;
    dataset s;
    memset(&s, 0, sizeof s);
    if (fld[2][0] == '\0' || fld[3][0] == '\0') continue; /* no GT centroids or partition */
    snprintf(s.name, sizeof s.name, "%s", fld[0]);
    snprintf(s.data, sizeof s.data, "%s", fld[1]);
    snprintf(s.centroids, sizeof s.centroids, "%s", fld[2]);
    snprintf(s.partition, sizeof s.partition, "%s", fld[3]);
    s.n = (size_t)atoll(fld[4]);
    s.d = (size_t)atoll(fld[5]);
    s.k = (size_t)atoll(fld[6]);
    s.sse_gt_centroids = fld[7][0] != '\0' ? atof(fld[7]) : NAN;
    bad |= run_set(dir, &s, n_init);
    sets++;
  }
  fclose(f);
  printf("%d sets, %s\n", sets, bad ? "FAILED" : "ok");
  return bad || sets == 0;
}
