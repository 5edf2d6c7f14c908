/*
 * CSV reader benchmark: generates a deterministic transactions file in
 * memory (default 200 MB: id, ISO timestamp, amount, quoted description
 * with commas and "" escapes, customer), then measures
 *   1. the reader alone (best of N runs), with each scanning kernel
 *      (byte table, 64-bit words, SSE2; they must give the same fields),
 *   2. the reader plus the timestamp and amount parsers on every row,
 *   3. the timestamp and amount parsers alone, over the same field texts.
 * Prints one JSON object on stdout. Times are CPU seconds of this process
 * (it has one thread), so other load on the machine does not inflate them.
 * Usage: bench_csv [--quick | MEGABYTES [RUNS]]   (--quick: 4 MB, 1 run)
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench_util.h"
#include "csv.h"
#include "decimal.h"
#include "libprofile/io.h"
#include "timeparse.h"

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define AMOUNT_SCALE 2

typedef struct text_buf {
  char *data;
  size_t len, cap;
} text_buf;

static void die(const char *what) {
  fprintf(stderr, "bench_csv: %s\n", what);
  exit(1);
}

static void reserve(text_buf *b, size_t more) {
  if (b->cap - b->len >= more) return;
  size_t cap = b->cap == 0 ? 1 << 20 : b->cap;
  while (cap - b->len < more) cap *= 2;
  char *p = realloc(b->data, cap);
  if (p == NULL) die("out of memory");
  b->data = p;
  b->cap = cap;
}

static void put(text_buf *b, const char *s, size_t n) {
  reserve(b, n);
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

/* xorshift64*: deterministic across platforms. */
static uint64_t next_rand(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * UINT64_C(2685821657736338717);
}

static const char *const words[] = {"widget", "gadget", "blue",   "large",  "refill", "coffee",
                                    "beans",  "monthly", "plan",  "gift",   "card",   "shoe",
                                    "socks",  "express", "delivery", "bundle"};

static void gen_row(text_buf *b, uint64_t id, uint64_t *seed) {
  char tmp[256];
  uint64_t r = next_rand(seed);
  int year = 2020 + (int)(r % 5), month = 1 + (int)((r >> 8) % 12);
  int day = 1 + (int)((r >> 16) % 28), hh = (int)((r >> 24) % 24);
  int mi = (int)((r >> 32) % 60), ss = (int)((r >> 40) % 60);
  uint64_t style = (r >> 48) % 10;
  const char *tz = style < 7 ? "Z" : style < 9 ? "" : "+02:00";
  char sep = style == 7 || style == 8 ? ' ' : 'T';
  uint64_t r2 = next_rand(seed);
  long long cents = (long long)(r2 % 100000) + 1;
  if (r2 % 20 == 0) cents = -cents; /* refunds */
  int n = snprintf(tmp, sizeof tmp, "%" PRIu64 ",%04d-%02d-%02d%c%02d:%02d:%02d%s,%s%lld.%02lld,",
                   id, year, month, day, sep, hh, mi, ss, tz, cents < 0 ? "-" : "",
                   llabs(cents) / 100, llabs(cents) % 100);
  put(b, tmp, (size_t)n);

  /* Description: half plain, half quoted with a comma; some with "". */
  uint64_t r3 = next_rand(seed);
  const char *w1 = words[r3 % 16], *w2 = words[(r3 >> 4) % 16], *w3 = words[(r3 >> 8) % 16];
  if ((r3 >> 12) % 2 == 0) {
    n = snprintf(tmp, sizeof tmp, "%s %s", w1, w2);
  } else if ((r3 >> 13) % 8 == 0) {
    n = snprintf(tmp, sizeof tmp, "\"%s, \"\"%s\"\" %s\"", w1, w2, w3);
  } else {
    n = snprintf(tmp, sizeof tmp, "\"%s %s, %s\"", w1, w2, w3);
  }
  put(b, tmp, (size_t)n);
  n = snprintf(tmp, sizeof tmp, ",C%06u\n", (unsigned)((r3 >> 20) % 1000000));
  put(b, tmp, (size_t)n);
}

typedef struct pass_result {
  uint64_t rows;
  uint64_t checksum;
  uint64_t bad_values;
} pass_result;

