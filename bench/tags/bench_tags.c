/*
 * Tag benchmark: N profiles (default 10M) x 100 flag tags of mixed density
 * (0.01% .. 60%, every fourth tag clustered in runs of consecutive
 * profiles); audience counts of 4 and 10 terms (time, bytes the plan
 * reads, GB/s), 20 rules evaluated column-wise, save and validated load.
 * One JSON object per line. --quick: 200k profiles.
 * Memory: every line carries the process peak RSS and the RSS its phase
 * added (bench_mem), per profile and per set bit of the 100 tags: what
 * the build, the rules and a loaded copy keep resident, what the queries
 * need beside the data.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef LP_BENCH_ROARING
#include <roaring/roaring.h>
#endif

#include "../bench_util.h"
#include "core/rng.h"
#include "libprofile.h"
#include "tags/tags_internal.h"

#define NTAGS 100

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Geometric from 0.01% (tag 0) to 60% (tag 99): 0.0001 * 6000^(t/99),
 * the power through a short exp series (no libm). */
static double density(int t) {
  double y = (double)t / (NTAGS - 1) * 8.699514748210191; /* ln 6000 */
  double term = 1.0, e = 1.0;
  for (int k = 1; k < 40; k++) {
    term *= y / k;
    e += term;
  }
  return 0.0001 * e;
}

static int build(lp_tags *h, uint32_t n, lp_rng *r) {
  char name[32];
  for (int t = 0; t < NTAGS; t++) {
    lp_tags_def d = LP_TAGS_DEF_INIT;
    snprintf(name, sizeof name, "t%d", t);
    d.name = name;
    if (lp_tags_define(h, &d, NULL) != LP_OK) return 1;
  }
  if (lp_tags_define_attr(h, "spend", LP_TAGS_DECIMAL, 2, NULL) != LP_OK) return 1;
  if (lp_tags_define_attr(h, "visits", LP_TAGS_INT, 0, NULL) != LP_OK) return 1;
  if (lp_tags_define_attr(h, "segment", LP_TAGS_STRING, 0, NULL) != LP_OK) return 1;
  const char *segs[4] = {"gold", "silver", "bronze", "new"};
  for (uint32_t p = 0; p < n; p++) {
    uint64_t id = (uint64_t)p + 1;
    if (lp_tags_set_attr_int(h, id, 0, (int64_t)lp_rng_below(r, 100000)) != LP_OK) return 1;
    if (lp_tags_set_attr_int(h, id, 1, (int64_t)lp_rng_below(r, 50)) != LP_OK) return 1;
    const char *s = segs[lp_rng_below(r, 4)];
    if (lp_tags_set_attr_string(h, id, 2, s, strlen(s)) != LP_OK) return 1;
  }
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  v.expires_at = LP_TAGS_NEVER;
  for (int t = 0; t < NTAGS; t++) {
    double d = density(t);
    uint64_t want = (uint64_t)(d * n);
    if (t % 4 == 3) { /* clustered: runs of 1000..20000 */
      uint64_t done = 0;
      while (done < want) {
        uint64_t len = 1000 + lp_rng_below(r, 19000), start = lp_rng_below(r, n);
        for (uint64_t k = 0; k < len && done < want && start + k < n; k++, done++)
          if (lp_tags_set(h, start + k + 1, (uint32_t)t, &v) != LP_OK) return 1;
      }
    } else {
      uint64_t thr = (uint64_t)(d * 4294967296.0);
      for (uint32_t p = 0; p < n; p++)
        if ((lp_rng_next(r) >> 32) < thr && lp_tags_set(h, (uint64_t)p + 1, (uint32_t)t, &v) != LP_OK) return 1;
    }
  }
  /* run containers where smaller, as a loaded state would have them */
  for (int t = 0; t < NTAGS; t++)
    if (lp_bitmap_run_optimize(&tags_tag_at(h, (uint32_t)t)->has, &h->mem) != LP_OK) return 1;
  return 0;
}

/* Evict the caches between cold runs: touch more than the last level. */
static volatile uint64_t sink;
static void flush_caches(void) {
  static uint64_t *big;
  enum { WORDS = 64u << 17 }; /* 64 MiB */
  if (big == NULL) big = calloc(WORDS, sizeof *big);
  if (big == NULL) return;
  uint64_t s = 0;
  for (size_t i = 0; i < WORDS; i += 8) s += big[i]++;
  sink = s;
}

/* The memory phase of the line being measured, and the data set's size. */
static bench_mem mem;
static uint64_t data_bits;
static uint32_t data_profiles;

/* ,"peak_rss_bytes":..,"phase_rss_bytes":.. and BYTES per profile and per
 * set bit of the data set. */
