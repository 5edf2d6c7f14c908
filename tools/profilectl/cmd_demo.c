/*
 * profilectl demo: the whole job on a built-in synthetic data set.
 * Identity merging -> orders attributed to profiles -> RFM scores, segments
 * and lifecycle stages -> k-means on the RFM values, with the identity
 * result scored against the generator's ground truth.
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_run.h"
#include "commands.h"
#include "csvout.h"
#include "decimal.h"
#include "libprofile.h"
#include "rules.h"
#include "synth.h"

#define CMD "demo"
#define DEMO_MAX_K 16
#define DEMO_KEY "demo-key"

typedef struct demo_opts {
  pctl_synth_config synth;
  size_t k;
  const char *out_dir;
} demo_opts;

/* Everything the generator produced, kept to score identity afterwards. */
typedef struct demo_data {
  pctl_synth_event *events;
  size_t n_events, cap_events;
  pctl_synth_order *orders;
  size_t n_orders, cap_orders;
  lp_idgraph *graph;
  uint32_t type_ids[PCTL_SYNTH_TYPES];
  int failed;
} demo_data;

static int parse_options(int argc, char **argv, demo_opts *o) {
  int64_t people, seed, k;
  const pctl_option table[] = {
    PCTL_OPT_INT("people", 0, "N", &people, 10, 1000000, "2000", "people in the synthetic data"),
    PCTL_OPT_INT("seed", 0, "S", &seed, 0, INT64_MAX, "42", "generator and k-means seed"),
    PCTL_OPT_INT("k", 0, "K", &k, 2, DEMO_MAX_K, "4", "k-means clusters"),
    PCTL_OPT_PATH("out-dir", 0, "DIR", &o->out_dir, NULL,
                  "also write events.csv, orders.csv and rules.ini there (created if\n"
                  "missing) and run 'profilectl run' on them: profiles.csv,\n"
                  "identifiers.csv, state.lps and report.html"),
    PCTL_OPT_END,
  };
  pctl_operands ops;
  int rc = pctl_parse_options(&pctl_cmd_demo, table, argc, argv, &ops);
  if (rc == PCTL_EXIT_OK) rc = pctl_want_operands(&pctl_cmd_demo, &ops, 0, 0, "argument");
  if (rc != PCTL_EXIT_OK) return rc;
  pctl_synth_config_init(&o->synth);
  o->synth.people = (uint32_t)people;
  o->synth.seed = (uint64_t)seed;
  o->k = (size_t)k;
  return PCTL_EXIT_OK;
}

static int grow(void **items, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return 0;
  size_t want = *cap ? *cap * 2 : 1024;
  void *p = realloc(*items, want * size);
  if (p == NULL) return -1;
  *items = p;
  *cap = want;
  return 0;
}

static int keep_event(void *ud, const pctl_synth_event *e) {
  demo_data *d = ud;
  if (grow((void **)&d->events, &d->cap_events, d->n_events, sizeof *e) != 0) return 1;
  d->events[d->n_events++] = *e;
  return 0;
}

static int keep_order(void *ud, const pctl_synth_order *o) {
  demo_data *d = ud;
  if (grow((void **)&d->orders, &d->cap_orders, d->n_orders, sizeof *o) != 0) return 1;
  d->orders[d->n_orders++] = *o;
  return 0;
}

/* The rules of the demo: logins are unique and win, e-mails fold Gmail
 * spellings, phones are UK numbers, devices and cookies are capped. */
static const struct {
  int32_t priority;
  uint32_t limit, unique, normalizer, country;
} demo_rules[PCTL_SYNTH_TYPES] = {
    {100, 1, 1, LP_IDGRAPH_NORM_GENERIC, 0},
    {80, 3, 0, LP_IDGRAPH_NORM_EMAIL_GMAIL, 0},
    {60, 2, 0, LP_IDGRAPH_NORM_PHONE, 44},
    {40, 5, 0, LP_IDGRAPH_NORM_GENERIC_FOLD, 0},
    {20, 20, 0, LP_IDGRAPH_NORM_GENERIC, 0},
};

