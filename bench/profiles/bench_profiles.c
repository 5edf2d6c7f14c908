/*
 * Profile store benchmark: one JSON object per line.
 *   ingest: N people (about 6 identity events and 2 orders each, the shape
 *           of profilectl demo's data) into a new store, the view built,
 *           the store saved;
 *   models: a BG/NBD + Gamma-Gamma model (given parameters) and a k-means
 *           model (fitted on the first 20000 feature rows) installed, the
 *           view rebuilt with them;
 *   orders: on that live store, 1 % new orders (half under returning
 *           people's e-mails, half under new people's), the view again
 *           (the fold is kept and extended: no event changed the partition);
 *   daily:  load that state, add 1 % new rows (events and orders of new
 *           and returning people), rebuild the view, export every view
 *           (lp_profiles_view_block and lp_profiles_stage_block, 256 at a
 *           time), save;
 *   forget: load, erase one person, save.
 * Per phase: CPU seconds of this process (`*_s`: the machine is shared, so
 * wall time is not the program's alone), plus the phase's total wall and
 * CPU seconds, peak RSS and snapshot size.
 * Usage: bench_profiles [--quick | PEOPLE]   (default 1000000)
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <string.h>

#include "../bench_util.h"
#include "libprofile.h"

#define T0 INT64_C(1704067200)
#define DAY INT64_C(86400)

/* CPU seconds of this process (the machine is shared: wall time is not
 * the program's alone). */
static double cpu_now(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
         ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e-6;
}