static void mem_fields(long long bytes) {
  bench_json_mem(&mem);
  bench_json_per_unit("profile", bytes, (double)data_profiles);
  bench_json_per_unit("set_bit", bytes, (double)data_bits);
}

/* terms[] with an operator template: "&" between all terms, or a
 * printf-style query using t%d for each term in order. */
static int bench_count_q(const lp_tags *h, const int *terms, int k, const char *label, int reps,
                         const char *tmpl);

static int bench_count(const lp_tags *h, const int *terms, int k, const char *label, int reps) {
  return bench_count_q(h, terms, k, label, reps, NULL);
}

static int bench_count_q(const lp_tags *h, const int *terms, int k, const char *label, int reps,
                         const char *tmpl) {
  char q[1024];
  size_t len = 0;
  uint64_t bytes = 0;
  for (int i = 0; i < k; i++) bytes += lp_bitmap_size_in_bytes(&tags_tag_at(h, (uint32_t)terms[i])->has);
  if (tmpl == NULL) {
    for (int i = 0; i < k; i++) len += (size_t)snprintf(q + len, sizeof q - len, "%st%d", i ? " & " : "", terms[i]);
  } else {
    int t = 0;
    for (const char *c = tmpl; *c && len + 8 < sizeof q; c++) {
      if (*c == '#') len += (size_t)snprintf(q + len, sizeof q - len, "t%d", terms[t++]);
      else q[len++] = *c;
    }
    q[len] = '\0';
  }
  lp_tags_query qq = LP_TAGS_QUERY_INIT;
  qq.text = q;
  uint64_t n = 0;
  bench_mem_phase(&mem);
  double best = 1e9, total = 0;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    if (lp_tags_count(h, &qq, &n) != LP_OK) return 1;
    double dt = now() - t0;
    total += dt;
    if (dt < best) best = dt;
  }
  double cold_best = 1e9, cold_total = 0;
  for (int r = 0; r < reps; r++) {
    flush_caches();
    double t0 = now();
    if (lp_tags_count(h, &qq, &n) != LP_OK) return 1;
    double dt = now() - t0;
    cold_total += dt;
    if (dt < cold_best) cold_best = dt;
  }
  /* bytes_read: the bitmaps' sizes, an upper bound of what the plan reads
   * (and_many_cardinality skips containers whose keys do not meet) */
  printf("{\"bench\":\"tags_count\",\"terms\":%d,\"label\":\"%s\",\"query\":\"%s\",\"count\":%llu,"
         "\"warm_best_ms\":%.3f,\"warm_mean_ms\":%.3f,\"cold_best_ms\":%.3f,\"cold_mean_ms\":%.3f,"
         "\"bytes_read_max\":%llu,\"cold_gb_per_s\":%.2f",
         k, label, q, (unsigned long long)n, best * 1e3, total / reps * 1e3, cold_best * 1e3,
         cold_total / reps * 1e3, (unsigned long long)bytes, (double)bytes / cold_best / 1e9);
  mem_fields(bench_mem_phase_peak(&mem));
  printf("}\n");
  return 0;
}

#ifdef LP_BENCH_ROARING
/* The same tag bitmaps in CRoaring (run-optimised like ours): bytes per set
 * bit, and the 4-term AND/OR/ANDNOT side by side (cold caches). */
static roaring_bitmap_t *to_roaring(const lp_bitmap *b) {
  roaring_bitmap_t *r = roaring_bitmap_create();
  lp_bitmap_iter it;
  uint32_t buf[4096];
  size_t got;
  lp_bitmap_iter_init(&it, b, 0);
  while ((got = lp_bitmap_iter_next(&it, buf, 4096)) > 0) roaring_bitmap_add_many(r, got, buf);
  roaring_bitmap_run_optimize(r);
  return r;
}