static int setup_graph(demo_data *d) {
  int rc = lp_idgraph_create(NULL, &d->graph);
  if (rc == LP_OK) rc = lp_idgraph_set_key(d->graph, DEMO_KEY, strlen(DEMO_KEY));
  for (int t = 0; rc == LP_OK && t < PCTL_SYNTH_TYPES; t++) {
    lp_idgraph_type_def def = LP_IDGRAPH_TYPE_DEF_INIT;
    def.name = pctl_synth_type_names[t];
    def.priority = demo_rules[t].priority;
    def.limit = demo_rules[t].limit;
    def.unique = demo_rules[t].unique;
    def.normalizer = demo_rules[t].normalizer;
    def.country_code = demo_rules[t].country;
    rc = lp_idgraph_add_type(d->graph, &def, &d->type_ids[t]);
  }
  if (rc != LP_OK) pctl_error("identity setup: %s", lp_idgraph_errmsg(d->graph));
  return rc;
}

/* The same rules as a rules file, for 'profilectl run --rules'. */
static int write_rules(const char *path) {
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    pctl_error("cannot write '%s': %s", path, strerror(errno));
    return PCTL_EXIT_FAILURE;
  }
  fputs("# The identity rules of 'profilectl demo' (see docs/identity.md).\n", f);
  for (int t = 0; t < PCTL_SYNTH_TYPES; t++) {
    fprintf(f, "\n[type %s]\npriority = %d\nlimit = %u\nunique = %s\nnormalizer = %s\n",
            pctl_synth_type_names[t], (int)demo_rules[t].priority, (unsigned)demo_rules[t].limit,
            demo_rules[t].unique ? "yes" : "no", pctl_rules_normalizer_name(demo_rules[t].normalizer));
    if (demo_rules[t].country) fprintf(f, "country_code = %u\n", (unsigned)demo_rules[t].country);
  }
  if (ferror(f) | (fclose(f) != 0)) {
    pctl_error("cannot write '%s': %s", path, strerror(errno ? errno : EIO));
    return PCTL_EXIT_FAILURE;
  }
  return PCTL_EXIT_OK;
}

/* With --out-dir, the demo's data go through 'profilectl run': the
 * profiles, identifiers, saved store and report land next to the CSVs. */
static int run_on_csvs(const demo_opts *o) {
  char events[4200], orders[4200], rules[4200];
  snprintf(events, sizeof events, "%s/events.csv", o->out_dir);
  snprintf(orders, sizeof orders, "%s/orders.csv", o->out_dir);
  snprintf(rules, sizeof rules, "%s/rules.ini", o->out_dir);
  if (write_rules(rules) != PCTL_EXIT_OK) return PCTL_EXIT_FAILURE;
  pctl_run_config c;
  pctl_run_config_init(&c);
  c.events = events;
  c.orders = orders;
  c.rules = rules;
  c.key = DEMO_KEY;
  c.out_dir = o->out_dir;
  c.as_of = o->synth.end;
  c.k = (int64_t)o->k;
  c.seed = (int64_t)o->synth.seed;
  c.title = "profilectl demo: synthetic customers";
  return pctl_run_job(&c);
}

/* Time, then person, then generation order: the pointers point into
 * d->events, which holds the events as generated, so equal time and person
 * fall back on the address and no tie is left to qsort, whose order of equal
 * elements is unspecified (glibc's merge sort happens to keep them in
 * generation order; this reproduces it everywhere). */
static int by_time(const void *a, const void *b) {
  const pctl_synth_event *x = *(const pctl_synth_event *const *)a;
  const pctl_synth_event *y = *(const pctl_synth_event *const *)b;
  if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
  if (x->person != y->person) return x->person < y->person ? -1 : 1;
  return x < y ? -1 : x > y;
}

/* A batch job feeds events in time order: the graph then applies each one
 * incrementally. (Any order gives the same profiles; late events cost a
 * replay of the components they touch.) d->events stays in generation
 * order; the sort permutes pointers to it. */
