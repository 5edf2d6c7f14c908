/*
 * Bitmap benchmark: 10M profiles (1M with --quick), 100 bitmaps of mixed
 * density (0.01% .. 60%, every fourth clustered in runs). Prints one JSON
 * object per line: bytes per set bit, AND/OR/ANDNOT time, 4- and 10-term
 * intersection counts with the bytes they read and the GB/s reached,
 * many-way OR, and validated load speed. When built with CRoaring
 * (LP_BENCH_ROARING) every figure is measured on the same data with it too.
 * Memory: every line carries the process peak RSS and the RSS the measured
 * phase added (bench_mem); bitmap_build the RSS the 100 bitmaps hold per
 * set bit and per profile, the other lines the phase's growth per set bit
 * and per profile of the data set (what the operation needs beside it).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench_util.h"
#include "core/bitmap.h"
#include "core/rng.h"

#if defined(LP_BENCH_ROARING)
#  include <roaring/roaring.h>
#endif

#define NBM 100

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t sink;

/* Values of bitmap i: uniform with density d, or clustered in runs. */
static size_t gen_values(lp_rng *r, uint32_t n, double d, int clustered, uint32_t *out) {
  size_t k = 0;
  if (clustered) {
    /* runs of mean length 2000 with gaps to reach the density */
    double mean_run = 2000.0, mean_gap = mean_run * (1.0 - d) / d;
    uint64_t v = (uint64_t)(lp_rng_double(r) * mean_gap);
    while (v < n) {
      uint64_t len = 1 + (uint64_t)(-log(1.0 - lp_rng_double(r)) * mean_run);
      for (uint64_t j = 0; j < len && v < n; j++) out[k++] = (uint32_t)v++;
      v += 1 + (uint64_t)(-log(1.0 - lp_rng_double(r)) * mean_gap);
    }
    return k;
  }
  if (d > 0.2) {
    uint64_t thr = (uint64_t)(d * 18446744073709551615.0);
    for (uint32_t v = 0; v < n; v++)
      if (lp_rng_next(r) < thr) out[k++] = v;
    return k;
  }
  double lq = log(1.0 - d);
  uint64_t v = 0;
  for (;;) {
    v += (uint64_t)(log(1.0 - lp_rng_double(r)) / lq);
    if (v >= n) break;
    out[k++] = (uint32_t)v++;
  }
  return k;
}

/* Bytes an intersection over these bitmaps reads: the containers of every
 * key present in all of them. */
static double touched(const lp_bitmap *const *v, size_t n) {
  double bytes = 0;
  const lp_bitmap *s = v[0];
  for (size_t i = 1; i < n; i++)
    if (v[i]->n < s->n) s = v[i];
  for (uint32_t x = 0; x < s->n; x++) {
    double sum = 0;
    size_t i;
    for (i = 0; i < n; i++) {
      const lp_bitmap *b = v[i];
      uint32_t j = 0;
      while (j < b->n && b->keys[j] < s->keys[x]) j++;
      if (j == b->n || b->keys[j] != s->keys[x]) break;
      const lp_bitmap_container *c = &b->c[j];
      sum += c->kind == LP_BITMAP_BITSET ? 8192.0 : c->kind == LP_BITMAP_ARRAY ? 2.0 * c->n : 4.0 * c->n;
    }
    if (i == n) bytes += sum;
  }
  return bytes;
}

/* ,"peak_rss_bytes":..,"phase_rss_bytes":.. and the phase per set bit and
 * per profile of the data set. */
static void mem_fields(long long peak, long long phase, uint64_t bits, uint32_t n) {
  bench_json_bytes("peak_rss_bytes", peak);
  bench_json_bytes("phase_rss_bytes", phase);
  bench_json_per_unit("set_bit", phase, (double)bits);
  bench_json_per_unit("profile", phase, (double)n);
}

typedef struct query {
  size_t terms;
  int idx[10];
} query;