static void vs_roaring(const lp_tags *h, const int *terms) {
  bench_mem_phase(&mem); /* CRoaring's copies of the 100 tags, then the operations */
  roaring_bitmap_t *r[NTAGS];
  size_t rbytes = 0;
  for (int t = 0; t < NTAGS; t++) {
    r[t] = to_roaring(&tags_tag_at(h, (uint32_t)t)->has);
    rbytes += roaring_bitmap_portable_size_in_bytes(r[t]);
  }
  uint64_t bits = 0, ours = 0;
  for (int t = 0; t < NTAGS; t++) {
    bits += lp_bitmap_cardinality(&tags_tag_at(h, (uint32_t)t)->has);
    ours += lp_bitmap_portable_size(&tags_tag_at(h, (uint32_t)t)->has);
  }
  const lp_mem *m = &h->mem;
  const char *ops[3] = {"and", "or", "andnot"};
  for (int op = 0; op < 3; op++) {
    double best_l = 1e9, best_r = 1e9;
    for (int rep = 0; rep < 5; rep++) {
      flush_caches();
      double t0 = now();
      lp_bitmap acc;
      lp_bitmap_init(&acc);
      if (lp_bitmap_copy(&acc, m, &tags_tag_at(h, (uint32_t)terms[0])->has) != LP_OK) return;
      for (int k = 1; k < 4; k++) {
        const lp_bitmap *b = &tags_tag_at(h, (uint32_t)terms[k])->has;
        int rc = op == 0 ? lp_bitmap_and_inplace(&acc, m, b) : op == 1 ? lp_bitmap_or_inplace(&acc, m, b)
                                                                       : lp_bitmap_andnot_inplace(&acc, m, b);
        if (rc != LP_OK) return;
      }
      uint64_t cl = lp_bitmap_cardinality(&acc);
      double dl = now() - t0;
      lp_bitmap_release(&acc, m);
      flush_caches();
      t0 = now();
      roaring_bitmap_t *x = roaring_bitmap_copy(r[terms[0]]);
      for (int k = 1; k < 4; k++) {
        if (op == 0) roaring_bitmap_and_inplace(x, r[terms[k]]);
        else if (op == 1) roaring_bitmap_or_inplace(x, r[terms[k]]);
        else roaring_bitmap_andnot_inplace(x, r[terms[k]]);
      }
      uint64_t cr = roaring_bitmap_get_cardinality(x);
      double dr = now() - t0;
      roaring_bitmap_free(x);
      if (cl != cr) fprintf(stderr, "croaring disagrees on %s: %llu vs %llu\n", ops[op],
                            (unsigned long long)cl, (unsigned long long)cr);
      if (dl < best_l) best_l = dl;
      if (dr < best_r) best_r = dr;
    }
    printf("{\"bench\":\"tags_vs_croaring\",\"op\":\"%s\",\"terms\":4,\"ours_ms\":%.3f,"
           "\"croaring_ms\":%.3f,\"ratio\":%.2f", ops[op], best_l * 1e3, best_r * 1e3, best_l / best_r);
    mem_fields(bench_mem_phase_peak(&mem));
    printf("}\n");
  }
  printf("{\"bench\":\"tags_vs_croaring\",\"portable_bytes_per_set_bit_ours\":%.3f,"
         "\"portable_bytes_per_set_bit_croaring\":%.3f", (double)ours / (double)bits,
         (double)rbytes / (double)bits);
  mem_fields(bench_mem_phase_peak(&mem));
  printf("}\n");
  for (int t = 0; t < NTAGS; t++) roaring_bitmap_free(r[t]);
}
#endif

int main(int argc, char **argv) {
  uint32_t n = 10000000;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) n = 200000;
    else if (strcmp(argv[i], "--profiles") == 0 && i + 1 < argc) n = (uint32_t)strtoul(argv[++i], NULL, 10);
  }
  lp_rng r;
  lp_rng_seed(&r, 42);
  flush_caches(); /* its 64 MiB resident before the first phase */
  bench_mem_phase(&mem);
  lp_tags *h;
  if (lp_tags_create(NULL, &h) != LP_OK) return 1;
  double t0 = now(), c0 = cpu_now();
  if (build(h, n, &r) != 0) {
    fprintf(stderr, "build failed: %s\n", lp_tags_errmsg(h));
    return 1;
  }
  uint64_t bits = 0;
  for (int t = 0; t < NTAGS; t++) bits += lp_bitmap_cardinality(&tags_tag_at(h, (uint32_t)t)->has);
  uint64_t bbytes = lp_tags_bitmap_bytes(h);
  data_bits = bits;
  data_profiles = n;
  printf("{\"bench\":\"tags_build\",\"profiles\":%u,\"tags\":%d,\"set_bits\":%llu,\"bitmap_bytes\":%llu,"
         "\"bytes_per_set_bit\":%.3f,\"wall_s\":%.2f,\"cpu_s\":%.2f",
         n, NTAGS, (unsigned long long)bits, (unsigned long long)bbytes, (double)bbytes / (double)bits,
         now() - t0, cpu_now() - c0);
  /* held: the tags, their bitmaps and the three attribute columns */
  bench_json_bytes("held_rss_bytes", bench_mem_held(&mem));
  mem_fields(bench_mem_held(&mem));
  printf("}\n");
  /* 4 terms: dense, mid, clustered, sparse-ish; 10 terms: a mix */
  const int q4[4] = {99, 80, 63, 50};
  const int q10[10] = {99, 95, 91, 87, 83, 79, 75, 71, 67, 60};
  const int q4d[4] = {99, 98, 97, 96};
  if (bench_count(h, q4, 4, "mixed", 20) || bench_count(h, q4d, 4, "dense", 20) ||
      bench_count(h, q10, 10, "mixed", 20))
    return 1;
  /* operators mixed, non-empty results: ORs and NOTs are materialised */
  const int q4o[4] = {99, 98, 97, 80};
  const int q10o[10] = {99, 95, 98, 94, 90, 97, 93, 89, 85, 60};
  if (bench_count_q(h, q4o, 4, "and-or-not", 20, "# & !# & (# | #)") ||
      bench_count_q(h, q10o, 10, "and-or-not", 20, "(# | #) & (# | #) & !# & (# | # | #) & !# & #"))
    return 1;