static int observe_all(demo_data *d) {
  const pctl_synth_event **order = malloc((d->n_events + 1) * sizeof *order);
  if (order == NULL) {
    pctl_error("out of memory sorting the events");
    return LP_ENOMEM;
  }
  for (size_t i = 0; i < d->n_events; i++) order[i] = &d->events[i];
  qsort(order, d->n_events, sizeof *order, by_time);
  int status = LP_OK;
  for (size_t i = 0; i < d->n_events; i++) {
    const pctl_synth_event *e = order[i];
    lp_idgraph_ident ids[PCTL_SYNTH_TYPES];
    size_t n = 0;
    for (int t = 0; t < PCTL_SYNTH_TYPES; t++) {
      if (e->value[t][0] == '\0') continue;
      ids[n].type = d->type_ids[t];
      ids[n].value = e->value[t];
      ids[n].len = strlen(e->value[t]);
      n++;
    }
    if (n == 0) continue; /* a CRM record with nothing usable */
    uint64_t pid;
    int rc = lp_idgraph_observe(d->graph, ids, n, e->ts, e->source, strlen(e->source), &pid);
    if (rc != LP_OK) {
      pctl_error("identity: %s", lp_idgraph_errmsg(d->graph));
      status = rc;
      break;
    }
  }
  free(order);
  return status;
}

/* Score the merge against the truth: a person is split when their
 * identifiers land in more than one profile; a profile is mixed when it
 * holds identifiers of more than one person. Shared kiosk tablets belong to
 * nobody and are left out. */
static void report_identity(const demo_data *d, uint32_t people) {
  uint64_t *first_profile = calloc(people, sizeof *first_profile);
  unsigned char *split = calloc(people, 1);
  lp_idgraph_stats st;
  memset(&st, 0, sizeof st);
  st.struct_size = (uint32_t)sizeof st;
  (void)lp_idgraph_get_stats(d->graph, &st);
  size_t n_profiles = (size_t)st.profiles, mixed = 0, split_people = 0;
  uint64_t *profiles = malloc((n_profiles + 1) * sizeof *profiles);
  int64_t *owner = malloc((n_profiles + 1) * sizeof *owner);
  size_t got = 0;
  if (first_profile && split && profiles && owner &&
      lp_idgraph_profiles(d->graph, profiles, n_profiles + 1, &got) == LP_OK) {
    for (size_t i = 0; i < got; i++) owner[i] = -1;
    for (size_t i = 0; i < d->n_events; i++) {
      const pctl_synth_event *e = &d->events[i];
      for (int t = 0; t < PCTL_SYNTH_TYPES; t++) {
        const char *v = e->value[t];
        uint64_t pid;
        if (v[0] == '\0' || strncmp(v, "kiosk-", 6) == 0) continue;
        if (lp_idgraph_profile_of(d->graph, d->type_ids[t], v, strlen(v), &pid) != LP_OK)
          continue; /* junk, refused or quarantined away */
        /* Split counts only logins, e-mails and phones: anonymous cookies
         * and devices never seen with them cannot be linked by anyone. */
        if (t <= PCTL_SYNTH_PHONE) {
          if (first_profile[e->person] == 0) first_profile[e->person] = pid;
          else if (first_profile[e->person] != pid) split[e->person] = 1;
        }
        /* profiles are listed in ascending order: binary search */
        size_t lo = 0, hi = got;
        while (lo < hi) {
          size_t mid = lo + (hi - lo) / 2;
          if (profiles[mid] < pid) lo = mid + 1; else hi = mid;
        }
        if (lo == got || profiles[lo] != pid) continue;
        if (owner[lo] == -1) owner[lo] = e->person;
        else if (owner[lo] != (int64_t)e->person && owner[lo] != -2) {
          owner[lo] = -2;
          mixed++;
        }
      }
    }
    for (uint32_t p = 0; p < people; p++) split_people += split[p];
  }
  printf("identity\n");
  printf("  events %llu, identifiers %llu, profiles %llu (people %u)\n",
         (unsigned long long)st.events, (unsigned long long)st.identifiers,
         (unsigned long long)st.profiles, (unsigned)people);
  printf("  refused: blocked %llu, invalid %llu, conflicts %llu, quarantined %llu\n",
         (unsigned long long)st.blocked, (unsigned long long)st.invalid,
         (unsigned long long)st.conflicts, (unsigned long long)st.quarantined);
  printf("  against the truth: %zu profiles mix people (over-merge); %zu people have their\n"
         "  login, e-mail and phone in more than one profile (under-merge)\n",
         mixed, split_people);
  free(first_profile);
  free(split);
  free(profiles);
  free(owner);
}

