/*
 * RFM benchmark: ingest throughput of a synthetic transaction stream,
 * time to score every customer, memory per customer and per transaction.
 * Prints one JSON object per line.
 *   bench_rfm --quick    10 k customers / 100 k transactions (CI)
 *   bench_rfm            1 M customers / 10 M transactions
 *   bench_rfm --full     10 M customers / 100 M transactions
 *   bench_rfm --customers=N --transactions=M [--no-snapshot]
 *                        any size, e.g. 10 M customers with few transactions
 *                        to time scoring without the long ingest
 * Then the same number of transactions again, grouped by customer and in
 * time order within each (an export sorted by customer, or sorted runs
 * merged): `rfm_ingest_grouped`.
 * After scoring it times the exact merges (a shard of a tenth of the
 * transactions merged in, then identity merges of up to 100 k profile
 * pairs) and the invariant checker over the merged state.
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <string.h>

#include "../bench_util.h"
#include "core/rng.h"
#include "libprofile.h"
#include "rfm/rfm_check.h"
#include "rfm/rfm_internal.h"

#define BATCH 65536
#define DAY INT64_C(86400)
#define START INT64_C(1672531200) /* 2023-01-01 */

/* Orders of 1-4 lines for random customers over two years; about a fifth
 * of the lines carry no order id. Ids are spread over 64 bits. */
static size_t gen_batch(lp_rng *r, lp_rfm_txn *t, size_t n, uint64_t customers,
                        uint64_t *next_order) {
  size_t i = 0;
  while (i < n) {
    uint64_t c = lp_rng_below(r, customers);
    uint64_t id = c * UINT64_C(0x9E3779B97F4A7C15);
    int64_t ts = START + (int64_t)lp_rng_below(r, 730 * 86400);
    size_t lines = 1 + (size_t)lp_rng_below(r, 4);
    bool loose = lp_rng_below(r, 5) == 0;
    uint64_t order = (*next_order)++;
    for (size_t k = 0; k < lines && i < n; k++, i++) {
      lp_rfm_txn x = LP_RFM_TXN_INIT;
      x.profile_id = id;
      x.ts = ts;
      x.amount = (int64_t)lp_rng_below(r, 20000) - 1000;
      if (!loose) {
        x.flags = LP_RFM_TXN_HAS_ORDER;
        x.order_id = order;
      }
      t[i] = x;
    }
  }
  return n;
}

/* The grouped stream: customer after customer (ids spread as above), each
 * with 1 .. 2*per - 1 orders of 1-4 lines in time order, days apart. */
typedef struct grouped {
  uint64_t customer, per;
  uint64_t orders_left;
  size_t lines_left;
  int64_t ts;
  bool loose;
  uint64_t order;
} grouped;

static void gen_grouped(lp_rng *r, lp_rfm_txn *t, size_t n, grouped *g) {
  for (size_t i = 0; i < n; i++) {
    while (g->lines_left == 0) {
      if (g->orders_left == 0) {
        g->customer++;
        g->orders_left = 1 + lp_rng_below(r, 2 * g->per - 1);
        g->ts = START + (int64_t)lp_rng_below(r, 30 * 86400);
      }
      g->orders_left--;
      g->lines_left = 1 + (size_t)lp_rng_below(r, 4);
      g->loose = lp_rng_below(r, 5) == 0;
      g->order++;
      g->ts += 1 + (int64_t)lp_rng_below(r, 60 * 86400);
    }
    lp_rfm_txn x = LP_RFM_TXN_INIT;
    x.profile_id = g->customer * UINT64_C(0x9E3779B97F4A7C15);
    x.ts = g->ts;
    x.amount = (int64_t)lp_rng_below(r, 20000) - 1000;
    if (!g->loose) {
      x.flags = LP_RFM_TXN_HAS_ORDER;
      x.order_id = g->order;
    }
    g->lines_left--;
    t[i] = x;
  }
}

/* CPU time of this process: on a shared machine it tracks the work done
 * better than the wall clock (both are printed). */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t state_bytes(const lp_rfm *h) {
  return lp_hmap_bytes(&h->index) + h->profs.cap * h->profs.esz + lp_hmap_bytes(&h->orders) +
         lp_hmap_bytes(&h->periods);
}

/* Shard merge, identity merges, then the checker: the folds that the
 * profile store will run per identifier key. */