#ifdef LP_BENCH_ROARING
  vs_roaring(h, q4d);
#endif
  /* 20 rules over attributes and tags */
  bench_mem_phase(&mem);
  const uint64_t bitmap_bytes_before = lp_tags_bitmap_bytes(h);
  for (int k = 0; k < 20; k++) {
    char rule[256];
    lp_tags_def d = LP_TAGS_DEF_INIT;
    char name[16];
    snprintf(name, sizeof name, "r%d", k);
    d.name = name;
    if (lp_tags_define(h, &d, NULL) != LP_OK) return 1;
    snprintf(rule, sizeof rule, "(spend >= %d.50 and visits < %d) or (t%d and segment == \"%s\")",
             100 * k, 10 + k, 60 + k, k % 2 ? "gold" : "silver");
    if (lp_tags_set_rule(h, (uint32_t)(NTAGS + k), rule) != LP_OK) {
      fprintf(stderr, "rule: %s\n", lp_tags_errmsg(h));
      return 1;
    }
  }
  t0 = now();
  c0 = cpu_now();
  if (lp_tags_evaluate(h, 0) != LP_OK) return 1;
  double wall = now() - t0, cpu = cpu_now() - c0;
  printf("{\"bench\":\"tags_rules\",\"profiles\":%u,\"rules\":20,\"wall_s\":%.3f,\"cpu_s\":%.3f,"
         "\"rule_evals_per_s\":%.0f", n, wall, cpu, 20.0 * n / cpu);
  /* held: the 20 rule tags' bitmaps (in the heap an earlier phase freed,
   * if there is room, so the RSS may not grow: their bytes beside it) */
  printf(",\"rule_bitmap_bytes\":%llu", (unsigned long long)(lp_tags_bitmap_bytes(h) - bitmap_bytes_before));
  bench_json_bytes("held_rss_bytes", bench_mem_held(&mem));
  mem_fields(bench_mem_held(&mem));
  printf("}\n");
  /* save and validated load */
  bench_mem_phase(&mem);
  lp_membuf *mb;
  if (lp_membuf_create(NULL, &mb) != LP_OK) return 1;
  t0 = now();
  if (lp_tags_save(h, lp_membuf_write, mb) != LP_OK) return 1;
  double save_s = now() - t0;
  const long long save_phase = bench_mem_phase_peak(&mem);
  bench_mem_phase(&mem);
  lp_tags *g;
  if (lp_tags_create(NULL, &g) != LP_OK) return 1;
  lp_memreader rd;
  lp_memreader_init(&rd, lp_membuf_data(mb), lp_membuf_size(mb));
  t0 = now();
  c0 = cpu_now();
  if (lp_tags_load(g, lp_memreader_read, &rd) != LP_OK) {
    fprintf(stderr, "load: %s\n", lp_tags_errmsg(g));
    return 1;
  }
  double load_s = now() - t0, load_cpu = cpu_now() - c0;
  printf("{\"bench\":\"tags_state\",\"profiles\":%u,\"bytes\":%zu,\"save_s\":%.3f,\"load_s\":%.3f,"
         "\"load_cpu_s\":%.3f,\"load_gb_per_s\":%.3f",
         n, lp_membuf_size(mb), save_s, load_s, load_cpu, (double)lp_membuf_size(mb) / load_cpu / 1e9);
  /* save: the growing snapshot buffer; then the loaded copy it holds */
  bench_json_bytes("save_phase_rss_bytes", save_phase);
  bench_json_per_unit("profile_save", save_phase, (double)n);
  bench_json_bytes("held_rss_bytes", bench_mem_held(&mem));
  mem_fields(bench_mem_held(&mem));
  printf("}\n");
  lp_membuf_free(mb);
  lp_tags_free(g);
  lp_tags_free(h);
  return 0;
}