static uint64_t rnd(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static void die(const char *what, int rc, const lp_profiles *h) {
  fprintf(stderr, "bench_profiles: %s: %s (%s)\n", what, lp_strerror(rc), lp_profiles_errmsg(h));
  exit(1);
}

static lp_profiles *make(void) {
  lp_profiles *h;
  if (lp_profiles_create(NULL, &h) != LP_OK) exit(1);
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  d.name = "email";
  d.normalizer = LP_IDGRAPH_NORM_EMAIL;
  d.priority = 50;
  int rc = lp_profiles_add_type(h, &d, NULL);
  d.name = "device_id";
  d.normalizer = LP_IDGRAPH_NORM_GENERIC;
  d.priority = 10;
  if (rc == LP_OK) rc = lp_profiles_add_type(h, &d, NULL);
  if (rc == LP_OK) rc = lp_profiles_set_key(h, "bench key", 9);
  if (rc == LP_OK) rc = lp_profiles_set_int(h, LP_PROFILES_AS_OF, T0 + 400 * DAY);
  if (rc != LP_OK) die("setup", rc, h);
  return h;
}

typedef struct counts {
  uint64_t events, orders;
  double t_events, t_orders;
} counts;

/* The rows of person p (stable per person and day): an e-mail, 1..3
 * devices, about 6 events, about 2 orders. */
static void person(lp_profiles *h, uint64_t p, uint64_t day, counts *c) {
  char email[48], dev[3][32];
  uint64_t s = p * UINT64_C(0x2545F4914F6CDD1D) + day;
  snprintf(email, sizeof email, "user%07llu@example.com", (unsigned long long)p);
  unsigned nd = 1 + (unsigned)(rnd(&s) % 3);
  for (unsigned i = 0; i < nd; i++)
    snprintf(dev[i], sizeof dev[i], "dev-%07llu-%u", (unsigned long long)p, i);
  double t = cpu_now();
  unsigned ne = 4 + (unsigned)(rnd(&s) % 5);
  for (unsigned e = 0; e < ne; e++) {
    lp_idgraph_ident ids[2];
    size_t n = 0;
    unsigned k = (unsigned)(rnd(&s) % nd);
    ids[n++] = (lp_idgraph_ident){1, dev[k], strlen(dev[k])};
    if (e == 0 || rnd(&s) % 3 == 0) ids[n++] = (lp_idgraph_ident){0, email, strlen(email)};
    int64_t ts = T0 + (int64_t)(day * DAY) + (int64_t)(rnd(&s) % (300 * DAY));
    int rc = lp_profiles_observe(h, ids, n, ts, "web", 3, NULL);
    if (rc != LP_OK) die("observe", rc, h);
    c->events++;
  }
  double t2 = cpu_now();
  c->t_events += t2 - t;
  unsigned no = (unsigned)(rnd(&s) % 5);
  for (unsigned o = 0; o < no; o++) {
    lp_profiles_order x = LP_PROFILES_ORDER_INIT;
    unsigned k = (unsigned)(rnd(&s) % (nd + 1));
    x.id = k == nd ? (lp_idgraph_ident){0, email, strlen(email)}
                   : (lp_idgraph_ident){1, dev[k], strlen(dev[k])};
    x.flags = LP_PROFILES_ORDER_HAS_ID;
    x.order_id = rnd(&s);
    x.ts = T0 + (int64_t)(rnd(&s) % (300 * DAY));
    x.amount = 500 + (int64_t)(rnd(&s) % 20000);
    int rc = lp_profiles_add_order(h, &x, NULL);
    if (rc != LP_OK) die("add_order", rc, h);
    c->orders++;
  }
  c->t_orders += cpu_now() - t2;
}

static lp_membuf *save(lp_profiles *h, double *secs) {
  lp_membuf *b;
  double t = cpu_now();
  if (lp_membuf_create(NULL, &b) != LP_OK) exit(1);
  int rc = lp_profiles_save(h, lp_membuf_write, b);
  if (rc != LP_OK) die("save", rc, h);
  *secs = cpu_now() - t;
  return b;
}

static lp_profiles *load(const lp_membuf *b, double *secs) {
  double t = cpu_now();
  lp_profiles *h;
  if (lp_profiles_create(NULL, &h) != LP_OK) exit(1);
  if (lp_profiles_set_key(h, "bench key", 9) != LP_OK) exit(1);
  lp_memreader r;
  lp_memreader_init(&r, lp_membuf_data(b), lp_membuf_size(b));
  int rc = lp_profiles_load(h, lp_memreader_read, &r);
  if (rc != LP_OK) die("load", rc, h);
  *secs = cpu_now() - t;
  return h;
}

static double refresh(lp_profiles *h) {
  double t = cpu_now();
  int rc = lp_profiles_refresh(h);
  if (rc != LP_OK) die("refresh", rc, h);
  return cpu_now() - t;
}

/* Every profile's view, 256 at a time (lp_profiles_view_block), and its
 * lifecycle stage 30 days on (lp_profiles_stage_block), as an export to
 * a table does it: CPU seconds. */
static double export_views(lp_profiles *h) {
  static lp_profiles_view v[256];
  static uint32_t later[256];
  double t = cpu_now();
  uint64_t sum = 0;
  int64_t as_of = 0;
  if (lp_profiles_get_int(h, LP_PROFILES_AS_OF, &as_of) != LP_OK) die("as_of", LP_EINVAL, h);
  for (uint64_t first = 0;;) {
    size_t n = 0, m = 0;
    for (size_t k = 0; k < 256; k++) v[k] = (lp_profiles_view)LP_PROFILES_VIEW_INIT;
    int rc = lp_profiles_view_block(h, first, v, 256, &n);
    if (rc == LP_OK) rc = lp_profiles_stage_block(h, first, as_of + 30 * DAY, later, n, &m);
    if (rc != LP_OK) die("view_block", rc, h);
    for (size_t k = 0; k < n; k++) sum += v[k].identifiers + (uint64_t)v[k].monetary + later[k];
    first += n;
    if (n < 256) break;
  }
  if (sum == 42) printf("#\n"); /* keep the loop */
  return cpu_now() - t;
}

/* The view with a CLV and a k-means model: the per-profile predictions. */
static void models(lp_profiles *h) {
  lp_clv *clv;
  lp_kmeans *km;
  static const double bg[] = {0.25, 4.0, 0.8, 2.5}, gg[] = {6.0, 4.0, 60.0};
  int rc = lp_clv_create(NULL, &clv);
  if (rc == LP_OK) rc = lp_clv_set_params(clv, LP_CLV_MODEL_BGNBD, bg, 4);
  if (rc == LP_OK) rc = lp_clv_set_params(clv, LP_CLV_MODEL_GG, gg, 3);
  if (rc == LP_OK) rc = lp_clv_set_double(clv, LP_CLV_STEP, 365.0);
  if (rc == LP_OK) rc = lp_profiles_set_clv(h, clv);
  if (rc != LP_OK) die("clv model", rc, h);
  lp_clv_free(clv);
  size_t n = 0;
  if (lp_profiles_features(h, NULL, NULL, 0, &n) != LP_OK) die("features", LP_EINVAL, h);
  uint64_t *ids = malloc((n + 1) * sizeof *ids);
  double *x = malloc((n + 1) * LP_PROFILES_FEATURES * sizeof *x);
  if (ids == NULL || x == NULL) exit(1);
  if ((rc = lp_profiles_features(h, ids, x, n, &n)) != LP_OK) die("features", rc, h);
  rc = lp_kmeans_create(NULL, &km);
  if (rc == LP_OK) rc = lp_kmeans_set_int(km, LP_KMEANS_K, 4);
  if (rc == LP_OK) rc = lp_kmeans_fit(km, x, n < 20000 ? n : 20000, LP_PROFILES_FEATURES, NULL);
  if (rc == LP_OK) rc = lp_profiles_set_kmeans(h, km);
  if (rc != LP_OK) die("k-means model", rc, h);
  lp_kmeans_free(km);
  free(ids);
  free(x);
  double t_view = refresh(h);
  printf("{\"bench\":\"profiles_models\",\"rows\":%zu,\"view_models_s\":%.3f,\"peak_rss_bytes\":%lld}\n",
         n, t_view, bench_peak_rss());
  fflush(stdout);
}

/* 1 % new orders on the live store, then the view (kept fold). */
static void new_orders(lp_profiles *h, uint64_t people) {
  uint64_t n = people / 100 > 0 ? people / 100 : 1, s = 42;
  double t = cpu_now();
  for (uint64_t i = 0; i < n; i++) {
    char email[48];
    uint64_t p = i % 2 ? people + i : i * 97 % people;
    snprintf(email, sizeof email, "user%07llu@example.com", (unsigned long long)p);
    lp_profiles_order x = LP_PROFILES_ORDER_INIT;
    x.id = (lp_idgraph_ident){0, email, strlen(email)};
    x.flags = LP_PROFILES_ORDER_HAS_ID;
    x.order_id = rnd(&s);
    x.ts = T0 + 300 * DAY + (int64_t)(rnd(&s) % (90 * DAY));
    x.amount = 500 + (int64_t)(rnd(&s) % 20000);
    int rc = lp_profiles_add_order(h, &x, NULL);
    if (rc != LP_OK) die("add_order", rc, h);
  }
  double t_add = cpu_now() - t, t_view = refresh(h);
  printf("{\"bench\":\"profiles_orders\",\"new_orders\":%llu,\"add_s\":%.3f,\"view_models_s\":%.3f,"
         "\"peak_rss_bytes\":%lld}\n",
         (unsigned long long)n, t_add, t_view, bench_peak_rss());
  fflush(stdout);
}

int main(int argc, char **argv) {
  uint64_t people = 1000000;
  if (bench_quick(argc, argv)) people = 20000;
  else if (argc > 1) people = strtoull(argv[1], NULL, 10);
  /* ingest */
  counts c = {0, 0, 0, 0};
  double t = bench_now(), cpu = cpu_now();
  lp_profiles *h = make();
  for (uint64_t p = 0; p < people; p++) person(h, p, 0, &c);
  double t_view = refresh(h), t_save;
  lp_membuf *state = save(h, &t_save);
  double total = bench_now() - t;
  uint64_t profiles;
  lp_profiles_count(h, &profiles);
  printf("{\"bench\":\"profiles_ingest\",\"people\":%llu,\"events\":%llu,\"orders\":%llu,"
         "\"profiles\":%llu,\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"events_s\":%.3f,\"orders_s\":%.3f,\"view_s\":%.3f,"
         "\"save_s\":%.3f,\"snapshot_bytes\":%zu,\"peak_rss_bytes\":%lld}\n",
         (unsigned long long)people, (unsigned long long)c.events, (unsigned long long)c.orders,
         (unsigned long long)profiles, total, cpu_now() - cpu, c.t_events, c.t_orders, t_view, t_save,
         lp_membuf_size(state), bench_peak_rss());
  fflush(stdout);
  models(h);
  new_orders(h, people);
  lp_profiles_free(h);
  /* daily increment: 1 % of the rows, half new people, half returning */
  double t_load;
  t = bench_now();
  cpu = cpu_now();
  h = load(state, &t_load);
  lp_membuf_free(state); /* hold one saved state at a time */
  state = NULL;
  counts d = {0, 0, 0, 0};
  uint64_t inc = people / 100 > 0 ? people / 100 : 1;
  for (uint64_t i = 0; i < inc; i++) person(h, i % 2 ? people + i : i * 97 % people, 1, &d);
  t_view = refresh(h);
  double t_export = export_views(h);
  lp_membuf *state2 = save(h, &t_save);
  total = bench_now() - t;
  printf("{\"bench\":\"profiles_daily\",\"people\":%llu,\"new_events\":%llu,\"new_orders\":%llu,"
         "\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"load_s\":%.3f,\"ingest_s\":%.3f,\"view_s\":%.3f,"
         "\"export_s\":%.3f,\"save_s\":%.3f,\"snapshot_bytes\":%zu,\"peak_rss_bytes\":%lld}\n",
         (unsigned long long)people, (unsigned long long)d.events, (unsigned long long)d.orders,
         total, cpu_now() - cpu, t_load, d.t_events + d.t_orders, t_view, t_export, t_save,
         lp_membuf_size(state2), bench_peak_rss());
  fflush(stdout);
  lp_profiles_free(h);
  /* forget one person */
  t = bench_now();
  cpu = cpu_now();
  h = load(state2, &t_load);
  lp_membuf_free(state2);
  state2 = NULL;
  double t1 = cpu_now();
  uint64_t pid;
  char email[48];
  snprintf(email, sizeof email, "user%07llu@example.com", (unsigned long long)(people / 2));
  int rc = lp_idgraph_profile_of(lp_profiles_idgraph(h), 0, email, strlen(email), &pid);
  if (rc == LP_OK) rc = lp_profiles_forget_profile(h, pid);
  if (rc != LP_OK) die("forget", rc, h);
  double t_forget = cpu_now() - t1;
  lp_membuf *state3 = save(h, &t_save);
  total = bench_now() - t;
  printf("{\"bench\":\"profiles_forget\",\"people\":%llu,\"seconds\":%.3f,\"cpu_seconds\":%.3f,"
         "\"load_s\":%.3f,\"forget_s\":%.3f,\"save_s\":%.3f,\"snapshot_bytes\":%zu,"
         "\"peak_rss_bytes\":%lld}\n",
         (unsigned long long)people, total, cpu_now() - cpu, t_load, t_forget, t_save,
         lp_membuf_size(state3), bench_peak_rss());
  lp_profiles_free(h);
  lp_membuf_free(state);
  lp_membuf_free(state2);
  lp_membuf_free(state3);
  return 0;
}