static lp_rfm *attribute_orders(const demo_data *d, size_t *unmatched) {
  lp_rfm *rfm = NULL;
  if (lp_rfm_create(NULL, &rfm) != LP_OK) return NULL;
  *unmatched = 0;
  for (size_t i = 0; i < d->n_orders; i++) {
    const pctl_synth_order *o = &d->orders[i];
    lp_rfm_txn t = LP_RFM_TXN_INIT;
    if (lp_idgraph_profile_of(d->graph, d->type_ids[o->via], o->value, strlen(o->value),
                              &t.profile_id) != LP_OK) {
      (*unmatched)++;
      continue;
    }
    t.flags = LP_RFM_TXN_HAS_ORDER;
    t.ts = o->ts;
    t.amount = o->amount;
    t.order_id = o->order_id;
    if (lp_rfm_add(rfm, &t, 1) != LP_OK) {
      pctl_error("rfm: %s", lp_rfm_errmsg(rfm));
      lp_rfm_free(rfm);
      return NULL;
    }
  }
  return rfm;
}

static const char *segment_name(const lp_rfm_segmap *map, size_t i) {
  return i < lp_rfm_segmap_count(map) ? lp_rfm_segmap_name(map, (uint32_t)i) : "others";
}

static int report_rfm(lp_rfm *rfm, int64_t as_of, lp_rfm_row **rows_out, size_t *count) {
  lp_rfm_segmap *map = NULL;
  lp_rfm_row *rows = NULL;
  lp_rfm_score_options so = LP_RFM_SCORE_OPTIONS_INIT;
  so.as_of = as_of;
  size_t cap = lp_rfm_count(rfm) + 1, nseg = 0;
  int rc = lp_rfm_segmap_builtin(NULL, LP_RFM_MAP_RF10, &map);
  if (rc == LP_OK) {
    rows = calloc(cap, sizeof *rows);
    rc = rows ? lp_rfm_score(rfm, &so, map, rows, cap, count) : LP_ENOMEM;
  }
  lp_rfm_segment_summary sum[64];
  if (rc == LP_OK) {
    nseg = lp_rfm_segmap_count(map);
    size_t needed;
    rc = nseg < 64 ? lp_rfm_summarize(map, rows, *count, sum, 64, &needed) : LP_ELIMIT;
  }
  if (rc != LP_OK) {
    pctl_error("rfm scoring: %s", lp_strerror(rc));
  } else {
    printf("rfm (as of 2024-12-31, 5 quantile bins, R x F segments)\n");
    printf("  %-20s %9s %14s %8s\n", "segment", "customers", "revenue", "share");
    for (size_t s = 0; s <= nseg; s++) {
      if (sum[s].customers == 0) continue;
      printf("  %-20s %9llu %11lld.%02lld %7.1f%%\n", segment_name(map, s),
             (unsigned long long)sum[s].customers, (long long)(sum[s].revenue / 100),
             (long long)llabs(sum[s].revenue % 100), 100.0 * sum[s].revenue_share);
    }
    size_t stages[8] = {0};
    for (size_t i = 0; i < *count; i++) stages[rows[i].stage < 8 ? rows[i].stage : 0]++;
    printf("  lifecycle:");
    for (int s = 1; s < 8; s++)
      if (stages[s]) printf(" %s %zu", lp_rfm_stage_name(s), stages[s]);
    printf("\n");
  }
  lp_rfm_segmap_free(map);
  *rows_out = rows;
  return rc;
}

/* k-means on log1p of recency (days), frequency and monetary (currency
 * units, refunds floored at 0), so heavy spenders do not dominate. */