int main(int argc, char **argv) {
  int quick = bench_quick(argc, argv);
  uint32_t n = quick ? 1000000u : 10000000u;
  int reps = quick ? 3 : 7;
  lp_mem m;
  if (lp_mem_init(&m, NULL) != LP_OK) return 1;
  lp_rng r;
  lp_rng_seed(&r, 4242);
  uint32_t *vals = malloc((size_t)n * sizeof *vals);
  if (!vals) return 1;
  /* resident before the build phase, so that phase measures the bitmaps */
  memset(vals, 0, (size_t)n * sizeof *vals);
  bench_mem mem = {0, 0, 0};
  bench_mem_phase(&mem);
  long long ph;
  static lp_bitmap bm[NBM];
  double dens[NBM];
#if defined(LP_BENCH_ROARING)
  static roaring_bitmap_t *rb[NBM];
  lp_rng r_roaring = r; /* the same values again for CRoaring's own phase */
#endif
  uint64_t total_card = 0;
  size_t total_bytes = 0, total_ser = 0, total_portable = 0;
  for (int i = 0; i < NBM; i++) {
    dens[i] = 1e-4 * pow(6000.0, (double)i / (NBM - 1));
    size_t k = gen_values(&r, n, dens[i], i % 4 == 3, vals);
    lp_bitmap_init(&bm[i]);
    for (size_t j = 0; j < k; j++)
      if (lp_bitmap_add(&bm[i], &m, vals[j]) != LP_OK) return 1;
    if (lp_bitmap_run_optimize(&bm[i], &m) != LP_OK || lp_bitmap_shrink(&bm[i], &m) != LP_OK) return 1;
    total_card += lp_bitmap_cardinality(&bm[i]);
    total_bytes += lp_bitmap_size_in_bytes(&bm[i]) + sizeof(lp_bitmap);
    total_ser += lp_bitmap_serialized_size(&bm[i]);
    total_portable += lp_bitmap_portable_size(&bm[i]);
  }
  const long long build_held = bench_mem_held(&mem), build_phase = bench_mem_phase_peak(&mem);
#if defined(LP_BENCH_ROARING)
  bench_mem_phase(&mem);
  for (int i = 0; i < NBM; i++) {
    size_t k = gen_values(&r_roaring, n, dens[i], i % 4 == 3, vals);
    rb[i] = roaring_bitmap_create();
    roaring_bitmap_add_many(rb[i], k, vals);
    roaring_bitmap_run_optimize(rb[i]);
    roaring_bitmap_shrink_to_fit(rb[i]);
    if (roaring_bitmap_get_cardinality(rb[i]) != lp_bitmap_cardinality(&bm[i])) {
      fprintf(stderr, "cardinality differs from CRoaring on bitmap %d\n", i);
      return 1;
    }
  }
  const long long croaring_held = bench_mem_held(&mem);
#endif
  free(vals);
  printf("{\"bench\":\"bitmap_build\",\"profiles\":%u,\"bitmaps\":%d,\"set_bits\":%llu,"
         "\"memory_bytes\":%zu,\"bytes_per_set_bit\":%.4f,\"serialized_bytes\":%zu,"
         "\"portable_bytes\":%zu",
         n, NBM, (unsigned long long)total_card, total_bytes, (double)total_bytes / (double)total_card,
         total_ser, total_portable);
#if defined(LP_BENCH_ROARING)
  {
    size_t rbytes = 0;
    for (int i = 0; i < NBM; i++) rbytes += roaring_bitmap_portable_size_in_bytes(rb[i]);
    printf(",\"croaring_portable_bytes\":%zu,\"croaring_bytes_per_set_bit\":%.4f", rbytes,
           (double)rbytes / (double)total_card);
    bench_json_bytes("croaring_held_rss_bytes", croaring_held);
    bench_json_per_unit("set_bit_croaring", croaring_held, (double)total_card);
  }
#endif
  /* held: what the bitmaps keep resident; phase: the build's peak growth */
  bench_json_bytes("held_rss_bytes", build_held);
  bench_json_per_unit("set_bit", build_held, (double)total_card);
  bench_json_per_unit("profile", build_held, (double)n);
  bench_json_bytes("peak_rss_bytes", bench_mem_process_peak(&mem));
  bench_json_bytes("phase_rss_bytes", build_phase);
  printf("}\n");

  /* pairwise AND / OR / ANDNOT / XOR over 60 fixed pairs */
  int pa[60], pb[60];
  for (int i = 0; i < 60; i++) {
    pa[i] = (int)lp_rng_below(&r, NBM);
    pb[i] = (int)lp_rng_below(&r, NBM);
  }
  static const char *opname[4] = {"and", "or", "andnot", "xor"};
  for (int op = 0; op < 4; op++) {
    double best = 1e9;
    bench_mem_phase(&mem);
    for (int rep = 0; rep < reps; rep++) {
      double t0 = cpu_now();
      for (int i = 0; i < 60; i++) {
        lp_bitmap o;
        lp_bitmap_init(&o);
        int rc = op == 0   ? lp_bitmap_and(&o, &m, &bm[pa[i]], &bm[pb[i]])
                 : op == 1 ? lp_bitmap_or(&o, &m, &bm[pa[i]], &bm[pb[i]])
                 : op == 2 ? lp_bitmap_andnot(&o, &m, &bm[pa[i]], &bm[pb[i]])
                           : lp_bitmap_xor(&o, &m, &bm[pa[i]], &bm[pb[i]]);
        if (rc != LP_OK) return 1;
        sink += o.n;
        lp_bitmap_release(&o, &m);
      }
      double t = cpu_now() - t0;
      if (t < best) best = t;
    }
    ph = bench_mem_phase_peak(&mem);
    printf("{\"bench\":\"bitmap_%s\",\"pairs\":60,\"us_per_op\":%.2f", opname[op], best / 60 * 1e6);
#if defined(LP_BENCH_ROARING)
    double rbest = 1e9;
    for (int rep = 0; rep < reps; rep++) {
      double t0 = cpu_now();
      for (int i = 0; i < 60; i++) {
        roaring_bitmap_t *o = op == 0   ? roaring_bitmap_and(rb[pa[i]], rb[pb[i]])
                              : op == 1 ? roaring_bitmap_or(rb[pa[i]], rb[pb[i]])
                              : op == 2 ? roaring_bitmap_andnot(rb[pa[i]], rb[pb[i]])
                                        : roaring_bitmap_xor(rb[pa[i]], rb[pb[i]]);
        sink += roaring_bitmap_get_cardinality(o) & 1;
        roaring_bitmap_free(o);
      }
      double t = cpu_now() - t0;
      if (t < rbest) rbest = t;
    }
    printf(",\"croaring_us_per_op\":%.2f,\"ratio_to_croaring\":%.3f", rbest / 60 * 1e6, best / rbest);
#endif
    mem_fields(bench_mem_process_peak(&mem), ph, total_card, n);
    printf("}\n");
  }

  /* and_cardinality of pairs */
  {
    double best = 1e9;
    bench_mem_phase(&mem);
    for (int rep = 0; rep < reps; rep++) {
      double t0 = cpu_now();
      for (int i = 0; i < 60; i++) sink += lp_bitmap_and_cardinality(&bm[pa[i]], &bm[pb[i]]);
      double t = cpu_now() - t0;
      if (t < best) best = t;
    }
    ph = bench_mem_phase_peak(&mem);
    printf("{\"bench\":\"bitmap_and_cardinality\",\"pairs\":60,\"us_per_op\":%.2f", best / 60 * 1e6);
#if defined(LP_BENCH_ROARING)
    double rbest = 1e9;
    for (int rep = 0; rep < reps; rep++) {
      double t0 = cpu_now();
      for (int i = 0; i < 60; i++) sink += roaring_bitmap_and_cardinality(rb[pa[i]], rb[pb[i]]);
      double t = cpu_now() - t0;
      if (t < rbest) rbest = t;
    }
    printf(",\"croaring_us_per_op\":%.2f,\"ratio_to_croaring\":%.3f", rbest / 60 * 1e6, best / rbest);
#endif
    mem_fields(bench_mem_process_peak(&mem), ph, total_card, n);
    printf("}\n");
  }

  /* 4- and 10-term intersection counts: random terms, and the worst case
   * (the densest bitmaps, all bitsets) */
  for (int terms = 4; terms <= 10; terms += 6) {
    for (int worst = 0; worst < 2; worst++) {
      enum { NQ = 40 };
      query q[NQ];
      for (int i = 0; i < NQ; i++) {
        q[i].terms = (size_t)terms;
        for (int t = 0; t < terms; t++) {
          if (worst) q[i].idx[t] = NBM - 1 - t * 2 - (i % 2);
          else q[i].idx[t] = (int)lp_rng_below(&r, NBM);
        }
      }
      double bytes = 0;
      for (int i = 0; i < NQ; i++) {
        const lp_bitmap *v[10];
        for (int t = 0; t < terms; t++) v[t] = &bm[q[i].idx[t]];
        bytes += touched(v, (size_t)terms);
      }
      double best = 1e9, worst_q = 0;
      bench_mem_phase(&mem);
      for (int rep = 0; rep < reps; rep++) {
        double t0 = cpu_now();
        for (int i = 0; i < NQ; i++) {
          const lp_bitmap *v[10];
          for (int t = 0; t < terms; t++) v[t] = &bm[q[i].idx[t]];
          double q0 = cpu_now();
          sink += lp_bitmap_and_many_cardinality(v, (size_t)terms);
          double dq = cpu_now() - q0;
          if (rep == reps - 1 && dq > worst_q) worst_q = dq;
        }
        double t = cpu_now() - t0;
        if (t < best) best = t;
      }
      ph = bench_mem_phase_peak(&mem);
      /* on the densest set every container is a bitset read whole, so the
       * container bytes are the bytes read; on random sets the array
       * filters read less, and only the container bytes are shown */
      printf("{\"bench\":\"bitmap_and_count\",\"terms\":%d,\"set\":\"%s\",\"queries\":%d,"
             "\"ms_per_query\":%.4f,\"ms_slowest_query\":%.4f,\"container_bytes_per_query\":%.0f",
             terms, worst ? "densest" : "random", NQ, best / NQ * 1e3, worst_q * 1e3, bytes / NQ);
      if (worst) printf(",\"bytes_read_per_query\":%.0f,\"gb_per_s\":%.2f", bytes / NQ, bytes / best / 1e9);
#if defined(LP_BENCH_ROARING)
      double rbest = 1e9;
      for (int rep = 0; rep < reps; rep++) {
        double t0 = cpu_now();
        for (int i = 0; i < NQ; i++) {
          /* CRoaring has no many-way count: and, and_inplace, and_cardinality */
          roaring_bitmap_t *t = roaring_bitmap_and(rb[q[i].idx[0]], rb[q[i].idx[1]]);
          for (int x = 2; x < terms - 1; x++) roaring_bitmap_and_inplace(t, rb[q[i].idx[x]]);
          sink += roaring_bitmap_and_cardinality(t, rb[q[i].idx[terms - 1]]);
          roaring_bitmap_free(t);
        }
        double t = cpu_now() - t0;
        if (t < rbest) rbest = t;
      }
      printf(",\"croaring_ms_per_query\":%.4f,\"ratio_to_croaring\":%.3f", rbest / NQ * 1e3, best / rbest);
#endif
      mem_fields(bench_mem_process_peak(&mem), ph, total_card, n);
      printf("}\n");
    }
  }

  /* many-way OR of 10 */
  {
    const lp_bitmap *v[10];
    for (int t = 0; t < 10; t++) v[t] = &bm[t * 10 + 5];
    double best = 1e9;
    bench_mem_phase(&mem);
    for (int rep = 0; rep < reps; rep++) {
      lp_bitmap o;
      lp_bitmap_init(&o);
      double t0 = cpu_now();
      if (lp_bitmap_or_many(&o, &m, v, 10) != LP_OK) return 1;
      double t = cpu_now() - t0;
      sink += o.n;
      lp_bitmap_release(&o, &m);
      if (t < best) best = t;
    }
    ph = bench_mem_phase_peak(&mem);
    printf("{\"bench\":\"bitmap_or_many\",\"inputs\":10,\"ms\":%.3f", best * 1e3);
#if defined(LP_BENCH_ROARING)
    const roaring_bitmap_t *rv[10];
    for (int t = 0; t < 10; t++) rv[t] = rb[t * 10 + 5];
    double rbest = 1e9;
    for (int rep = 0; rep < reps; rep++) {
      double t0 = cpu_now();
      roaring_bitmap_t *o = roaring_bitmap_or_many(10, rv);
      double t = cpu_now() - t0;
      roaring_bitmap_free(o);
      if (t < rbest) rbest = t;
    }
    printf(",\"croaring_ms\":%.3f,\"ratio_to_croaring\":%.3f", rbest * 1e3, best / rbest);
#endif
    mem_fields(bench_mem_process_peak(&mem), ph, total_card, n);
    printf("}\n");
  }

  /* validated load of all 100 bitmaps, own and portable format */
  for (int own = 1; own >= 0; own--) {
    size_t total = own ? total_ser : total_portable;
    bench_mem_phase(&mem); /* the serialised bytes and one loaded copy */
    uint8_t *buf = malloc(total);
    if (!buf) return 1;
    size_t off = 0;
    for (int i = 0; i < NBM; i++) {
      if (own) lp_bitmap_serialize(&bm[i], buf + off);
      else lp_bitmap_portable_serialize(&bm[i], buf + off);
      off += own ? lp_bitmap_serialized_size(&bm[i]) : lp_bitmap_portable_size(&bm[i]);
    }
    double best = 1e9;
    for (int rep = 0; rep < reps; rep++) {
      static lp_bitmap out[NBM];
      double t0 = cpu_now();
      off = 0;
      for (int i = 0; i < NBM; i++) {
        size_t used;
        lp_bitmap_init(&out[i]);
        int rc = own ? lp_bitmap_deserialize(&out[i], &m, buf + off, total - off, &used)
                     : lp_bitmap_portable_deserialize(&out[i], &m, buf + off, total - off, &used);
        if (rc != LP_OK) return 1;
        off += used;
      }
      double t = cpu_now() - t0;
      for (int i = 0; i < NBM; i++) lp_bitmap_release(&out[i], &m);
      if (t < best) best = t;
    }
    ph = bench_mem_phase_peak(&mem);
    printf("{\"bench\":\"bitmap_load\",\"format\":\"%s\",\"bytes\":%zu,\"ms\":%.3f,\"gb_per_s\":%.2f",
           own ? "own" : "portable", total, best * 1e3, (double)total / best / 1e9);
#if defined(LP_BENCH_ROARING)
    if (!own) {
      double rbest = 1e9;
      for (int rep = 0; rep < reps; rep++) {
        static roaring_bitmap_t *ro[NBM];
        double t0 = cpu_now();
        off = 0;
        for (int i = 0; i < NBM; i++) {
          ro[i] = roaring_bitmap_portable_deserialize_safe((const char *)buf + off, total - off);
          if (!ro[i]) return 1;
          off += roaring_bitmap_portable_size_in_bytes(ro[i]);
        }
        double t = cpu_now() - t0;
        for (int i = 0; i < NBM; i++) roaring_bitmap_free(ro[i]);
        if (t < rbest) rbest = t;
      }
      printf(",\"croaring_ms\":%.3f,\"croaring_gb_per_s\":%.2f", rbest * 1e3, (double)total / rbest / 1e9);
    }
#endif
    mem_fields(bench_mem_process_peak(&mem), ph, total_card, n);
    printf("}\n");
    free(buf);
  }
  /* single-core streaming bandwidth of this machine, for the GB/s above */
  {
    size_t words = 64u << 20 >> 3;
    bench_mem_phase(&mem); /* a fixed 64 MiB: no per-unit figure */
    uint64_t *big = malloc(words * 8);
    if (!big) return 1;
    for (size_t i = 0; i < words; i++) big[i] = i * 0x9e3779b97f4a7c15ull;
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
      uint64_t acc = 0;
      double t0 = cpu_now();
      for (size_t i = 0; i < words; i++) acc += big[i];
      double t = cpu_now() - t0;
      sink += acc;
      if (t < best) best = t;
    }
    printf("{\"bench\":\"bitmap_memory_read\",\"bytes\":%zu,\"gb_per_s\":%.2f", words * 8,
           (double)(words * 8) / best / 1e9);
    bench_json_mem(&mem);
    printf("}\n");
    free(big);
  }
  for (int i = 0; i < NBM; i++) {
    lp_bitmap_release(&bm[i], &m);
#if defined(LP_BENCH_ROARING)
    roaring_bitmap_free(rb[i]);
#endif
  }
  fprintf(stderr, "sink %llu\n", (unsigned long long)(sink & 1));
  return 0;
}