static int bench_merges(lp_rfm *h, uint64_t customers, uint64_t shard_txns) {
  lp_rfm *shard;
  lp_rfm_txn *buf = malloc(BATCH * sizeof *buf);
  if (buf == NULL || lp_rfm_create(NULL, &shard) != LP_OK) return 1;
  lp_rng r;
  lp_rng_seed(&r, 43);
  uint64_t next_order = UINT64_C(1) << 40;
  for (uint64_t done = 0; done < shard_txns; done += BATCH) {
    size_t n = shard_txns - done < BATCH ? (size_t)(shard_txns - done) : BATCH;
    gen_batch(&r, buf, n, customers, &next_order);
    if (lp_rfm_add(shard, buf, n) != LP_OK) return 1;
  }
  free(buf);
  double c0 = cpu_now();
  if (lp_rfm_merge(h, shard) != LP_OK) {
    fprintf(stderr, "merge: %s\n", lp_rfm_errmsg(h));
    return 1;
  }
  double c1 = cpu_now();
  size_t shard_profiles = lp_rfm_count(shard);
  lp_rfm_free(shard);
  uint64_t pairs = customers / 2 < 100000 ? customers / 2 : 100000, merged = 0;
  for (uint64_t k = 0; k < pairs; k++) {
    uint64_t into = (2 * k) * UINT64_C(0x9E3779B97F4A7C15);
    uint64_t from = (2 * k + 1) * UINT64_C(0x9E3779B97F4A7C15);
    int rc = lp_rfm_merge_profiles(h, into, from);
    if (rc == LP_OK) merged++;
    else if (rc != LP_ENOTFOUND) return 1;
  }
  double c2 = cpu_now();
  int rc = rfm_check(h);
  double c3 = cpu_now();
  if (rc != LP_OK) {
    fprintf(stderr, "check: %s\n", lp_rfm_errmsg(h));
    return 1;
  }
  printf("{\"bench\":\"rfm_merge\",\"shard_transactions\":%llu,\"shard_profiles\":%zu,"
         "\"merge_cpu_s\":%.3f,\"profile_merges\":%llu,\"profile_merges_per_cpu_s\":%.0f,"
         "\"check_cpu_s\":%.3f}\n",
         (unsigned long long)shard_txns, shard_profiles, c1 - c0, (unsigned long long)merged,
         c2 > c1 ? (double)merged / (c2 - c1) : 0.0, c3 - c2);
  return 0;
}

/* Ingest `txns` grouped transactions over about `customers` customers
 * into a fresh state. */
static int bench_grouped(uint64_t customers, uint64_t txns) {
  lp_rfm *g;
  lp_rfm_txn *buf = malloc(BATCH * sizeof *buf);
  if (buf == NULL || lp_rfm_create(NULL, &g) != LP_OK) return 1;
  lp_rng r;
  lp_rng_seed(&r, 44);
  uint64_t per = txns / customers * 2 / 5; /* orders of 2.5 lines on average */
  grouped gs = {0, per > 0 ? per : 1, 0, 0, 0, false, 0};
  double cpu = 0, wall = 0;
  for (uint64_t done = 0; done < txns; done += BATCH) {
    size_t n = txns - done < BATCH ? (size_t)(txns - done) : BATCH;
    gen_grouped(&r, buf, n, &gs);
    double t0 = bench_now(), c0 = cpu_now();
    if (lp_rfm_add(g, buf, n) != LP_OK) return 1;
    wall += bench_now() - t0;
    cpu += cpu_now() - c0;
  }
  size_t profiles = lp_rfm_count(g), bytes = state_bytes(g);
  printf("{\"bench\":\"rfm_ingest_grouped\",\"customers\":%zu,\"transactions\":%llu,"
         "\"txn_per_s\":%.0f,\"txn_per_cpu_s\":%.0f,\"bytes_per_customer\":%.1f,"
         "\"peak_rss\":%lld}\n",
         profiles, (unsigned long long)txns, (double)txns / wall, (double)txns / cpu,
         (double)bytes / (double)profiles, bench_peak_rss());
  free(buf);
  lp_rfm_free(g);
  return 0;
}