typedef struct field_texts {
  text_buf ts, amount;
  size_t *ts_end, *amount_end; /* end offsets, one per row */
} field_texts;

/* One pass over the input. parse_values: also parse timestamp and amount.
 * collect: copy those field texts into *ft (untimed setup for pass 3). */
static pass_result run_scan(const text_buf *in, int parse_values, field_texts *ft,
                            pctl_csv_scan scan) {
  lp_memreader mr;
  if (lp_memreader_init(&mr, in->data, in->len) != LP_OK) die("memreader");
  pctl_csv_config cfg;
  pctl_csv_config_init(&cfg);
  cfg.scan = scan;
  pctl_csv *r;
  if (pctl_csv_open(&cfg, lp_memreader_read, &mr, &r) != LP_OK) die("open");
  if (pctl_csv_read_header(r) != LP_OK) die(pctl_csv_errmsg(r));
  size_t c_ts, c_amount;
  if (pctl_csv_column(r, "timestamp", &c_ts) != LP_OK ||
      pctl_csv_column(r, "amount", &c_amount) != LP_OK)
    die(pctl_csv_errmsg(r));
  pass_result res = {0, 0, 0};
  int rc;
  while ((rc = pctl_csv_next(r)) == PCTL_CSV_ROW) {
    size_t n;
    const pctl_csv_field *f = pctl_csv_fields(r, &n);
    res.rows++;
    if (parse_values) {
      int64_t t, a;
      if (pctl_time_parse(f[c_ts].ptr, f[c_ts].len, PCTL_TIME_AUTO, &t, NULL, 0) != LP_OK ||
          pctl_decimal_parse(f[c_amount].ptr, f[c_amount].len, AMOUNT_SCALE, &a, NULL, 0) != LP_OK) {
        res.bad_values++;
      } else {
        res.checksum += (uint64_t)t ^ (uint64_t)a;
      }
    } else {
      for (size_t i = 0; i < n; i++) res.checksum += f[i].len;
    }
    if (ft != NULL) {
      put(&ft->ts, f[c_ts].ptr, f[c_ts].len);
      put(&ft->amount, f[c_amount].ptr, f[c_amount].len);
      ft->ts_end[res.rows - 1] = ft->ts.len;
      ft->amount_end[res.rows - 1] = ft->amount.len;
    }
  }
  if (rc != PCTL_CSV_END) die(pctl_csv_errmsg(r));
  pctl_csv_close(r);
  return res;
}

static pass_result run_pass(const text_buf *in, int parse_values, field_texts *ft) {
  return run_scan(in, parse_values, ft, PCTL_CSV_SCAN_AUTO);
}

/* Best time of the reader alone with one scanning kernel; the fields must
 * match the automatic kernel's (same checksum). */
static double best_scan(const text_buf *in, int runs, pctl_csv_scan scan, uint64_t checksum) {
  double best = 1e300;
  for (int i = 0; i < runs; i++) {
    double t0 = cpu_now();
    pass_result p = run_scan(in, 0, NULL, scan);
    double dt = cpu_now() - t0;
    if (p.checksum != checksum) die("scanning kernels disagree");
    if (dt < best) best = dt;
  }
  return best;
}