static int report_kmeans(const lp_rfm_row *rows, size_t n, size_t k, uint64_t seed) {
  const size_t dim = 3;
  double *x = malloc(n * dim * sizeof *x);
  double *scaled = malloc(n * dim * sizeof *scaled);
  lp_kmeans *km = NULL;
  int rc = (x && scaled) ? lp_kmeans_create(NULL, &km) : LP_ENOMEM;
  if (rc == LP_OK) {
    for (size_t i = 0; i < n; i++) {
      x[i * dim + 0] = (double)(rows[i].recency / 86400);
      x[i * dim + 1] = (double)rows[i].frequency;
      x[i * dim + 2] = rows[i].monetary > 0 ? (double)rows[i].monetary / 100.0 : 0.0;
    }
    rc = lp_kmeans_set_int(km, LP_KMEANS_K, (int64_t)k);
    if (rc == LP_OK) rc = lp_kmeans_set_int(km, LP_KMEANS_SEED, (int64_t)seed);
    if (rc == LP_OK) rc = lp_kmeans_set_int(km, LP_KMEANS_SCALE, LP_KMEANS_SCALE_LOG1P);
    if (rc == LP_OK) rc = lp_kmeans_fit(km, x, n, dim, NULL);
  }
  double c[DEMO_MAX_K * 3], sil = 0.0, db = 0.0;
  size_t nl = 0;
  uint32_t *labels = NULL;
  if (rc == LP_OK) rc = lp_kmeans_centroids(km, LP_KMEANS_SPACE_ORIGINAL, c, k * dim, &nl);
  if (rc == LP_OK) rc = lp_kmeans_transform(km, x, n, dim, scaled);
  if (rc == LP_OK && (labels = malloc((n ? n : 1) * sizeof *labels)) == NULL) rc = LP_ENOMEM;
  if (rc == LP_OK) rc = lp_kmeans_labels(km, labels, n, &nl);
  if (rc == LP_OK && labels != NULL)
    rc = lp_kmeans_silhouette(km, scaled, n, dim, labels, k, 5000, seed, &sil);
  if (rc == LP_OK && labels != NULL)
    rc = lp_kmeans_davies_bouldin(km, scaled, n, dim, labels, k, &db);
  if (rc != LP_OK) {
    pctl_error("kmeans: %s", km ? lp_kmeans_errmsg(km) : lp_strerror(rc));
  } else {
    size_t sizes[DEMO_MAX_K] = {0};
    for (size_t i = 0; i < nl; i++) sizes[labels[i]]++;
    printf("kmeans (k = %zu on log1p of recency, frequency, monetary)\n", k);
    printf("  inertia %.4f, iterations %u, silhouette %.4f, Davies-Bouldin %.4f\n",
           lp_kmeans_inertia(km), (unsigned)lp_kmeans_n_iter(km), sil, db);
    printf("  %-8s %9s %13s %10s %10s\n", "cluster", "customers", "recency_days", "orders",
           "spend");
    for (size_t j = 0; j < k; j++)
      printf("  %-8zu %9zu %13.1f %10.2f %10.2f\n", j, sizes[j], c[j * dim], c[j * dim + 1],
             c[j * dim + 2]);
  }
  lp_kmeans_free(km);
  free(labels);
  free(x);
  free(scaled);
  return rc;
}

/* Optional: the generated data as CSV, for `profilectl identity` and
 * `profilectl rfm` to be run on by hand. */
