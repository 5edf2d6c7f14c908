/*
 * libFuzzer target: lp_kmeans_load must return an error or a valid model,
 * never crash, hang or leak, on any input; a model it accepts must predict,
 * report its centroids, take a sharded step and save. The invariant checker
 * (km_check) must pass after every input, accepted or not.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "kmeans/check.h"
#include "libprofile.h"

static void km_fuzz_check(const lp_kmeans *h) {
  if (km_check(h) != LP_OK) {
    fprintf(stderr, "fuzz: %s\n", lp_kmeans_errmsg(h));
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp_fuzz_budget budget;
  lp_allocator alloc;
  lp_fuzz_allocator(&budget, &alloc, 64u << 20);
  lp_kmeans *h;
  if (lp_kmeans_create(&alloc, &h) != LP_OK) return 0;
  lp_memreader mr;
  if (lp_memreader_init(&mr, data, size) == LP_OK &&
      lp_kmeans_load(h, lp_memreader_read, &mr) == LP_OK) {
    /* Exercise the loaded model on a few rows of small values. */
    size_t d = lp_kmeans_dim(h);
    double row[8];
    uint32_t label = 0;
    double dist2 = 0;
    for (size_t t = 0; t < 8; t++) row[t] = (double)t * 0.25;
    if (d <= 8 && lp_kmeans_predict(h, row, 1, d, &label, &dist2) == LP_OK)
      lp_fuzz_sink(label + (uint64_t)(dist2 > 1.0));
    size_t needed = 0, k = lp_kmeans_k(h);
    double c[64];
    if (lp_kmeans_centroids(h, LP_KMEANS_SPACE_ORIGINAL, NULL, 0, &needed) == LP_OK &&
        needed == k * d && needed <= 64 &&
        lp_kmeans_centroids(h, LP_KMEANS_SPACE_ORIGINAL, c, 64, &needed) == LP_OK)
      lp_fuzz_sink((uint64_t)(c[0] > 0.0));
    if (d <= 8 && k <= 8) {
      double sums[64] = {0}, ws[8] = {0};
      uint64_t counts[8] = {0};
      if (lp_kmeans_partial_sums(h, row, 1, d, NULL, sums, ws, counts, 8, &needed, NULL,
                                 NULL) == LP_OK)
        (void)lp_kmeans_apply_sums(h, sums, ws, counts, k, d, NULL);
      km_fuzz_check(h);
      static int64_t acc[8 * 9 * LP_KMEANS_ACC_WORDS];
      memset(acc, 0, sizeof acc);
      if (lp_kmeans_partial_sums_exact(h, row, 1, d, NULL, acc, sizeof acc / sizeof acc[0], &needed,
                                       NULL) == LP_OK)
        (void)lp_kmeans_apply_sums_exact(h, acc, needed, NULL);
      km_fuzz_check(h);
    }
    lp_membuf *out;
    if (lp_membuf_create(&alloc, &out) == LP_OK) {
      (void)lp_kmeans_save(h, lp_membuf_write, out);
      lp_fuzz_sink(lp_membuf_size(out));
      lp_membuf_free(out);
    }
  }
  km_fuzz_check(h);
  lp_kmeans_free(h);
  lp_fuzz_check_leaks(&budget);
  return 0;
}

#if defined(LP_FUZZ_MAKE_SEEDS)
/* The seed corpus (fuzz/corpus/kmeans) was written by this generator:
 *   cc -DLP_FUZZ_MAKE_SEEDS -Iinclude fuzz/fuzz_kmeans.c -Lbuild/src -lprofile \
 *      -o /tmp/km_seeds && LD_LIBRARY_PATH=build/src /tmp/km_seeds fuzz/corpus/kmeans
 * Fitted models of several shapes and scalings, plus damaged variants. */
#include <stdio.h>
#include <string.h>

static int km_seed_write(const char *dir, const char *name, const uint8_t *p, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL) return 1;
  int bad = fwrite(p, 1, n, f) != n;
  return fclose(f) != 0 || bad;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  static const struct {
    const char *name;
    size_t k, d;
    int scale;
  } shapes[] = {{"k1d1.lps", 1, 1, 0}, {"k3d2-zscore.lps", 3, 2, 1},
                {"k4d3-minmax.lps", 4, 3, 2}, {"k2d8-log1p.lps", 2, 8, 3}};
  int bad = 0;
  double x[64 * 8];
  for (size_t i = 0; i < 64 * 8; i++) x[i] = (double)((i * 37) % 101) / 7.0;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    lp_kmeans *h;
    lp_membuf *b;
    if (lp_kmeans_create(NULL, &h) != LP_OK || lp_membuf_create(NULL, &b) != LP_OK) return 1;
    bad |= lp_kmeans_set_int(h, LP_KMEANS_K, (int64_t)shapes[s].k) != LP_OK;
    bad |= lp_kmeans_set_int(h, LP_KMEANS_SCALE, shapes[s].scale) != LP_OK;
    bad |= lp_kmeans_fit(h, x, 64, shapes[s].d, NULL) != LP_OK;
    bad |= lp_kmeans_save(h, lp_membuf_write, b) != LP_OK;
    bad |= km_seed_write(argv[1], shapes[s].name, lp_membuf_data(b), lp_membuf_size(b));
    if (s == 1) {
      uint8_t copy[4096];
      size_t n = lp_membuf_size(b);
      if (n > sizeof copy) return 1;
      memcpy(copy, lp_membuf_data(b), n);
      bad |= km_seed_write(argv[1], "truncated.lps", copy, n / 2);
      copy[n / 2] ^= 8;
      bad |= km_seed_write(argv[1], "bitflip.lps", copy, n);
    }
    lp_membuf_free(b);
    lp_kmeans_free(h);
  }
  return bad;
}
#endif