int main(int argc, char **argv) {
  int quick = bench_quick(argc, argv);
  double megabytes = quick ? 4.0 : argc > 1 ? atof(argv[1]) : 200.0;
  int runs = quick ? 1 : argc > 2 ? atoi(argv[2]) : 3;
  if (megabytes <= 0 || runs <= 0) die("usage: bench_csv [--quick | MEGABYTES [RUNS]]");
  size_t target = (size_t)(megabytes * 1e6);

  text_buf in = {NULL, 0, 0};
  const char *header = "id,timestamp,amount,description,customer\n";
  put(&in, header, strlen(header));
  uint64_t seed = UINT64_C(0x2545F4914F6CDD1D), id = 0;
  while (in.len < target) gen_row(&in, ++id, &seed);

  /* 1: reader alone, best of `runs`. */
  double best = 1e300;
  pass_result p1 = {0, 0, 0};
  for (int i = 0; i < runs; i++) {
    double t0 = cpu_now();
    p1 = run_pass(&in, 0, NULL);
    double dt = cpu_now() - t0;
    if (dt < best) best = dt;
  }
  if (p1.rows != id) die("row count mismatch");
  double best_byte = best_scan(&in, runs, PCTL_CSV_SCAN_BYTE, p1.checksum);
  double best_word = best_scan(&in, runs, PCTL_CSV_SCAN_WORD, p1.checksum);
  double best_sse2 = best_scan(&in, runs, PCTL_CSV_SCAN_SSE2, p1.checksum);

  /* 2: reader plus value parsing, best of `runs`. */
  double best2 = 1e300;
  pass_result p2 = {0, 0, 0};
  for (int i = 0; i < runs; i++) {
    double t0 = cpu_now();
    p2 = run_pass(&in, 1, NULL);
    double dt = cpu_now() - t0;
    if (dt < best2) best2 = dt;
  }

  /* 3: the parsers alone, over the collected field texts. */
  field_texts ft = {{NULL, 0, 0}, {NULL, 0, 0}, NULL, NULL};
  ft.ts_end = malloc((size_t)id * sizeof *ft.ts_end);
  ft.amount_end = malloc((size_t)id * sizeof *ft.amount_end);
  if (ft.ts_end == NULL || ft.amount_end == NULL) die("out of memory");
  run_pass(&in, 0, &ft);
  double best_ts = 1e300, best_amount = 1e300;
  uint64_t sum_ts = 0, sum_amount = 0, bad = 0;
  for (int i = 0; i < runs; i++) {
    sum_ts = 0;
    double t0 = cpu_now();
    for (size_t k = 0, start = 0; k < id; start = ft.ts_end[k++]) {
      int64_t t;
      if (pctl_time_parse(ft.ts.data + start, ft.ts_end[k] - start, PCTL_TIME_AUTO, &t, NULL, 0) != LP_OK) bad++;
      sum_ts += (uint64_t)t;
    }
    double dt = cpu_now() - t0;
    if (dt < best_ts) best_ts = dt;
    sum_amount = 0;
    t0 = cpu_now();
    for (size_t k = 0, start = 0; k < id; start = ft.amount_end[k++]) {
      int64_t a;
      if (pctl_decimal_parse(ft.amount.data + start, ft.amount_end[k] - start, AMOUNT_SCALE, &a, NULL, 0) != LP_OK) bad++;
      sum_amount += (uint64_t)a;
    }
    dt = cpu_now() - t0;
    if (dt < best_amount) best_amount = dt;
  }

  double bytes = (double)in.len;
  printf("{\"bench\":\"csv\",\"bytes\":%zu,\"rows\":%" PRIu64 ",\"runs\":%d,"
         "\"seconds\":%.4f,\"mb_per_s\":%.1f,\"mib_per_s\":%.1f,\"rows_per_s\":%.0f,"
         "\"byte_mb_per_s\":%.1f,\"word_mb_per_s\":%.1f,\"sse2_mb_per_s\":%.1f,"
         "\"with_values_seconds\":%.4f,\"with_values_mb_per_s\":%.1f,"
         "\"with_values_rows_per_s\":%.0f,\"bad_values\":%" PRIu64 ","
         "\"timestamps_per_s\":%.0f,\"timestamp_ns\":%.1f,"
         "\"amounts_per_s\":%.0f,\"amount_ns\":%.1f,"
         "\"checksum\":\"%016" PRIx64 "-%016" PRIx64 "-%016" PRIx64 "\","
         "\"peak_rss_bytes\":%lld}\n",
         in.len, p1.rows, runs, best, bytes / 1e6 / best, bytes / 1048576.0 / best,
         (double)p1.rows / best, bytes / 1e6 / best_byte, bytes / 1e6 / best_word,
         bytes / 1e6 / best_sse2, best2, bytes / 1e6 / best2, (double)p2.rows / best2,
         p2.bad_values + bad, (double)id / best_ts, best_ts * 1e9 / (double)id,
         (double)id / best_amount, best_amount * 1e9 / (double)id, p1.checksum, sum_ts,
         sum_amount, bench_peak_rss());

  free(ft.ts.data);
  free(ft.amount.data);
  free(ft.ts_end);
  free(ft.amount_end);
  free(in.data);
  return p2.bad_values + bad == 0 ? 0 : 1;
}
