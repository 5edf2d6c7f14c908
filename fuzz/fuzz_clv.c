/*
 * libFuzzer target: lp_clv_load must return an error or a valid handle,
 * never crash, hang or leak, on any input; a handle it accepts must
 * report its parameters, predict for a few customers and save again. The
 * invariant checker (clv_check) must pass after every input, accepted or
 * not.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clv/clv_internal.h"
#include "fuzz_common.h"
#include "libprofile.h"

static void clv_fuzz_check(const lp_clv *h) {
  const char *why = NULL;
  if (clv_check(h, &why) != LP_OK) {
    fprintf(stderr, "fuzz: clv_check: %s\n", why);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp_fuzz_budget budget;
  lp_allocator alloc;
  lp_fuzz_allocator(&budget, &alloc, 16u << 20);
  lp_clv *h;
  if (lp_clv_create(&alloc, &h) != LP_OK) return 0;
  lp_memreader mr;
  if (lp_memreader_init(&mr, data, size) == LP_OK &&
      lp_clv_load(h, lp_memreader_read, &mr) == LP_OK) {
    clv_fuzz_check(h);
    /* the fourth row is outside the domain (t_x > T): for the block with LP_CLV_DATA_NAN_INVALID */
    double x[4] = {0, 2, 6, 1}, tx[4] = {0, 4, 6, 9}, T[4] = {6, 6, 6, 6}, m[4] = {0, 10, 20, 5}, out[4];
    lp_clv_data d = LP_CLV_DATA_INIT;
    d.n = 3;
    d.frequency = x;
    d.recency = tx;
    d.T = T;
    d.monetary = m;
    size_t need;
    for (uint32_t model = LP_CLV_MODEL_BGNBD; model <= LP_CLV_MODEL_GG; model++) {
      double p[16];
      if (lp_clv_params(h, model, LP_CLV_COVARIANCE, p, 16, &need) == LP_OK)
        lp_fuzz_sink((uint64_t)(p[0] > 0.0));
    }
    for (uint32_t what = LP_CLV_PRED_CONDITIONAL; what <= LP_CLV_PRED_DERT; what++) {
      d.n = 3;
      d.flags = 0;
      if (lp_clv_predict(h, what, &d, 2, out, 4, &need) == LP_OK) lp_fuzz_sink((uint64_t)(out[0] > 1.0));
      d.n = 4;
      d.flags = LP_CLV_DATA_NAN_INVALID;
      if (lp_clv_predict(h, what, &d, 2, out, 4, &need) == LP_OK) lp_fuzz_sink((uint64_t)(out[3] == out[3]));
    }
    d.n = 3;
    d.flags = 0;
    double e;
    if (lp_clv_expected(h, 3, &e) == LP_OK) lp_fuzz_sink((uint64_t)(e > 1.0));
    lp_membuf *o;
    if (lp_membuf_create(&alloc, &o) == LP_OK) {
      (void)lp_clv_save(h, lp_membuf_write, o);
      lp_fuzz_sink(lp_membuf_size(o));
      lp_membuf_free(o);
    }
  }
  clv_fuzz_check(h);
  lp_clv_free(h);
  lp_fuzz_check_leaks(&budget);
  return 0;
}

#if defined(LP_FUZZ_MAKE_SEEDS)
/* The seed corpus (fuzz/corpus/clv) was written by this generator:
 *   cc -DLP_FUZZ_MAKE_SEEDS -Iinclude -Isrc fuzz/fuzz_clv.c <library objects> -lm \
 *      -o /tmp/clv_seeds && /tmp/clv_seeds fuzz/corpus/clv
 * Handles with each model fitted or given, plus damaged variants. */
#include <stdio.h>

static int clv_seed_write(const char *dir, const char *name, const uint8_t *p, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL) return 1;
  int bad = fwrite(p, 1, n, f) != n;
  return fclose(f) != 0 || bad;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  double x[12] = {0, 1, 2, 0, 3, 1, 4, 0, 2, 6, 1, 0}, tx[12] = {0, 5, 20, 0, 28, 2, 10, 0, 8, 29, 1, 0};
  double T[12] = {30, 30, 31, 12, 30, 25, 40, 35, 9, 30, 5, 2}, m[12] = {0, 12, 30, 0, 8, 20, 15, 0, 40, 11, 9, 0};
  lp_clv_data d = LP_CLV_DATA_INIT;
  d.n = 12;
  d.frequency = x;
  d.recency = tx;
  d.T = T;
  d.monetary = m;
  static const double bb[4] = {1.2, 0.75, 0.66, 2.78}, pn[4] = {0.55, 10.6, 0.61, 11.7};
  int bad = 0;
  for (int s = 0; s < 5; s++) {
    lp_clv *h;
    lp_membuf *b;
    if (lp_clv_create(NULL, &h) != LP_OK || lp_membuf_create(NULL, &b) != LP_OK) return 1;
    if (s == 0) bad |= lp_clv_fit(h, LP_CLV_MODEL_BGNBD, &d, NULL) != LP_OK;
    if (s == 1) bad |= lp_clv_fit(h, LP_CLV_MODEL_MBGNBD, &d, NULL) != LP_OK;
    if (s <= 2) bad |= lp_clv_fit(h, LP_CLV_MODEL_GG, &d, NULL) != LP_OK;
    if (s == 3) bad |= lp_clv_set_params(h, LP_CLV_MODEL_BGBB, bb, 4) != LP_OK;
    if (s == 4) bad |= lp_clv_set_params(h, LP_CLV_MODEL_PNBD, pn, 4) != LP_OK;
    bad |= lp_clv_save(h, lp_membuf_write, b) != LP_OK;
    static const char *const names[5] = {"bgnbd-gg.lps", "mbgnbd-gg.lps", "gg.lps", "bgbb.lps",
                                         "pnbd.lps"};
    bad |= clv_seed_write(argv[1], names[s], lp_membuf_data(b), lp_membuf_size(b));
    if (s == 0) {
      uint8_t copy[8192];
      size_t n = lp_membuf_size(b);
      if (n > sizeof copy) return 1;
      memcpy(copy, lp_membuf_data(b), n);
      bad |= clv_seed_write(argv[1], "truncated.lps", copy, n / 2);
      copy[n / 2] ^= 8;
      bad |= clv_seed_write(argv[1], "bitflip.lps", copy, n);
    }
    lp_membuf_free(b);
    lp_clv_free(h);
  }
  return bad;
}
#endif