int main(int argc, char **argv) {
  uint64_t customers = 1000000, txns = 10000000;
  if (bench_quick(argc, argv)) {
    customers = 10000;
    txns = 100000;
  }
  bool snapshot = true;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--full") == 0) {
      customers = 10000000;
      txns = 100000000;
    } else if (strncmp(argv[i], "--customers=", 12) == 0) {
      customers = strtoull(argv[i] + 12, NULL, 10);
    } else if (strncmp(argv[i], "--transactions=", 15) == 0) {
      txns = strtoull(argv[i] + 15, NULL, 10);
    } else if (strcmp(argv[i], "--no-snapshot") == 0) {
      snapshot = false;
    }
  }
  if (customers == 0) return 1;
  lp_rfm *h;
  if (lp_rfm_create(NULL, &h) != LP_OK) return 1;
  lp_rfm_txn *buf = malloc(BATCH * sizeof *buf);
  if (buf == NULL) return 1;
  lp_rng r;
  lp_rng_seed(&r, 42);
  uint64_t next_order = 1;
  double ingest = 0, ingest_cpu = 0;
  for (uint64_t done = 0; done < txns; done += BATCH) {
    size_t n = txns - done < BATCH ? (size_t)(txns - done) : BATCH;
    gen_batch(&r, buf, n, customers, &next_order);
    double t0 = bench_now(), c0 = cpu_now();
    if (lp_rfm_add(h, buf, n) != LP_OK) {
      fprintf(stderr, "add: %s\n", lp_rfm_errmsg(h));
      return 1;
    }
    ingest += bench_now() - t0;
    ingest_cpu += cpu_now() - c0;
  }
  size_t profiles = lp_rfm_count(h), bytes = state_bytes(h);
  printf("{\"bench\":\"rfm_ingest\",\"customers\":%zu,\"transactions\":%llu,"
         "\"txn_per_s\":%.0f,\"txn_per_cpu_s\":%.0f,\"seconds\":%.3f,\"bytes_per_customer\":%.1f,"
         "\"bytes_per_txn\":%.1f,\"order_entries\":%zu,\"period_entries\":%zu,"
         "\"peak_rss\":%lld}\n",
         profiles, (unsigned long long)txns, (double)txns / ingest, (double)txns / ingest_cpu, ingest,
         (double)bytes / (double)profiles, (double)bytes / (double)txns, h->orders.len,
         h->periods.len, bench_peak_rss());
  free(buf);

  lp_rfm_row *rows = malloc(profiles * sizeof *rows);
  lp_rfm_segmap *map;
  if (rows == NULL || lp_rfm_segmap_builtin(NULL, LP_RFM_MAP_RF10, &map) != LP_OK) return 1;
  lp_rfm_score_options o = LP_RFM_SCORE_OPTIONS_INIT;
  o.as_of = START + 731 * DAY;
  size_t n;
  double t0 = bench_now(), c0 = cpu_now();
  if (lp_rfm_score(h, &o, map, rows, profiles, &n) != LP_OK) {
    fprintf(stderr, "score: %s\n", lp_rfm_errmsg(h));
    return 1;
  }
  double t1 = bench_now(), c1 = cpu_now();
  uint64_t check = 0;
  for (size_t i = 0; i < n; i++) check += rows[i].r * 100u + rows[i].f * 10u + rows[i].m;
  printf("{\"bench\":\"rfm_score\",\"customers\":%zu,\"seconds\":%.3f,\"cpu_seconds\":%.3f,"
         "\"customers_per_s\":%.0f,\"row_bytes\":%zu,\"check\":%llu}\n",
         n, t1 - t0, c1 - c0, (double)n / (t1 - t0), sizeof *rows, (unsigned long long)check);
  if (bench_merges(h, customers, txns / 10 + 1) != 0) return 1;
  if (bench_grouped(customers, txns) != 0) return 1;
  if (!snapshot) {
    lp_rfm_segmap_free(map);
    free(rows);
    lp_rfm_free(h);
    return 0;
  }
  lp_membuf *snap;
  if (lp_membuf_create(NULL, &snap) != LP_OK) return 1;
  double t2 = bench_now();
  if (lp_rfm_save(h, lp_membuf_write, snap) != LP_OK) return 1;
  double t3 = bench_now();
  lp_memreader mr;
  lp_memreader_init(&mr, lp_membuf_data(snap), lp_membuf_size(snap));
  if (lp_rfm_load(h, lp_memreader_read, &mr) != LP_OK) return 1;
  double t4 = bench_now();
  printf("{\"bench\":\"rfm_snapshot\",\"bytes\":%zu,\"save_s\":%.3f,\"load_s\":%.3f,"
         "\"peak_rss\":%lld}\n",
         lp_membuf_size(snap), t3 - t2, t4 - t3, bench_peak_rss());
  lp_membuf_free(snap);
  lp_rfm_segmap_free(map);
  free(rows);
  lp_rfm_free(h);
  return 0;
}