static int write_csvs(const demo_data *d, const char *dir) {
  if (pctl_make_dir(dir) != PCTL_EXIT_OK) return PCTL_EXIT_FAILURE;
  char path[4096];
  snprintf(path, sizeof path, "%s/events.csv", dir);
  pctl_csvout w;
  if (pctl_csvout_open(&w, path) != PCTL_EXIT_OK) return PCTL_EXIT_FAILURE;
  pctl_csvout_str(&w, "ts");
  pctl_csvout_str(&w, "source");
  pctl_csvout_strs(&w, pctl_synth_type_names, PCTL_SYNTH_TYPES);
  pctl_csvout_end_row(&w);
  for (size_t i = 0; i < d->n_events; i++) {
    const pctl_synth_event *e = &d->events[i];
    pctl_csvout_i64(&w, e->ts);
    pctl_csvout_str(&w, e->source);
    for (int t = 0; t < PCTL_SYNTH_TYPES; t++) pctl_csvout_str(&w, e->value[t]);
    pctl_csvout_end_row(&w);
  }
  if (pctl_csvout_close(&w) != PCTL_EXIT_OK) return PCTL_EXIT_FAILURE;
  snprintf(path, sizeof path, "%s/orders.csv", dir);
  if (pctl_csvout_open(&w, path) != PCTL_EXIT_OK) return PCTL_EXIT_FAILURE;
  static const char *const header[] = {"order_id", "ts", "id_type", "id", "amount"};
  pctl_csvout_strs(&w, header, PCTL_ARRAY_LEN(header));
  pctl_csvout_end_row(&w);
  for (size_t i = 0; i < d->n_orders; i++) {
    const pctl_synth_order *o = &d->orders[i];
    char money[PCTL_DECIMAL_BUF];
    pctl_decimal_format(o->amount, 2, money, sizeof money);
    pctl_csvout_u64(&w, o->order_id);
    pctl_csvout_i64(&w, o->ts);
    pctl_csvout_str(&w, pctl_synth_type_names[o->via]);
    pctl_csvout_str(&w, o->value);
    pctl_csvout_str(&w, money);
    pctl_csvout_end_row(&w);
  }
  return pctl_csvout_close(&w);
}

static int run_demo(int argc, char **argv) {
  demo_opts o;
  int rc = parse_options(argc, argv, &o);
  if (rc != PCTL_EXIT_OK) return rc;
  demo_data d;
  memset(&d, 0, sizeof d);
  int status = PCTL_EXIT_FAILURE;
  lp_rfm *rfm = NULL;
  lp_rfm_row *rows = NULL;
  size_t unmatched = 0, scored = 0;
  if (pctl_synth_run(&o.synth, keep_event, keep_order, &d) != 0) {
    pctl_error("out of memory generating the data");
    goto done;
  }
  printf("synthetic data: %u people, %zu events, %zu orders (seed %llu)\n\n",
         (unsigned)o.synth.people, d.n_events, d.n_orders, (unsigned long long)o.synth.seed);
  if (o.out_dir != NULL && write_csvs(&d, o.out_dir) != PCTL_EXIT_OK) goto done;
  if (setup_graph(&d) != LP_OK || observe_all(&d) != LP_OK) goto done;
  report_identity(&d, o.synth.people);
  rfm = attribute_orders(&d, &unmatched);
  if (rfm == NULL) goto done;
  printf("  orders attributed to a profile: %zu of %zu\n\n", d.n_orders - unmatched, d.n_orders);
  if (report_rfm(rfm, o.synth.end, &rows, &scored) != LP_OK) goto done;
  printf("\n");
  if (report_kmeans(rows, scored, o.k, o.synth.seed) != LP_OK) goto done;
  status = pctl_finish_stdout();
  if (status == PCTL_EXIT_OK && o.out_dir != NULL) status = run_on_csvs(&o);
done:
  free(rows);
  lp_rfm_free(rfm);
  lp_idgraph_free(d.graph);
  free(d.events);
  free(d.orders);
  return status;
}

const pctl_command pctl_cmd_demo = {
    CMD,
    "[options]",
    "run the whole job on a built-in synthetic data set",
    "Generates a deterministic multi-channel data set (people with logins,\n"
    "e-mails, phones, devices and cookies seen on the web, in the app, in stores\n"
    "and in the CRM, with junk values and shared kiosk tablets, and their\n"
    "orders), merges the identifiers into profiles, scores the merge against the\n"
    "generator's truth, attributes the orders to profiles, scores RFM with the\n"
    "10-segment R x F map and lifecycle stages, and clusters the customers with\n"
    "k-means. Output is identical for the same options on every run. With\n"
    "--out-dir the data are also written as CSV and run through 'profilectl run'\n"
    "(its summary on stderr), with the same rules and key, as of the data's end.\n",
    run_demo,
};
