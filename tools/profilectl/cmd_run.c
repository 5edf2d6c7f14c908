/*
 * profilectl run: the whole job on the user's own files. Events build the
 * identity graph, orders and tag facts are kept against the identifier
 * they arrived with, CLV and k-means are fitted on the profiles' view, and
 * the view is written as a wide table, an identifier table, the saved
 * store and an HTML report.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd_run.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(_POSIX_THREADS) && _POSIX_THREADS > 0
#include <pthread.h>
#define PCTL_RUN_THREADS 1
#else
#define PCTL_RUN_THREADS 0
#endif

#include "bgwrite.h"
#include "child.h"
#include "cli.h"
#include "cmd_tags.h"
#include "commands.h"
#include "core/hash.h"
#include "csv.h"
#include "decimal.h"
#include "event_reader.h"
#include "event_window.h"
#include "libprofile.h"
#include "par.h"
#include "prefault.h"
#include "progress.h"
#include "radix.h"
#include "report.h"
#include "rules.h"
#include "textutil.h"
#include "timeparse.h"

#define CMD "run"
#define DEFAULT_KEY "profilectl identity"
#define MAX_ID_COLUMNS LP_IDGRAPH_MAX_EVENT_IDS
#define DAY 86400
/* state.lps: buffers of the background writer */
#define SAVE_BUF_SIZE ((size_t)2 << 20)
#define SAVE_BUFS 4
/* --state: buffers of the background reader */
#define LOAD_BUF_SIZE ((size_t)2 << 20)
#define LOAD_BUFS 4

static const char *const clv_names[] = {"bgnbd", "pnbd", "mbgnbd", "none", NULL};
static const uint32_t clv_models[] = {LP_CLV_MODEL_BGNBD, LP_CLV_MODEL_PNBD, LP_CLV_MODEL_MBGNBD};

void pctl_run_config_init(pctl_run_config *c) {
  memset(c, 0, sizeof *c);
  c->key = DEFAULT_KEY;
  c->k = 4;
  c->n_init = 3;
  c->seed = 42;
  c->decimals = 2;
  c->horizon = 365;
  c->drift_days = 30;
  c->clv = PCTL_RUN_CLV_BGNBD;
  c->progress = PCTL_PROGRESS_AUTO;
  c->refit = PCTL_RUN_REFIT_ALWAYS;
  c->refit_threshold = 5;
  c->chunk = PCTL_EVENT_DEFAULT_CHUNK;
  c->time_window = PCTL_EVENT_DEFAULT_WINDOW;
}

/* Everything one run holds. */
typedef struct job {
  const pctl_run_config *c;
  lp_profiles *h;
  pctl_progress progress;
  uint64_t total_bytes, done_bytes, event_bytes;
  int64_t money_scale;
  /* counters for the summary */
  uint64_t event_rows, order_rows, fact_rows;
  uint64_t orders_kept, orders_no_id, orders_refused, orders_erased;
  uint64_t facts_kept, facts_refused, facts_erased;
  /* taxonomy: host-set tags of the store, in tag id order */
  uint32_t *tag_ids;
  lp_tags_info *tag_info;
  size_t ntags;
  char clv_desc[160];
  const char *clv_note;
  const char *kmeans_note;
  double centroids[PCTL_REPORT_MAX_K * LP_PROFILES_FEATURES];
  size_t k;
  /* --refit: facts of the saved store, and whether its models are kept */
  uint64_t stored_rows;
  bool keep_models, clv_kept, kmeans_kept;
  double wall0, cpu0, sys0, main0; /* --timings: the previous lap */
  struct id_stage *ids;             /* identifiers.csv under way (ids_begin()) */
  lp_idgraph_stats gstats;          /* the graph's, once the inputs are applied */
  bool have_gstats;
  /* state.lps saved by a child process (save_begin()) */
  pctl_child saver;
  bool save_forked;   /* the child was started and is not waited for yet */
  bool store_changed; /* fit_models() changed the store (the child's copy is stale) */
  char state_path[4200], state_tmp_path[4200 + 8];
} job;

static double now(clockid_t which) {
  struct timespec t;
  clock_gettime(which, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* --timings: wall and CPU time since the previous lap, on stderr (the
 * outputs never depend on the clock): the process's CPU time (every
 * thread), its system part, and this thread's CPU time. */
static void lap_with(job *j, const char *what, const pctl_child_usage *child) {
  if (!j->c->timings) return;
  double w = now(CLOCK_MONOTONIC), c = now(CLOCK_PROCESS_CPUTIME_ID), s = 0.0, peak = 0.0;
  double m = now(CLOCK_THREAD_CPUTIME_ID);
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    peak = (double)ru.ru_maxrss / 1024.0;
  }
  /* a step done by a child process: its CPU time is added to this one's
   * (the wall is the wait for it), and its peak is said beside */
  double cc = child != NULL ? child->user + child->sys : 0.0, cs = child != NULL ? child->sys : 0.0;
  if (what != NULL && child != NULL)
    fprintf(stderr,
            PCTL_PROGRAM " " CMD ": time: %-22s %7.2f s wall %7.2f s cpu (%.2f s system, "
            "%.2f s main thread; %.2f s cpu in a child process, its peak %.0f MiB), "
            "peak %.0f MiB so far\n",
            what, w - j->wall0, c - j->cpu0 + cc, s - j->sys0 + cs, m - j->main0, cc,
            child->peak_mib, peak);
  else if (what != NULL)
    fprintf(stderr,
            PCTL_PROGRAM " " CMD ": time: %-22s %7.2f s wall %7.2f s cpu (%.2f s system, "
            "%.2f s main thread), peak %.0f MiB so far\n",
            what, w - j->wall0, c - j->cpu0, s - j->sys0, m - j->main0, peak);
  j->main0 = m;
  j->wall0 = w;
  j->cpu0 = c;
  j->sys0 = s;
}

static void lap(job *j, const char *what) { lap_with(j, what, NULL); }

static int store_error(const job *j, const char *what) {
  pctl_error("%s: %s", what, lp_profiles_errmsg(j->h));
  return PCTL_EXIT_FAILURE;
}

/* ---- reading a CSV file row by row ---- */

typedef int (*row_fn)(job *j, const pctl_csv_field *f, size_t n, const char *path,
                      uint64_t line);

typedef struct csv_in {
  FILE *f;
  pctl_csv *csv;
} csv_in;

static int csv_begin(const char *path, csv_in *in) {
  memset(in, 0, sizeof *in);
  int st = pctl_open_input(path, &in->f, NULL);
  if (st != PCTL_EXIT_OK) return st;
  if (pctl_csv_open_file(NULL, in->f, &in->csv) != LP_OK || pctl_csv_read_header(in->csv) != LP_OK)
    return pctl_csv_report(in->csv, path);
  return PCTL_EXIT_OK;
}

static void csv_end(csv_in *in) {
  pctl_csv_close(in->csv);
  pctl_close_input(in->f);
  memset(in, 0, sizeof *in);
}

static int csv_rows(job *j, csv_in *in, const char *path, row_fn fn, uint64_t *rows) {
  for (;;) {
    int rc = pctl_csv_next(in->csv);
    if (rc == PCTL_CSV_END) break;
    if (rc != PCTL_CSV_ROW) return pctl_csv_report(in->csv, path);
    size_t n;
    const pctl_csv_field *f = pctl_csv_fields(in->csv, &n);
    (*rows)++;
    int st = fn(j, f, n, path, pctl_csv_record_line(in->csv));
    if (st != PCTL_EXIT_OK) return st;
    if (pctl_progress_enabled(&j->progress)) {
      pctl_csv_stats s;
      pctl_csv_get_stats(in->csv, &s);
      pctl_progress_update(&j->progress, j->done_bytes + s.bytes, *rows);
    }
  }
  pctl_csv_stats s;
  pctl_csv_get_stats(in->csv, &s);
  j->done_bytes += s.bytes;
  return PCTL_EXIT_OK;
}

static int column(pctl_csv *csv, const char *path, const char *name, size_t *idx) {
  if (pctl_csv_column(csv, name, idx) != LP_OK)
    return pctl_data_error(path, 1, "%s", pctl_csv_errmsg(csv));
  return PCTL_EXIT_OK;
}

static int parse_ts(const pctl_csv_field *v, const char *path, uint64_t line, const char *col,
                    int64_t *out) {
  char err[PCTL_ERRBUF_SIZE];
  const char *p = v->ptr;
  size_t n = v->len;
  pctl_trim_spaces(&p, &n);
  if (pctl_time_parse(p, n, PCTL_TIME_AUTO, out, err, sizeof err) != LP_OK)
    return pctl_data_error(path, line, "%s: %s", col, err);
  return PCTL_EXIT_OK;
}

/* ---- setup: types, options, taxonomy ---- */

typedef pctl_event_columns event_cols;

static bool is_name(pctl_csv_field h, const char *name) {
  return h.len == strlen(name) && memcmp(h.ptr, name, h.len) == 0;
}

/* The identifier columns of the events header; without a state their
 * rules are added (defaults by name unless the rules file has them). */
static int map_events(pctl_csv *csv, const char *path, pctl_rules *rules,
                      event_cols *c) {
  c->ts = c->source = SIZE_MAX;
  c->n = 0;
  size_t cols = pctl_csv_header_count(csv);
  for (size_t i = 0; i < cols; i++) {
    pctl_csv_field h = pctl_csv_header_name(csv, i);
    if (is_name(h, "ts")) {
      c->ts = i;
    } else if (is_name(h, "source")) {
      c->source = i;
    } else {
      if (h.len == 0 || h.len > LP_IDGRAPH_MAX_TYPE_NAME_LEN || memchr(h.ptr, 0, h.len) != NULL)
        return pctl_data_error(path, 1, "column %zu: identifier column names must be 1 to %d bytes",
                               i + 1, LP_IDGRAPH_MAX_TYPE_NAME_LEN);
      if (c->n == MAX_ID_COLUMNS)
        return pctl_data_error(path, 1, "more than %d identifier columns", MAX_ID_COLUMNS);
      if (pctl_rules_add(rules, h.ptr) == NULL)
        return pctl_data_error(path, 1, "more than %d identifier types", LP_IDGRAPH_MAX_TYPES);
      c->col[c->n++] = i;
    }
  }
  if (c->ts == SIZE_MAX) return pctl_data_error(path, 1, "no 'ts' column");
  return PCTL_EXIT_OK;
}

static int configure_graph(job *j, const pctl_rules *r) {
  lp_profiles *h = j->h;
  if (lp_profiles_set_int(h, LP_PROFILES_STORE_RAW, j->c->raw) != LP_OK ||
      lp_profiles_set_int(h, LP_PROFILES_DEFAULT_BLOCKLIST, r->default_blocklist) != LP_OK ||
      (r->quarantine > 0 &&
       lp_profiles_set_int(h, LP_PROFILES_QUARANTINE_AFTER, r->quarantine) != LP_OK))
    return store_error(j, "settings");
  for (size_t i = 0; i < r->ntypes; i++) {
    uint32_t id;
    if (lp_profiles_add_type(h, &r->types[i].def, &id) != LP_OK)
      return store_error(j, r->types[i].name);
  }
  for (size_t i = 0; i < r->nblocks; i++) {
    uint32_t id;
    const char *v = r->blocks[i] + strlen(r->blocks[i]) + 1;
    if (lp_idgraph_find_type(lp_profiles_idgraph(h), r->blocks[i], &id) != LP_OK ||
        lp_profiles_block_value(h, id, v, strlen(v)) != LP_OK)
      return store_error(j, "block");
  }
  return PCTL_EXIT_OK;
}

static int set_options(job *j) {
  const pctl_run_config *c = j->c;
  lp_profiles *h = j->h;
  if (lp_profiles_set_int(h, LP_PROFILES_AS_OF, c->as_of) != LP_OK)
    return store_error(j, "--as-of");
  if (lp_profiles_set_int(h, LP_PROFILES_CLV_HORIZON, c->horizon) != LP_OK)
    return store_error(j, "--horizon");
  if (lp_profiles_set_int(h, LP_PROFILES_CLV_MONEY_SCALE, j->money_scale) != LP_OK)
    return store_error(j, "--decimals");
  return PCTL_EXIT_OK;
}

/* The attributes the store gives its rules (lp_profiles_set_rule()): the
 * scratch tag state that reads the taxonomy defines them too, so that its
 * rules type-check as they will in the store. */
static const struct {
  const char *name;
  uint32_t type, scale;
} view_attrs[] = {
    {"recency_days", LP_TAGS_INT, 0},       {"frequency", LP_TAGS_INT, 0},
    {"transactions", LP_TAGS_INT, 0},       {"monetary", LP_TAGS_DECIMAL, 6},
    {"r", LP_TAGS_INT, 0},                  {"f", LP_TAGS_INT, 0},
    {"m", LP_TAGS_INT, 0},                  {"segment", LP_TAGS_STRING, 0},
    {"lifecycle", LP_TAGS_STRING, 0},       {"p_alive", LP_TAGS_DECIMAL, 6},
    {"expected_purchases", LP_TAGS_DECIMAL, 6}, {"clv", LP_TAGS_DECIMAL, 6},
    {"cluster", LP_TAGS_INT, 0},            {"identifiers", LP_TAGS_INT, 0},
    {"first_seen", LP_TAGS_TIME, 0},        {"last_seen", LP_TAGS_TIME, 0},
};

/* The taxonomy file read by the 'tags' reader (into a scratch tag state
 * over an empty profile table and the view's attributes), then its tags
 * defined in the store and their rules set; tags the store knows already
 * (a saved store) are kept, with the taxonomy's rule when it changed. */
static int load_taxonomy(job *j, const char *path) {
  char tmpl[] = "/tmp/profilectl-run-XXXXXX";
  int fd = mkstemp(tmpl);
  FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
  if (f == NULL || fputs("profile_id\n", f) == EOF || fclose(f) != 0) {
    pctl_error("cannot create a scratch file: %s", strerror(errno));
    if (fd >= 0) remove(tmpl);
    return PCTL_EXIT_FAILURE;
  }
  lp_tags *t = NULL;
  int st = lp_tags_create(NULL, &t) == LP_OK ? PCTL_EXIT_OK : PCTL_EXIT_FAILURE;
  if (st != PCTL_EXIT_OK) pctl_error("%s", strerror(ENOMEM));
  for (size_t i = 0; st == PCTL_EXIT_OK && i < PCTL_ARRAY_LEN(view_attrs); i++)
    if (lp_tags_define_attr(t, view_attrs[i].name, view_attrs[i].type, view_attrs[i].scale, NULL) !=
        LP_OK)
      st = pctl_data_error(path, 0, "%s", lp_tags_errmsg(t));
  pctl_tags_inputs in = {path, tmpl, NULL};
  if (st == PCTL_EXIT_OK) st = pctl_tags_build(&in, t);
  remove(tmpl);
  const lp_tags *have = lp_profiles_taxonomy(j->h);
  uint32_t n = st == PCTL_EXIT_OK ? lp_tags_tag_count(t) : 0;
  uint32_t *ids = calloc(n ? n : 1, sizeof *ids);
  if (ids == NULL && st == PCTL_EXIT_OK) {
    pctl_error("%s", strerror(ENOMEM));
    st = PCTL_EXIT_FAILURE;
  }
  /* every tag first (rules may name tags defined after them), then the rules */
  for (uint32_t i = 0; i < n && st == PCTL_EXIT_OK; i++) {
    lp_tags_info info = LP_TAGS_INFO_INIT;
    ids[i] = UINT32_MAX;
    if (lp_tags_describe(t, i, &info) != LP_OK || info.retired) continue;
    if (lp_tags_find(have, info.name, &ids[i]) == LP_OK) continue;
    lp_tags_def d = LP_TAGS_DEF_INIT;
    d.name = info.name;
    d.type = info.type;
    d.merge = info.merge;
    d.scale = info.scale;
    d.sensitivity = info.sensitivity;
    d.default_ttl = info.default_ttl;
    d.category = info.category[0] ? info.category : NULL;
    d.description = info.description[0] ? info.description : NULL;
    d.owner = info.owner[0] ? info.owner : NULL;
    d.purpose = info.purpose[0] ? info.purpose : NULL;
    d.consent_for = info.consent_for[0] ? info.consent_for : NULL;
    if (lp_profiles_define_tag(j->h, &d, &ids[i]) != LP_OK)
      st = pctl_data_error(path, 0, "tag '%s': %s", info.name, lp_profiles_errmsg(j->h));
  }
  for (uint32_t i = 0; i < n && st == PCTL_EXIT_OK; i++) {
    lp_tags_info info = LP_TAGS_INFO_INIT, cur = LP_TAGS_INFO_INIT;
    if (ids[i] == UINT32_MAX || lp_tags_describe(t, i, &info) != LP_OK || info.rule[0] == '\0')
      continue;
    if (lp_tags_describe(lp_profiles_taxonomy(j->h), ids[i], &cur) == LP_OK &&
        strcmp(cur.rule, info.rule) == 0)
      continue;
    if (lp_profiles_set_rule(j->h, ids[i], info.rule) != LP_OK)
      st = pctl_data_error(path, 0, "tag '%s': rule: %s", info.name, lp_profiles_errmsg(j->h));
  }
  free(ids);
  lp_tags_free(t);
  return st;
}

/* The store's live tags, host-set and rule-computed: the tag columns of
 * profiles.csv, in tag id order. */
static int list_tags(job *j) {
  const lp_tags *tax = lp_profiles_taxonomy(j->h);
  uint32_t n = lp_tags_tag_count(tax);
  j->tag_ids = calloc(n ? n : 1, sizeof *j->tag_ids);
  j->tag_info = calloc(n ? n : 1, sizeof *j->tag_info);
  if (j->tag_ids == NULL || j->tag_info == NULL) {
    pctl_error("%s", strerror(ENOMEM));
    return PCTL_EXIT_FAILURE;
  }
  for (uint32_t i = 0; i < n; i++) {
    lp_tags_info info = LP_TAGS_INFO_INIT;
    if (lp_tags_describe(tax, i, &info) != LP_OK || info.retired) continue;
    j->tag_ids[j->ntags] = i;
    j->tag_info[j->ntags++] = info;
  }
  return PCTL_EXIT_OK;
}

/* ---- facts ---- */

typedef struct order_cols {
  size_t order_id, ts, id_type, id, amount;
} order_cols;

typedef struct fact_cols {
  size_t id_type, id, profile_id, tag, value, expires_at, set_at;
} fact_cols;

/* The row callbacks read their columns from the job's current layout. */
static order_cols cur_orders;
static fact_cols cur_facts;

/* One event of the events file, its identifiers prepared by the reader. */
static int event_apply(void *ud, const pctl_event *ev) {
  job *j = ud;
  if (lp_profiles_observe_prepared(j->h, ev->ids, ev->n, ev->ts, ev->source, ev->source_len,
                                   NULL) != LP_OK)
    return pctl_data_error(j->c->events, ev->line, "%s", lp_profiles_errmsg(j->h));
  return PCTL_EXIT_OK;
}

static void event_progress(void *ud, uint64_t bytes, uint64_t rows, bool step) {
  job *j = ud;
  j->event_bytes = bytes;
  if (step) pctl_progress_poll(&j->progress, j->done_bytes + bytes, rows);
  else pctl_progress_update(&j->progress, j->done_bytes + bytes, rows);
}

static int find_type(job *j, const pctl_csv_field *name, const char *path, uint64_t line,
                     uint32_t *type) {
  char buf[LP_IDGRAPH_MAX_TYPE_NAME_LEN + 1];
  if (name->len == 0 || name->len >= sizeof buf || memchr(name->ptr, 0, name->len) != NULL ||
      (memcpy(buf, name->ptr, name->len), buf[name->len] = '\0',
       lp_idgraph_find_type(lp_profiles_idgraph(j->h), buf, type) != LP_OK)) {
    char ex[PCTL_EXCERPT_CAP];
    pctl_text_excerpt(name->ptr, name->len, ex);
    return pctl_data_error(path, line,
                           "id_type: unknown identifier type '%s' (the types are the events "
                           "file's identifier columns)", ex);
  }
  return PCTL_EXIT_OK;
}

/* Numeric order ids are kept as they are; any other text by its 64-bit hash. */
static uint64_t order_key(const pctl_csv_field *v) {
  const char *p = v->ptr;
  size_t n = v->len;
  pctl_trim_spaces(&p, &n);
  uint64_t x = 0;
  size_t i = 0;
  for (; i < n && i < 19 && pctl_is_digit(p[i]); i++) x = x * 10 + (uint64_t)(p[i] - '0');
  if (i == n && n > 0) return x;
  return lp_hash64(p, n, UINT64_C(0x6f72646572)); /* "order" */
}

/* A refused identifier (blocked, invalid, a limit) drops the fact and is
 * counted; a malformed row is a data error. */
static bool refused(int rc) { return rc == LP_EINVAL || rc == LP_ECONFLICT; }

static int order_row(job *j, const pctl_csv_field *f, size_t nf, const char *path,
                     uint64_t line) {
  (void)nf;
  const order_cols *c = &cur_orders;
  lp_profiles_order o = LP_PROFILES_ORDER_INIT;
  int st = parse_ts(&f[c->ts], path, line, "ts", &o.ts);
  if (st != PCTL_EXIT_OK) return st;
  if (o.ts > j->c->as_of)
    return pctl_data_error(path, line, "ts: the order is later than --as-of");
  char err[PCTL_ERRBUF_SIZE];
  if (pctl_decimal_parse(f[c->amount].ptr, f[c->amount].len, (unsigned)j->c->decimals, &o.amount,
                         err, sizeof err) != LP_OK)
    return pctl_data_error(path, line, "amount: %s", err);
  if (f[c->id].len == 0) {
    j->orders_no_id++;
    return PCTL_EXIT_OK;
  }
  st = find_type(j, &f[c->id_type], path, line, &o.id.type);
  if (st != PCTL_EXIT_OK) return st;
  o.id.value = f[c->id].ptr;
  o.id.len = f[c->id].len;
  if (f[c->order_id].len > 0) {
    o.flags = LP_PROFILES_ORDER_HAS_ID;
    o.order_id = order_key(&f[c->order_id]);
  }
  uint64_t pid = 0;
  int rc = lp_profiles_add_order(j->h, &o, &pid);
  if (rc == LP_OK) {
    if (pid == 0) j->orders_erased++;
    else j->orders_kept++;
    return PCTL_EXIT_OK;
  }
  if (refused(rc)) {
    j->orders_refused++;
    return PCTL_EXIT_OK;
  }
  return pctl_data_error(path, line, "%s", lp_profiles_errmsg(j->h));
}

static int parse_value(const lp_tags_info *info, const char *val, size_t len, lp_tags_value *v,
                       char *err, size_t cap) {
  switch (info->type) {
    case LP_TAGS_FLAG:
      if (len != 1 || val[0] != '1') {
        snprintf(err, cap, "flag '%s' takes the value 1", info->name);
        return LP_EINVAL;
      }
      return LP_OK;
    case LP_TAGS_STRING:
      v->str = val;
      v->len = len;
      return LP_OK;
    case LP_TAGS_TIME:
      return pctl_time_parse(val, len, PCTL_TIME_AUTO, &v->num, err, cap);
    default:
      return pctl_decimal_parse(val, len, info->scale, &v->num, err, cap);
  }
}

static int fact_row(job *j, const pctl_csv_field *f, size_t nf, const char *path,
                    uint64_t line) {
  (void)nf;
  const fact_cols *c = &cur_facts;
  char name[LP_TAGS_MAX_NAME + 1], err[PCTL_ERRBUF_SIZE];
  const pctl_csv_field *tf = &f[c->tag];
  uint32_t tag = 0;
  size_t k = 0;
  if (tf->len < sizeof name) {
    memcpy(name, tf->ptr, tf->len);
    name[tf->len] = '\0';
    for (k = 0; k < j->ntags && strcmp(j->tag_info[k].name, name) != 0; k++) {
    }
  }
  if (tf->len >= sizeof name || k == j->ntags) {
    char ex[PCTL_EXCERPT_CAP];
    pctl_text_excerpt(tf->ptr, tf->len, ex);
    return pctl_data_error(path, line, "tag: '%s' is not a tag of the taxonomy", ex);
  }
  if (j->tag_info[k].rule[0] != '\0')
    return pctl_data_error(path, line, "tag: '%s' is computed by its rule; facts cannot set it",
                           j->tag_info[k].name);
  tag = j->tag_ids[k];
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  v.expires_at = LP_TAGS_NEVER;
  int rc = LP_OK;
  err[0] = '\0';
  if (c->set_at != SIZE_MAX && f[c->set_at].len > 0)
    rc = pctl_time_parse(f[c->set_at].ptr, f[c->set_at].len, PCTL_TIME_AUTO, &v.set_at, err,
                         sizeof err);
  if (rc == LP_OK && f[c->expires_at].len > 0)
    rc = pctl_time_parse(f[c->expires_at].ptr, f[c->expires_at].len, PCTL_TIME_AUTO,
                         &v.expires_at, err, sizeof err);
  if (rc == LP_OK)
    rc = parse_value(&j->tag_info[k], f[c->value].ptr, f[c->value].len, &v, err, sizeof err);
  if (rc != LP_OK) return pctl_data_error(path, line, "%s", err[0] ? err : "bad value");
  uint64_t pid = 0;
  if (c->profile_id != SIZE_MAX) {
    const pctl_csv_field *p = &f[c->profile_id];
    char *end = NULL;
    errno = 0;
    unsigned long long id = p->len > 0 && pctl_is_digit(p->ptr[0]) ? strtoull(p->ptr, &end, 10) : 0;
    if (end == NULL || *end != '\0' || errno != 0 || id == 0)
      return pctl_data_error(path, line, "profile_id: not a profile id");
    rc = lp_profiles_set_tag_profile(j->h, (uint64_t)id, tag, &v);
    pid = (uint64_t)id;
  } else {
    if (f[c->id].len == 0) {
      j->facts_refused++;
      return PCTL_EXIT_OK;
    }
    lp_idgraph_ident id;
    int st = find_type(j, &f[c->id_type], path, line, &id.type);
    if (st != PCTL_EXIT_OK) return st;
    id.value = f[c->id].ptr;
    id.len = f[c->id].len;
    rc = lp_profiles_set_tag(j->h, &id, tag, &v, &pid);
  }
  if (rc == LP_OK) {
    if (pid == 0) j->facts_erased++;
    else j->facts_kept++;
    return PCTL_EXIT_OK;
  }
  if (refused(rc) && c->profile_id == SIZE_MAX) {
    j->facts_refused++;
    return PCTL_EXIT_OK;
  }
  return pctl_data_error(path, line, "%s", lp_profiles_errmsg(j->h));
}

/* The events step: rows parsed and prepared on worker threads on the
 * store's own graph, applied here in file order (event_reader.h). The
 * workers start once the graph holds an identifier (at once for a loaded
 * store), when identity.h lets lp_idgraph_prepare() run beside the
 * applying; the store sets no notify callback on its graph. */
static int read_events(job *j, csv_in *in, uint64_t size, event_cols *c) {
  const lp_idgraph *g = lp_profiles_idgraph(j->h);
  for (size_t i = 0; i < c->n; i++) {
    pctl_csv_field h = pctl_csv_header_name(in->csv, c->col[i]);
    if (lp_idgraph_find_type(g, h.ptr, &c->type[i]) != LP_OK)
      return pctl_data_error(j->c->events, 1,
                             "column '%s' is not an identifier type of the saved store", h.ptr);
  }
  pctl_event_input ei = {j->c->events, in->csv, size, c, g,
                         pctl_events_threads(j->c->threads, size), j->c->chunk};
  pctl_event_extra x = {true, pctl_progress_enabled(&j->progress) ? event_progress : NULL, j,
                        (size_t)j->c->time_window};
  int st = pctl_events_read_ex(&ei, &x, event_apply, j, &j->event_rows);
  j->done_bytes += j->event_bytes;
  return st;
}

static int read_orders(job *j) {
  csv_in in;
  const char *path = j->c->orders;
  int st = csv_begin(path, &in);
  order_cols *c = &cur_orders;
  if (st == PCTL_EXIT_OK) st = column(in.csv, path, "order_id", &c->order_id);
  if (st == PCTL_EXIT_OK) st = column(in.csv, path, "ts", &c->ts);
  if (st == PCTL_EXIT_OK) st = column(in.csv, path, "id_type", &c->id_type);
  if (st == PCTL_EXIT_OK) st = column(in.csv, path, "id", &c->id);
  if (st == PCTL_EXIT_OK) st = column(in.csv, path, "amount", &c->amount);
  if (st == PCTL_EXIT_OK) st = csv_rows(j, &in, path, order_row, &j->order_rows);
  csv_end(&in);
  return st;
}

static int read_facts(job *j) {
  csv_in in;
  const char *path = j->c->facts;
  int st = csv_begin(path, &in);
  fact_cols *c = &cur_facts;
  c->id_type = c->id = c->profile_id = c->set_at = SIZE_MAX;
  if (st == PCTL_EXIT_OK && pctl_csv_column(in.csv, "profile_id", &c->profile_id) != LP_OK) {
    c->profile_id = SIZE_MAX;
    st = column(in.csv, path, "id_type", &c->id_type);
    if (st == PCTL_EXIT_OK) st = column(in.csv, path, "id", &c->id);
  }
  if (st == PCTL_EXIT_OK) st = column(in.csv, path, "tag", &c->tag);
  if (st == PCTL_EXIT_OK) st = column(in.csv, path, "value", &c->value);
  if (st == PCTL_EXIT_OK) st = column(in.csv, path, "expires_at", &c->expires_at);
  if (st == PCTL_EXIT_OK && pctl_csv_column(in.csv, "set_at", &c->set_at) != LP_OK)
    c->set_at = SIZE_MAX;
  if (st == PCTL_EXIT_OK) st = csv_rows(j, &in, path, fact_row, &j->fact_rows);
  csv_end(&in);
  return st;
}

/* ---- models ---- */

/* --refit never|auto: whether the saved store brought a CLV model and a
 * k-means model (its buyers have predictions, labels in the first view). */
static int kept_models(job *j, const uint64_t *ids, size_t n) {
  j->clv_kept = j->kmeans_kept = false;
  for (size_t i = 0; i < n && i < 64; i++) {
    lp_profiles_view v = LP_PROFILES_VIEW_INIT;
    if (lp_profiles_view_of(j->h, ids[i], &v) != LP_OK) return store_error(j, "view");
    if (v.flags & LP_PROFILES_VIEW_HAS_CLV) j->clv_kept = true;
    if (v.flags & LP_PROFILES_VIEW_HAS_CLUSTER) j->kmeans_kept = true;
  }
  return PCTL_EXIT_OK;
}

/* The models' changes to the store after the inputs: a child that saves
 * the store from before them (save_begin()) saved a stale copy. */
static int model_set_clv(job *j, const lp_clv *m) {
  j->store_changed = true;
  return lp_profiles_set_clv(j->h, m);
}

static int model_set_kmeans(job *j, const lp_kmeans *m) {
  j->store_changed = true;
  return lp_profiles_set_kmeans(j->h, m);
}

static int fit_models(job *j) {
  const pctl_run_config *c = j->c;
  size_t n = 0;
  if (lp_profiles_features(j->h, NULL, NULL, 0, &n) != LP_OK) return store_error(j, "features");
  uint64_t *ids = malloc((n ? n : 1) * sizeof *ids);
  uint64_t *gids = malloc((n ? n : 1) * sizeof *gids);
  double *x = malloc((n ? n : 1) * LP_PROFILES_FEATURES * sizeof *x);
  if (ids == NULL || gids == NULL || x == NULL) {
    free(ids);
    free(gids);
    free(x);
    pctl_error("features: %s", strerror(ENOMEM));
    return PCTL_EXIT_FAILURE;
  }
  int st = PCTL_EXIT_OK;
  if (lp_profiles_features(j->h, ids, x, n, &n) != LP_OK) st = store_error(j, "features");
  if (st == PCTL_EXIT_OK && j->keep_models) st = kept_models(j, ids, n);
  /* CLV: a purchase model and Gamma-Gamma for the value */
  lp_clv *clv = NULL;
  j->clv_note = c->clv == PCTL_RUN_CLV_NONE ? "turned off (--clv none)" : NULL;
  if (st == PCTL_EXIT_OK && c->clv != PCTL_RUN_CLV_NONE && n == 0) j->clv_note = "no customer has an order";
  if (st == PCTL_EXIT_OK && j->keep_models && j->clv_note != NULL && model_set_clv(j, NULL) != LP_OK)
    st = store_error(j, "CLV model");
  if (st == PCTL_EXIT_OK && j->clv_note == NULL && j->clv_kept)
    snprintf(j->clv_desc, sizeof j->clv_desc, "kept from the saved store (--refit %s)",
             c->refit == PCTL_RUN_REFIT_NEVER ? "never" : "auto");
  else if (st == PCTL_EXIT_OK && j->clv_note == NULL) {
    const lp_rfm *rfm = NULL;
    lp_clv_fit_report rep = LP_CLV_FIT_REPORT_INIT, grep = LP_CLV_FIT_REPORT_INIT;
    uint32_t model = clv_models[c->clv];
    if (lp_profiles_rfm_view(j->h, &rfm) != LP_OK) st = store_error(j, "rfm view");
    else if (lp_clv_create(NULL, &clv) != LP_OK) st = PCTL_EXIT_FAILURE;
    else if (lp_clv_fit_rfm(clv, model, rfm, ids, n, c->as_of, 1.0, (double)j->money_scale,
                            &rep) != LP_OK) {
      j->clv_note = "the purchase model could not be fitted";
      fprintf(stderr, PCTL_PROGRAM " " CMD ": warning: CLV fit: %s\n", lp_clv_errmsg(clv));
    } else {
      /* Gamma-Gamma takes positive mean repeat spend only: repeat buyers
       * whose refunds cancel their spend are left out of its fit */
      size_t ng = 0;
      for (size_t i = 0; i < n; i++) {
        lp_rfm_clv ci = LP_RFM_CLV_INIT;
        if (lp_rfm_clv_inputs(rfm, ids[i], c->as_of, &ci) == LP_OK &&
            (ci.frequency == 0 || ci.monetary > 0.0))
          gids[ng++] = ids[i];
      }
      int grc = ng > 0 ? lp_clv_fit_rfm(clv, LP_CLV_MODEL_GG, rfm, gids, ng, c->as_of, 1.0,
                                        (double)j->money_scale, &grep)
                       : LP_EINVAL;
      if (grc != LP_OK)
        fprintf(stderr, PCTL_PROGRAM " " CMD ": warning: CLV spend model: %s\n", lp_clv_errmsg(clv));
      snprintf(j->clv_desc, sizeof j->clv_desc, "%s (%s, %" PRIu32 " iterations)%s",
               lp_clv_model_name(model),
               rep.status == LP_CLV_STATUS_CONVERGED  ? "converged"
               : rep.status == LP_CLV_STATUS_MAX_ITER ? "stopped at the iteration limit"
                                                      : "stopped: no further progress",
               rep.iterations, grc == LP_OK ? " with Gamma-Gamma spend" : ", no spend model");
      /* Without discounting the value is margin x spend x the expected
       * purchases over the horizon: one step of the horizon's length gives
       * it with one evaluation instead of one per day. */
      if (c->horizon > 0 && lp_clv_set_double(clv, LP_CLV_STEP, (double)c->horizon) != LP_OK)
        st = PCTL_EXIT_FAILURE;
      if (st == PCTL_EXIT_OK && model_set_clv(j, clv) != LP_OK) st = store_error(j, "CLV model");
    }
  }
  lp_clv_free(clv);
  lap(j, "CLV fit");
  /* k-means on recency (log1p), orders (log1p) and spend (z-score: refunds
   * make it negative) */
  lp_kmeans *km = NULL;
  j->kmeans_note = c->k == 0 ? "turned off (--k 0)" : NULL;
  if (st == PCTL_EXIT_OK && c->k > 0 && n < (size_t)c->k) j->kmeans_note = "fewer customers than clusters";
  if (st == PCTL_EXIT_OK && j->keep_models && j->kmeans_note != NULL &&
      model_set_kmeans(j, NULL) != LP_OK)
    st = store_error(j, "k-means model");
  if (st == PCTL_EXIT_OK && j->kmeans_note == NULL && j->kmeans_kept) {
    j->k = PCTL_REPORT_MAX_K; /* the report counts the labels it sees */
  } else if (st == PCTL_EXIT_OK && j->kmeans_note == NULL) {
    static const uint32_t scales[LP_PROFILES_FEATURES] = {LP_KMEANS_SCALE_LOG1P, LP_KMEANS_SCALE_LOG1P,
                                                          LP_KMEANS_SCALE_ZSCORE};
    int rc = lp_kmeans_create(NULL, &km);
    if (rc == LP_OK) rc = lp_kmeans_set_int(km, LP_KMEANS_K, c->k);
    if (rc == LP_OK) rc = lp_kmeans_set_int(km, LP_KMEANS_SEED, c->seed);
    if (rc == LP_OK) rc = lp_kmeans_set_int(km, LP_KMEANS_N_INIT, c->n_init);
    if (rc == LP_OK) rc = lp_kmeans_set_column_scales(km, scales, LP_PROFILES_FEATURES);
    if (rc == LP_OK) rc = lp_kmeans_fit(km, x, n, LP_PROFILES_FEATURES, NULL);
    size_t got = 0;
    if (rc == LP_OK)
      rc = lp_kmeans_centroids(km, LP_KMEANS_SPACE_ORIGINAL, j->centroids,
                               (size_t)c->k * LP_PROFILES_FEATURES, &got);
    if (rc != LP_OK) {
      pctl_error("k-means: %s", km != NULL ? lp_kmeans_errmsg(km) : lp_strerror(rc));
      st = PCTL_EXIT_FAILURE;
    } else if (model_set_kmeans(j, km) != LP_OK) {
      st = store_error(j, "k-means model");
    } else {
      j->k = (size_t)c->k;
    }
  }
  lp_kmeans_free(km);
  lap(j, "k-means fit");
  free(ids);
  free(gids);
  free(x);
  return st;
}

/* ---- outputs ---- */

/* profiles.csv and identifiers.csv are formatted in place into the
 * buffers of a background writer (bgwrite.h), OBUF_SIZE bytes each, and
 * written on the writer's thread: at a million profiles per-field stdio
 * and snprintf would cost more than the data, and the write() calls
 * would sit on this thread. The bytes are those of the csvout writer
 * (RFC 4180: a field is quoted when it holds a comma, a double quote, CR
 * or LF; records end with LF); the first failed write is kept and
 * reported when the file closes. */
#define OBUF_SIZE ((size_t)1 << 20)
#define OBUF_COUNT 8

typedef struct obuf {
  pctl_bgw *w; /* NULL: a fixed buffer that never fills (a field's text) */
  const char *path;
  size_t used;
  char *buf;
} obuf;

/* 0 or the errno of the open (the caller says "cannot open"). */
static int ob_open(obuf *o, const char *path) {
  memset(o, 0, sizeof *o);
  o->path = path;
  int e = pctl_bgw_open_direct(&o->w, path, OBUF_SIZE, OBUF_COUNT);
  if (e != 0) return e;
  size_t cap;
  o->buf = pctl_bgw_buffer(o->w, &cap);
  return 0;
}

static void ob_flush(obuf *o) {
  if (o->used == 0 || o->w == NULL) return;
  size_t cap;
  pctl_bgw_commit(o->w, o->used);
  o->buf = pctl_bgw_buffer(o->w, &cap);
  o->used = 0;
}

/* 0 or the errno of the first failed write (the caller says "cannot write"). */
static int ob_close(obuf *o) {
  if (o->w == NULL) return EBADF;
  pctl_bgw_commit(o->w, o->used);
  int e = pctl_bgw_close(o->w);
  o->w = NULL;
  o->buf = NULL;
  return e;
}

/* Room for n more bytes, n far below OBUF_SIZE. */
static inline char *ob_room(obuf *o, size_t n) {
  if (OBUF_SIZE - o->used < n) ob_flush(o);
  return o->buf + o->used;
}

static inline void ob_char(obuf *o, char c) {
  *ob_room(o, 1) = c;
  o->used++;
}

static void ob_bytes(obuf *o, const char *s, size_t n) {
  while (n > 0) {
    if (o->used == OBUF_SIZE) ob_flush(o);
    size_t k = OBUF_SIZE - o->used;
    if (k > n) k = n;
    memcpy(o->buf + o->used, s, k);
    o->used += k;
    s += k;
    n -= k;
  }
}

/* A text field, quoted when it needs to be (as pctl_csvout_field). */
static void ob_field(obuf *o, const char *s, size_t n) {
  size_t i = 0;
  while (i < n && s[i] != ',' && s[i] != '"' && s[i] != '\r' && s[i] != '\n') i++;
  if (i == n) {
    ob_bytes(o, s, n);
    return;
  }
  ob_char(o, '"');
  for (i = 0; i < n; i++) {
    if (s[i] == '"') ob_char(o, '"');
    ob_char(o, s[i]);
  }
  ob_char(o, '"');
}

static void ob_str(obuf *o, const char *s) { ob_field(o, s, strlen(s)); }

static const char two_digits[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Decimal digits of v at p, which has room for 20; returns their count. */
static size_t put_u64(char *p, uint64_t v) {
  char t[20];
  size_t n = sizeof t;
  while (v >= 100) {
    unsigned d = (unsigned)(v % 100) * 2;
    v /= 100;
    t[--n] = two_digits[d + 1];
    t[--n] = two_digits[d];
  }
  if (v >= 10) {
    t[--n] = two_digits[v * 2 + 1];
    t[--n] = two_digits[v * 2];
  } else {
    t[--n] = (char)('0' + v);
  }
  memcpy(p, t + n, sizeof t - n);
  return sizeof t - n;
}

static inline void ob_u64(obuf *o, uint64_t v) {
  char *p = ob_room(o, 20);
  o->used += put_u64(p, v);
}

static inline void ob_i64(obuf *o, int64_t v) {
  char *p = ob_room(o, 21);
  size_t n = 0;
  uint64_t m = (uint64_t)v;
  if (v < 0) {
    p[n++] = '-';
    m = (uint64_t)0 - m;
  }
  o->used += n + put_u64(p + n, m);
}

static inline void put_2(char *p, int v) { memcpy(p, two_digits + 2 * v, 2); }

/* As pctl_time_format_iso8601 ("YYYY-MM-DDTHH:MM:SSZ"), the integer when
 * the year is outside 0..9999. */
static void ob_time(obuf *o, int64_t t) {
  int64_t days = t / DAY, sod = t % DAY;
  if (sod < 0) {
    sod += DAY;
    days--;
  }
  int64_t year;
  int month, day;
  pctl_civil_from_days(days, &year, &month, &day);
  if (year < 0 || year > 9999) {
    ob_i64(o, t);
    return;
  }
  char *p = ob_room(o, 20);
  put_2(p, (int)(year / 100));
  put_2(p + 2, (int)(year % 100));
  p[4] = '-';
  put_2(p + 5, month);
  p[7] = '-';
  put_2(p + 8, day);
  p[10] = 'T';
  put_2(p + 11, (int)(sod / 3600));
  p[13] = ':';
  put_2(p + 14, (int)(sod / 60 % 60));
  p[16] = ':';
  put_2(p + 17, (int)(sod % 60));
  p[19] = 'Z';
  o->used += 20;
}

static void ob_decimal(obuf *o, int64_t v, unsigned scale) {
  char buf[PCTL_DECIMAL_BUF + 8];
  if (pctl_decimal_format(v, scale, buf, sizeof buf) != LP_OK) {
    ob_i64(o, v);
    return;
  }
  ob_bytes(o, buf, strlen(buf));
}

static void ob_double(obuf *o, double v) {
  char b[PCTL_DOUBLE_BUF];
  ob_str(o, pctl_format_double(b, v));
}

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* One line of identifiers.csv as lp_idgraph_identifiers() gives it, sorted
 * by the rank of the type's name, then the value (the raw bytes, or the
 * hash's) before it is written. */
typedef lp_idgraph_ident_row id_row;

/* Rows of one type: by value bytes, or by hash. */
static int cmp_id_values(const id_row *x, const id_row *y) {
  const lp_idgraph_ident_info *a = &x->ident, *b = &y->ident;
  if (a->value != NULL && b->value != NULL) {
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->value, b->value, n);
    if (c != 0) return c;
    return a->len < b->len ? -1 : (a->len > b->len);
  }
  return memcmp(a->hash, b->hash, sizeof a->hash);
}

/* The sort key of a row: the rank in the top byte (ranks are below
 * LP_IDGRAPH_MAX_TYPES, 32), then the first seven bytes of the value
 * (zero-padded) or of the hash, so that key order never contradicts the
 * full order; equal keys (one type) are ordered by cmp_id_values. */
typedef pctl_radix_item id_key; /* v.ptr: the row */

static uint64_t id_key_of(const id_row *r, uint32_t rank) {
  const lp_idgraph_ident_info *in = &r->ident;
  const uint8_t *b = in->value != NULL ? (const uint8_t *)in->value : in->hash;
  size_t n = in->value != NULL ? in->len : sizeof in->hash;
  uint64_t k = (uint64_t)rank;
  for (size_t i = 0; i < 7; i++) k = (k << 8) | (i < n ? b[i] : 0u);
  return k;
}

static uint32_t id_key_rank(uint64_t key) { return (uint32_t)(key >> 56); }

static int cmp_id_keys(const void *a, const void *b) {
  const id_key *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return cmp_id_values(x->v.ptr, y->v.ptr);
}

/* Radix sort by key (pctl_radix_sort()),
 * then runs of equal keys by the full comparison (identifiers are
 * distinct, so no two rows compare equal and the order is unique). */
static int sort_id_keys(id_key *k, size_t n) {
  if (pctl_radix_sort(k, n) != 0) return -1;
  for (size_t i = 0; i < n;) {
    size_t e = i + 1;
    while (e < n && k[e].key == k[i].key) e++;
    if (e - i > 1) qsort(k + i, e - i, sizeof *k, cmp_id_keys);
    i = e;
  }
  return 0;
}

typedef struct out_state {
  id_row *rows;
  size_t nrows, cap;
  uint32_t rank[LP_IDGRAPH_MAX_TYPES];
  const char *type_name[LP_IDGRAPH_MAX_TYPES];
  char names[LP_IDGRAPH_MAX_TYPES][16];
} out_state;

/* Type names by id (the store's registered names; "typeN" for an id it
 * does not know) and their ranks in name order. */
static void type_ranks(const lp_profiles *h, out_state *o) {
  for (uint32_t t = 0; t < LP_IDGRAPH_MAX_TYPES; t++) {
    snprintf(o->names[t], sizeof o->names[t], "type%u", (unsigned)t);
    const char *name = NULL;
    o->type_name[t] = lp_profiles_type_name(h, t, &name) == LP_OK ? name : o->names[t];
  }
  for (uint32_t t = 0; t < LP_IDGRAPH_MAX_TYPES; t++) {
    uint32_t rank = 0;
    for (uint32_t u = 0; u < LP_IDGRAPH_MAX_TYPES; u++) {
      int c = strcmp(o->type_name[u], o->type_name[t]);
      if (c < 0 || (c == 0 && u < t)) rank++;
    }
    o->rank[t] = rank;
  }
}

static int grow(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  void *q = realloc(*p, c * size);
  if (q == NULL) return -1;
  *p = q;
  *cap = c;
  return 0;
}

static void put_tag(obuf *w, const lp_tags_info *info, const lp_profiles_tag *t) {
  switch (t->type) {
    case LP_TAGS_FLAG: ob_char(w, '1'); break;
    case LP_TAGS_STRING: ob_field(w, t->str != NULL ? t->str : "", t->len); break;
    case LP_TAGS_TIME: ob_time(w, t->num); break;
    default: ob_decimal(w, t->num, info->scale); break;
  }
}

static void profiles_header(obuf *w, const job *j) {
  static const char head[] =
      "profile_id,identifiers,first_seen,last_seen,recency_days,frequency,monetary,r,f,m,"
      "segment,lifecycle,p_alive,expected_purchases,clv,cluster";
  ob_bytes(w, head, sizeof head - 1);
  for (size_t i = 0; i < j->ntags; i++) {
    ob_char(w, ',');
    ob_str(w, j->tag_info[i].name);
  }
  ob_char(w, '\n');
}

/* profiles.csv is made in two stages: this thread takes the views a
 * block at a time (lp_profiles_view_block()), their tags and the report's
 * figures from the store; a formatter thread turns each block into CSV
 * text in the background writer's buffers. The formatter reads only the
 * block (and the store's strings it points to, which nothing changes
 * meanwhile): the store is used by one thread. Taking the views is faster
 * than formatting them, so blocks queue up (a formatted block is reused):
 * once this thread has taken every view it saves the store while the
 * formatter catches up (write_outputs()). */
#define VIEW_BLOCK 1024
#define NSTAGES (LP_RFM_STAGE_REACTIVATED + 1)

typedef struct pblock {
  lp_profiles_view views[VIEW_BLOCK];
  uint32_t later[VIEW_BLOCK]; /* the stages after --drift-days, for the report */
  size_t n;
  size_t tag_first[VIEW_BLOCK + 1]; /* the tags of view i: tags[tag_first[i] ..] */
  lp_profiles_tag *tags;
  size_t tags_cap;
  struct pblock *next; /* in the ready queue or the spare list */
} pblock;

typedef struct pfmt {
  const job *j;
  obuf *w;
  const char *stage_names[NSTAGES];
  uint64_t *tag_count; /* profiles with a value of the k-th tag column */
  pblock *ready, *ready_tail; /* filled, to format, oldest first */
  pblock *spare;              /* formatted, to fill again */
  bool filled;                /* every block is filled: formatted ones are freed */
  bool done;                  /* no more blocks */
#if PCTL_RUN_THREADS
  bool threaded;
  pthread_t thread;
  bool mu_ok, rd_ok;
  pthread_mutex_t mu;
  pthread_cond_t ready_cv;
#endif
} pfmt;

static void format_profile(pfmt *f, const lp_profiles_view *pv, const lp_profiles_tag *tags, size_t nt) {
  const job *j = f->j;
  obuf *w = f->w;
  const lp_profiles_view v = *pv;
  bool orders = (v.flags & LP_PROFILES_VIEW_HAS_ORDERS) != 0;
  ob_u64(w, v.profile_id);
  ob_char(w, ',');
  ob_u64(w, v.identifiers);
  ob_char(w, ',');
  if (orders) ob_time(w, v.first_ts);
  ob_char(w, ',');
  if (orders) ob_time(w, v.last_ts);
  ob_char(w, ',');
  if (orders) ob_i64(w, v.recency / DAY);
  ob_char(w, ',');
  ob_u64(w, v.orders);
  ob_char(w, ',');
  ob_decimal(w, v.monetary, (unsigned)j->c->decimals);
  ob_char(w, ',');
  if (orders) ob_u64(w, v.r);
  ob_char(w, ',');
  if (orders) ob_u64(w, v.f);
  ob_char(w, ',');
  if (orders) ob_u64(w, v.m);
  ob_char(w, ',');
  if (orders && v.segment_name != NULL) ob_str(w, v.segment_name);
  ob_char(w, ',');
  ob_str(w, f->stage_names[v.stage < NSTAGES ? v.stage : 0]);
  ob_char(w, ',');
  if (v.flags & LP_PROFILES_VIEW_HAS_CLV) ob_double(w, v.p_alive);
  ob_char(w, ',');
  if (v.flags & LP_PROFILES_VIEW_HAS_CLV) ob_double(w, v.expected_purchases);
  ob_char(w, ',');
  if (v.flags & LP_PROFILES_VIEW_HAS_VALUE) ob_double(w, v.clv);
  ob_char(w, ',');
  if (v.flags & LP_PROFILES_VIEW_HAS_CLUSTER) ob_u64(w, v.cluster);
  size_t t = 0;
  for (size_t k = 0; k < j->ntags; k++) {
    ob_char(w, ',');
    while (t < nt && tags[t].tag_id < j->tag_ids[k]) t++;
    if (t < nt && tags[t].tag_id == j->tag_ids[k]) {
      put_tag(w, &j->tag_info[k], &tags[t]);
      f->tag_count[k]++;
    }
  }
  ob_char(w, '\n');
}

static void format_block(pfmt *f, const pblock *b) {
  for (size_t i = 0; i < b->n; i++)
    format_profile(f, &b->views[i], b->tags + b->tag_first[i], b->tag_first[i + 1] - b->tag_first[i]);
}

static void pblock_free(pblock *b) {
  free(b->tags);
  free(b);
}

#if PCTL_RUN_THREADS
static void *formatter_main(void *arg) {
  pfmt *f = arg;
  pthread_mutex_lock(&f->mu);
  for (;;) {
    while (f->ready == NULL && !f->done) pthread_cond_wait(&f->ready_cv, &f->mu);
    pblock *b = f->ready;
    if (b == NULL) break;
    f->ready = b->next;
    if (f->ready == NULL) f->ready_tail = NULL;
    pthread_mutex_unlock(&f->mu);
    format_block(f, b);
    pthread_mutex_lock(&f->mu);
    if (f->filled) {
      pblock_free(b); /* memory back for the save */
    } else {
      b->next = f->spare;
      f->spare = b;
    }
  }
  pthread_mutex_unlock(&f->mu);
  return NULL;
}
#endif

/* A block to fill: a formatted one, or a new one (NULL: out of memory). */
static pblock *pf_take(pfmt *f) {
  pblock *b = NULL;
#if PCTL_RUN_THREADS
  if (f->threaded) pthread_mutex_lock(&f->mu);
#endif
  if (f->spare != NULL) {
    b = f->spare;
    f->spare = b->next;
  }
#if PCTL_RUN_THREADS
  if (f->threaded) pthread_mutex_unlock(&f->mu);
#endif
  if (b != NULL) return b;
  b = malloc(sizeof *b);
  if (b == NULL) return NULL;
  for (size_t i = 0; i < VIEW_BLOCK; i++) b->views[i] = (lp_profiles_view)LP_PROFILES_VIEW_INIT;
  b->n = 0;
  b->tags = NULL;
  b->tags_cap = 0;
  b->next = NULL;
  if (grow((void **)&b->tags, &b->tags_cap, 64, sizeof *b->tags) != 0) {
    free(b);
    return NULL;
  }
  return b;
}

/* Queue a filled block for the formatter (without a thread: format it). */
static void pf_give(pfmt *f, pblock *b) {
  b->next = NULL;
#if PCTL_RUN_THREADS
  if (f->threaded) {
    pthread_mutex_lock(&f->mu);
    if (f->ready_tail != NULL) f->ready_tail->next = b;
    else f->ready = b;
    f->ready_tail = b;
    pthread_cond_signal(&f->ready_cv);
    pthread_mutex_unlock(&f->mu);
    return;
  }
#endif
  format_block(f, b);
  b->next = f->spare;
  f->spare = b;
}

/* One block of views, their tags, and the report's figures of them. */
static int fill_block(job *j, pblock *b, uint64_t first, pctl_report *rep) {
  if (lp_profiles_view_block(j->h, first, b->views, VIEW_BLOCK, &b->n) != LP_OK)
    return store_error(j, "view");
  /* the stages --drift-days later (a profile without orders is a prospect
   * at any time); a time out of range keeps today's */
  size_t ns = 0;
  if (lp_profiles_stage_block(j->h, first, j->c->as_of + j->c->drift_days * DAY, b->later, b->n,
                              &ns) != LP_OK ||
      ns != b->n)
    for (size_t i = 0; i < b->n; i++) b->later[i] = b->views[i].stage;
  size_t nt = 0;
  for (size_t i = 0; i < b->n; i++) {
    const lp_profiles_view *v = &b->views[i];
    b->tag_first[i] = nt;
    if (v->tags > 0) {
      /* one call while the buffer is large enough; a second after growing */
      size_t got = 0;
      int rc = lp_profiles_tags_of(j->h, v->profile_id, b->tags + nt, b->tags_cap - nt, &got);
      if (rc == LP_EBUFSIZE)
        rc = grow((void **)&b->tags, &b->tags_cap, nt + got, sizeof *b->tags) != 0
                 ? LP_ENOMEM
                 : lp_profiles_tags_of(j->h, v->profile_id, b->tags + nt, b->tags_cap - nt, &got);
      if (rc == LP_ENOMEM) pctl_error("output: %s", strerror(ENOMEM));
      else if (rc != LP_OK) store_error(j, "tags");
      if (rc != LP_OK) return PCTL_EXIT_FAILURE;
      nt += got;
    }
    pctl_report_add(rep, v, v->identifiers, b->later[i]);
  }
  b->tag_first[b->n] = nt;
  return PCTL_EXIT_OK;
}

static int fill_all(job *j, pfmt *f, pctl_report *rep) {
  uint64_t first = 0;
  for (;;) {
    pblock *b = pf_take(f);
    if (b == NULL) {
      pctl_error("output: %s", strerror(ENOMEM));
      return PCTL_EXIT_FAILURE;
    }
    int st = fill_block(j, b, first, rep);
    if (st != PCTL_EXIT_OK) {
      /* back to the spare ones (freed by pf_end()) */
#if PCTL_RUN_THREADS
      if (f->threaded) pthread_mutex_lock(&f->mu);
#endif
      b->next = f->spare;
      f->spare = b;
#if PCTL_RUN_THREADS
      if (f->threaded) pthread_mutex_unlock(&f->mu);
#endif
      return st;
    }
    first += b->n;
    bool more = b->n == VIEW_BLOCK;
    pf_give(f, b);
    if (!more) break;
  }
  /* the spare blocks are not needed any more, nor those still queued
   * once formatted */
#if PCTL_RUN_THREADS
  if (f->threaded) pthread_mutex_lock(&f->mu);
#endif
  f->filled = true;
  pblock *spare = f->spare;
  f->spare = NULL;
#if PCTL_RUN_THREADS
  if (f->threaded) pthread_mutex_unlock(&f->mu);
#endif
  while (spare != NULL) {
    pblock *b = spare;
    spare = b->next;
    pblock_free(b);
  }
  return PCTL_EXIT_OK;
}

/* profiles.csv's rows, in two halves: pf_begin() starts the formatter
 * (NULL: out of memory, said), pf_end() waits for it and frees it. */
static pfmt *pf_begin(const job *j, obuf *w) {
  pfmt *f = calloc(1, sizeof *f);
  uint64_t *counts = calloc(j->ntags ? j->ntags : 1, sizeof *counts);
  if (f == NULL || counts == NULL) {
    free(f);
    free(counts);
    pctl_error("output: %s", strerror(ENOMEM));
    return NULL;
  }
  f->j = j;
  f->w = w;
  f->tag_count = counts;
  for (uint32_t s = 0; s < NSTAGES; s++) f->stage_names[s] = lp_rfm_stage_name(s);
#if PCTL_RUN_THREADS
  /* without a thread each block is formatted as soon as it is filled */
  f->mu_ok = pthread_mutex_init(&f->mu, NULL) == 0;
  f->rd_ok = f->mu_ok && pthread_cond_init(&f->ready_cv, NULL) == 0;
  f->threaded = f->rd_ok && pthread_create(&f->thread, NULL, formatter_main, f) == 0;
#endif
  return f;
}

static void pf_end(pfmt *f, pctl_report *rep) {
  if (f == NULL) return;
#if PCTL_RUN_THREADS
  if (f->threaded) {
    pthread_mutex_lock(&f->mu);
    f->done = true;
    pthread_cond_signal(&f->ready_cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
  }
  if (f->rd_ok) pthread_cond_destroy(&f->ready_cv);
  if (f->mu_ok) pthread_mutex_destroy(&f->mu);
#endif
  for (size_t k = 0; k < f->j->ntags && k < rep->ntags; k++) rep->tag_count[k] += f->tag_count[k];
  /* after the join every block left is a spare one */
  while (f->spare != NULL) {
    pblock *b = f->spare;
    f->spare = b->next;
    pblock_free(b);
  }
  free(f->tag_count);
  free(f);
}

/* report.html rendered in memory (pctl_report_render()). */
typedef struct report_task {
  pctl_report *rep;
  char *bytes;
  size_t len;
  int err;
} report_task;

static void report_task_run(report_task *t) { t->err = pctl_report_render(t->rep, &t->bytes, &t->len); }

static void path_in(char *buf, size_t cap, const char *dir, const char *name) {
  snprintf(buf, cap, "%s/%s", dir, name);
}

/* Every stored identifier with its profile, in one pass over the graph
 * (lp_idgraph_identifiers(), a page at a time), as the rows of
 * identifiers.csv; their value pointers are the graph's, valid while the
 * store is not changed. */
static int collect_identifiers(job *j, out_state *o, uint64_t count) {
  const lp_idgraph *g = lp_profiles_idgraph(j->h);
  /* sized by the graph's count, read straight into place; a larger list
   * (which the count rules out) would be read on in grown pages */
  enum { PAGE = 65536 };
  o->nrows = 0;
  for (size_t want = (size_t)count + 1;; want = PAGE) {
    size_t got = 0;
    if (grow((void **)&o->rows, &o->cap, o->nrows + want, sizeof *o->rows) != 0) {
      pctl_error("output: %s", strerror(ENOMEM));
      return PCTL_EXIT_FAILURE;
    }
    if (lp_idgraph_identifiers(g, o->nrows, o->rows + o->nrows, want, &got) != LP_OK) {
      pctl_error("identifiers: %s", lp_idgraph_errmsg(g));
      return PCTL_EXIT_FAILURE;
    }
    o->nrows += got;
    if (got < want) return PCTL_EXIT_OK;
  }
}

/* identifiers.csv sorted and written on a thread of its own while this
 * one writes profiles.csv: it reads only the rows (and the graph's value
 * bytes, which nothing changes meanwhile) and prints nothing; its message
 * is printed by the main thread after the join, as if written in order. */
typedef struct id_task {
  out_state *o;
  const char *path;
  int st;
  char msg[4400];
} id_task;

static void write_identifiers(id_task *task) {
  out_state *o = task->o;
  const char *path = task->path;
  task->st = PCTL_EXIT_FAILURE;
  id_key *keys = malloc((o->nrows ? o->nrows : 1) * sizeof *keys);
  for (size_t i = 0; keys != NULL && i < o->nrows; i++) {
    uint32_t type = o->rows[i].ident.type;
    keys[i].key = id_key_of(&o->rows[i], type < LP_IDGRAPH_MAX_TYPES ? o->rank[type] : 0);
    keys[i].v.ptr = &o->rows[i];
  }
  if (keys == NULL || sort_id_keys(keys, o->nrows) != 0) {
    free(keys);
    snprintf(task->msg, sizeof task->msg, "output: %s", strerror(ENOMEM));
    return;
  }
  obuf w;
  int e = ob_open(&w, path);
  if (e != 0) {
    free(keys);
    snprintf(task->msg, sizeof task->msg, "cannot open '%s' for writing: %s", path, strerror(e));
    return;
  }
  static const char head[] = "type,value,profile_id\n";
  ob_bytes(&w, head, sizeof head - 1);
  /* the type names as fields (quoted if need be), by rank */
  char names[LP_IDGRAPH_MAX_TYPES][2 * LP_IDGRAPH_MAX_TYPE_NAME_LEN + 4];
  size_t name_len[LP_IDGRAPH_MAX_TYPES];
  for (uint32_t t = 0; t < LP_IDGRAPH_MAX_TYPES; t++) {
    obuf nb = {NULL, NULL, 0, names[o->rank[t]]};
    ob_str(&nb, o->type_name[t]);
    name_len[o->rank[t]] = nb.used;
  }
  static const char hexdigits[] = "0123456789abcdef";
  /* the rows are read in sorted order, far apart in memory: fetched some
   * rows ahead so the misses overlap */
  enum { AHEAD = 16 };
  for (size_t i = 0; i < o->nrows; i++) {
    if (i + AHEAD < o->nrows) PREFETCH(keys[i + AHEAD].v.ptr);
    const id_row *row = keys[i].v.ptr;
    const lp_idgraph_ident_info *r = &row->ident;
    uint32_t rank = id_key_rank(keys[i].key);
    ob_bytes(&w, names[rank], name_len[rank]);
    ob_char(&w, ',');
    if (r->value != NULL) {
      ob_field(&w, r->value, r->len);
    } else {
      char *p = ob_room(&w, 2 * LP_IDGRAPH_HASH_SIZE);
      for (size_t b = 0; b < LP_IDGRAPH_HASH_SIZE; b++) {
        p[2 * b] = hexdigits[r->hash[b] >> 4];
        p[2 * b + 1] = hexdigits[r->hash[b] & 15];
      }
      w.used += 2 * LP_IDGRAPH_HASH_SIZE;
    }
    ob_char(&w, ',');
    ob_u64(&w, row->profile_id);
    ob_char(&w, '\n');
  }
  free(keys);
  /* the rows are not read again: their memory back for the save */
  free(o->rows);
  o->rows = NULL;
  o->nrows = o->cap = 0;
  e = ob_close(&w);
  if (e != 0) {
    snprintf(task->msg, sizeof task->msg, "cannot write '%s': %s", path, strerror(e));
    return;
  }
  task->st = PCTL_EXIT_OK;
}

#if PCTL_RUN_THREADS
static void *id_task_main(void *arg) {
  write_identifiers(arg);
  return NULL;
}
#endif


/* identifiers.csv, started as soon as the inputs are applied (the graph
 * no longer changes): the rows are read here, then sorted and written on
 * a thread of its own while this one computes the view, fits the models
 * and writes profiles.csv. Its message waits for ids_end(), so the
 * messages come in the order of the outputs. */
typedef struct id_stage {
  out_state o;
  id_task t;
  char path[4200];
  bool started;
#if PCTL_RUN_THREADS
  pthread_t thread;
#endif
} id_stage;

static int ids_begin(job *j) {
  id_stage *s = calloc(1, sizeof *s);
  if (s == NULL) {
    pctl_error("output: %s", strerror(ENOMEM));
    return PCTL_EXIT_FAILURE;
  }
  j->ids = s;
  path_in(s->path, sizeof s->path, j->c->out_dir, "identifiers.csv");
  s->t.o = &s->o;
  s->t.path = s->path;
  type_ranks(j->h, &s->o);
  /* the graph's figures are final too: kept for the report */
  memset(&j->gstats, 0, sizeof j->gstats);
  j->gstats.struct_size = (uint32_t)sizeof j->gstats;
  if (lp_idgraph_get_stats(lp_profiles_idgraph(j->h), &j->gstats) != LP_OK)
    return store_error(j, "stats");
  j->have_gstats = true;
  int st = collect_identifiers(j, &s->o, j->gstats.identifiers);
#if PCTL_RUN_THREADS
  if (st == PCTL_EXIT_OK) s->started = pthread_create(&s->thread, NULL, id_task_main, &s->t) == 0;
#endif
  return st;
}

/* Waits for identifiers.csv (or writes it here without a thread); st: the
 * run's status so far, returned, or the failure of identifiers.csv. */
static int ids_end(job *j, int st) {
  id_stage *s = j->ids;
  if (s == NULL) return st;
  bool done = false;
#if PCTL_RUN_THREADS
  if (s->started) {
    pthread_join(s->thread, NULL);
    done = true;
  }
#endif
  if (st == PCTL_EXIT_OK && !done) write_identifiers(&s->t);
  if (st == PCTL_EXIT_OK && s->t.st != PCTL_EXIT_OK) {
    pctl_error("%s", s->t.msg);
    st = PCTL_EXIT_FAILURE;
  }
  free(s->o.rows);
  free(s);
  j->ids = NULL;
  return st;
}

/* Saved through a temporary file and renamed, so a failed save never
 * leaves half a store where the last good one was (the daily job reads
 * and writes the same file). A path that is not a regular file (a device
 * such as /dev/null, a FIFO) is written in place: a rename would replace
 * the device node itself (as root, /dev/null becomes a plain file). */
static bool state_in_place(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && !S_ISREG(sb.st_mode);
}

static void state_tmp(char *tmp, size_t cap, const char *path, bool in_place) {
  snprintf(tmp, cap, "%s%s", path, in_place ? "" : ".tmp");
}

/* The store's bytes into tmp; a failure leaves no temporary file and its
 * message in msg (path names the store), printed by the caller. */
static int save_to(const lp_profiles *h, const char *tmp, const char *path, bool in_place,
                   char *msg, size_t cap) {
  /* the store's bytes are written on the writer's thread while the save
   * serialises the next ones */
  pctl_bgw *w = NULL;
  int err = pctl_bgw_open_direct(&w, tmp, SAVE_BUF_SIZE, SAVE_BUFS);
  if (err != 0) {
    snprintf(msg, cap, "cannot write '%s': %s", tmp, strerror(err));
    return PCTL_EXIT_FAILURE;
  }
  int rc = lp_profiles_save(h, pctl_bgw_write, w);
  err = pctl_bgw_close(w);
  if (err != 0 && rc == LP_OK) rc = LP_EIO;
  if (rc == LP_EIO && err == 0) err = EIO;
  if (rc != LP_OK) {
    if (!in_place) remove(tmp);
    snprintf(msg, cap, "cannot save the store to '%s': %s", path,
             rc == LP_EIO ? strerror(err) : lp_profiles_errmsg(h));
    return PCTL_EXIT_FAILURE;
  }
  return PCTL_EXIT_OK;
}

/* The saved temporary file becomes the store. */
static int save_commit(const char *tmp, const char *path) {
  if (rename(tmp, path) == 0) return PCTL_EXIT_OK;
  int err = errno;
  remove(tmp);
  pctl_error("cannot save the store to '%s': %s", path, strerror(err));
  return PCTL_EXIT_FAILURE;
}

#define SAVE_MSG_CAP 8600

/* ---- the save in a child process ----
 * From the point where the store no longer changes (save_begin()) a
 * forked child saves its copy into the temporary file while this process
 * computes the view and writes the outputs; write_outputs() takes its
 * report where the in-process save was, so the rename, the messages and
 * their order stay those of the in-process save. The child runs only
 * save_to(): the library (no locks, no globals; the store's allocator is
 * malloc, which glibc makes safe across fork()), a background writer of
 * its own (its buffers, mutex and thread are created in the child) and
 * snprintf into the report. It takes no stdio stream, no progress line
 * and none of the writers of profiles.csv or identifiers.csv, whose
 * threads may hold their locks at the fork. The parent's writes to
 * memory from before the fork cost copy-on-write faults: the lookups of
 * the view and the identifier listing write nothing into the graph.
 * PROFILECTL_TEST_SAVE (tests only, docs/profilectl.md): "in-process"
 * keeps the save in this process, "kill" kills the child once it has
 * saved, before it reports, "exit" makes it exit before it saves. */
static const char *test_save_mode(void) {
  const char *m = getenv("PROFILECTL_TEST_SAVE");
  return m != NULL ? m : "";
}

static int child_save(void *ud, char *msg, size_t cap) {
  job *j = ud;
  if (strcmp(test_save_mode(), "exit") == 0) _exit(127);
  int st = save_to(j->h, j->state_tmp_path, j->state_path, false, msg, cap);
  if (st == PCTL_EXIT_OK && strcmp(test_save_mode(), "kill") == 0) raise(SIGKILL);
  return st == PCTL_EXIT_OK ? 0 : -1;
}

/* Starts the child, unless the store is written in place (no temporary
 * file), the fork fails or the tests ask for the in-process save. */
static void save_begin(job *j) {
  if (j->save_forked) return;
  path_in(j->state_path, sizeof j->state_path, j->c->out_dir, "state.lps");
  if (state_in_place(j->state_path) || strcmp(test_save_mode(), "in-process") == 0) return;
  state_tmp(j->state_tmp_path, sizeof j->state_tmp_path, j->state_path, false);
  j->store_changed = false;
  j->save_forked = pctl_child_start(&j->saver, child_save, j);
}

/* The child's copy is not wanted (the store changed after the fork, or
 * the run failed): killed, and whatever it wrote removed. */
static void save_cancel(job *j) {
  if (!j->save_forked) return;
  pctl_child_cancel(&j->saver);
  remove(j->state_tmp_path);
  j->save_forked = false;
}

/* The child's report: PCTL_EXIT_OK, or a failure with the message the
 * in-process save gives (its own), or that it ended without one. A child
 * that exited without a report never got to save (qemu-user, for one,
 * cannot run a forked copy of a process with threads): the store has not
 * changed since the fork, so it is saved here instead, the same bytes. */
static int save_wait(job *j, char *msg, size_t cap, pctl_child_usage *u) {
  int rc = pctl_child_wait(&j->saver, msg, cap, u);
  j->save_forked = false;
  if (rc == 0) return PCTL_EXIT_OK;
  if (rc == -3) {
    remove(j->state_tmp_path);
    return save_to(j->h, j->state_tmp_path, j->state_path, false, msg, cap);
  }
  if (rc == -2) {
    char why[256];
    snprintf(why, sizeof why, "%.200s", msg);
    remove(j->state_tmp_path); /* killed midway, or before its report */
    snprintf(msg, cap, "cannot save the store to '%s': the saving process %s", j->state_path, why);
  }
  return PCTL_EXIT_FAILURE;
}

bool pctl_fast_exit(int st) {
#if defined(PCTL_FAST_EXIT)
  return st == PCTL_EXIT_OK;
#else
  (void)st;
  return false;
#endif
}

int pctl_run_save_state(const lp_profiles *h, const char *path) {
  char tmp[4200 + 8], msg[SAVE_MSG_CAP];
  bool in_place = state_in_place(path);
  state_tmp(tmp, sizeof tmp, path, in_place);
  int st = save_to(h, tmp, path, in_place, msg, sizeof msg);
  if (st != PCTL_EXIT_OK) pctl_error("%s", msg);
  else if (!in_place) st = save_commit(tmp, path);
  return st;
}

int pctl_run_load_state(lp_profiles *h, const char *path) {
  FILE *f = NULL;
  int st = pctl_open_input(path, &f, NULL);
  if (st != PCTL_EXIT_OK) return st;
  /* the file is read ahead on the reader's thread while the store parses;
   * the kernel is told the whole file will be read (a store written with
   * direct I/O is not in the page cache: its disk reads then run ahead
   * of the reader instead of one buffer at a time) */
#if defined(POSIX_FADV_WILLNEED)
  (void)posix_fadvise(fileno(f), 0, 0, POSIX_FADV_SEQUENTIAL);
  (void)posix_fadvise(fileno(f), 0, 0, POSIX_FADV_WILLNEED);
#endif
  pctl_bgr *r = NULL;
  int rc = pctl_bgr_start(&r, fileno(f), LOAD_BUF_SIZE, LOAD_BUFS) == 0
               ? lp_profiles_load(h, pctl_bgr_read, r)
               : lp_profiles_load(h, pctl_file_read, f);
  pctl_bgr_close(r);
  pctl_close_input(f);
  if (rc != LP_OK) return pctl_data_error(path, 0, "cannot load the store: %s", lp_profiles_errmsg(h));
  return PCTL_EXIT_OK;
}

static int write_outputs(job *j) {
  const pctl_run_config *c = j->c;
  char path[4200];
  pctl_report rep;
  int st = pctl_report_init(&rep);
  if (st != PCTL_EXIT_OK) return st;
  const char **names = calloc(j->ntags ? j->ntags : 1, sizeof *names);
  for (size_t i = 0; names != NULL && i < j->ntags; i++) names[i] = j->tag_info[i].name;
  st = names != NULL ? pctl_report_set_tags(&rep, names, j->ntags) : PCTL_EXIT_FAILURE;
  free(names);
  rep.title = c->title;
  rep.as_of = c->as_of;
  rep.money_decimals = (unsigned)c->decimals;
  rep.drift_days = c->drift_days;
  rep.clv_horizon = (uint32_t)c->horizon;
  rep.clv_model = j->clv_note == NULL ? j->clv_desc : NULL;
  rep.clv_note = j->clv_note;
  rep.k = j->k;
  memcpy(rep.centroids, j->centroids, sizeof rep.centroids);
  rep.kmeans_note = j->kmeans_note;
  rep.centroid_means = j->kmeans_kept;
  int64_t bins = 5;
  (void)lp_profiles_get_int(j->h, LP_PROFILES_BINS, &bins);
  rep.bins = (uint32_t)bins;
  lp_profiles_stats ps = LP_PROFILES_STATS_INIT;
  rep.identity.struct_size = (uint32_t)sizeof rep.identity;
  if (j->have_gstats) rep.identity = j->gstats;
  if (st == PCTL_EXIT_OK &&
      (lp_profiles_get_stats(j->h, &ps) != LP_OK ||
       (!j->have_gstats && lp_idgraph_get_stats(lp_profiles_idgraph(j->h), &rep.identity) != LP_OK)))
    st = store_error(j, "stats");
  rep.erased_facts = ps.erased_facts;
  if (st == PCTL_EXIT_OK && lp_profiles_refresh(j->h) != LP_OK) st = store_error(j, "view");
  lap(j, "view with the models");
  obuf w;
  path_in(path, sizeof path, c->out_dir, "profiles.csv");
  if (st == PCTL_EXIT_OK) {
    int e = ob_open(&w, path);
    if (e != 0) {
      pctl_error("cannot open '%s' for writing: %s", path, strerror(e));
      st = PCTL_EXIT_FAILURE;
    }
  }
  bool w_open = st == PCTL_EXIT_OK;
  pfmt *f = NULL;
  if (st == PCTL_EXIT_OK) {
    profiles_header(&w, j);
    f = pf_begin(j, &w);
    st = f != NULL ? fill_all(j, f, &rep) : PCTL_EXIT_FAILURE;
  }
  lap(j, "profile views");
  /* Every view is taken and the store no longer changes: unless a child
   * saves it already (save_begin()), it is saved here while the formatter
   * and the identifiers.csv thread write, into the temporary file; it
   * becomes the store once the outputs are written, and its message (if
   * it fails) comes after theirs, as if saved after them. A store path
   * that is not a regular file (written in place, no rename) is written
   * after the outputs, so a failed output still sends it nothing. */
  char *state_path = j->state_path, *state_tmp_path = j->state_tmp_path, save_msg[SAVE_MSG_CAP];
  bool forked = j->save_forked;
  if (st != PCTL_EXIT_OK) save_cancel(j);
  bool in_place = false;
  int save_st = PCTL_EXIT_FAILURE;
  if (!forked) {
    path_in(state_path, sizeof j->state_path, c->out_dir, "state.lps");
    in_place = state_in_place(state_path);
    state_tmp(state_tmp_path, sizeof j->state_tmp_path, state_path, in_place);
    if (st == PCTL_EXIT_OK && !in_place)
      save_st = save_to(j->h, state_tmp_path, state_path, false, save_msg, sizeof save_msg);
    lap(j, "save state.lps");
  }
  pf_end(f, &rep);
  if (w_open) {
    int e = ob_close(&w);
    if (e != 0 && st == PCTL_EXIT_OK) {
      pctl_error("cannot write '%s': %s", path, strerror(e));
      st = PCTL_EXIT_FAILURE;
    }
  }
  lap(j, "profiles.csv");
  st = ids_end(j, st);
  lap(j, "identifiers.csv");
  if (forked && st != PCTL_EXIT_OK) save_cancel(j); /* an output failed: no new store */
  if (forked && j->save_forked) {
    pctl_child_usage u;
    memset(&u, 0, sizeof u);
    save_st = save_wait(j, save_msg, sizeof save_msg, &u);
    lap_with(j, "save state.lps", &u);
  }
  if (st == PCTL_EXIT_OK && in_place) {
    st = pctl_run_save_state(j->h, state_path);
  } else if (st == PCTL_EXIT_OK && save_st != PCTL_EXIT_OK) {
    pctl_error("%s", save_msg);
    st = PCTL_EXIT_FAILURE;
  } else if (st == PCTL_EXIT_OK) {
    st = save_commit(state_tmp_path, state_path);
  } else if (save_st == PCTL_EXIT_OK && !forked) {
    remove(state_tmp_path); /* an output failed: no new store */
  }
  /* the report, in memory, then written */
  report_task rt;
  memset(&rt, 0, sizeof rt);
  rt.rep = &rep;
  if (st == PCTL_EXIT_OK) report_task_run(&rt);
  path_in(path, sizeof path, c->out_dir, "report.html");
  if (st == PCTL_EXIT_OK && rt.err != 0) {
    pctl_error("report: %s", strerror(rt.err));
    st = PCTL_EXIT_FAILURE;
  }
  if (st == PCTL_EXIT_OK) st = pctl_report_write_bytes(rt.bytes, rt.len, path);
  free(rt.bytes);
  lap(j, "report.html");
  if (st == PCTL_EXIT_OK) {
    fprintf(stderr,
            PCTL_PROGRAM " " CMD ": %" PRIu64 " event rows, %" PRIu64 " order rows (%" PRIu64
            " kept, %" PRIu64 " without identifier, %" PRIu64 " refused identifier, %" PRIu64
            " erased), %" PRIu64 " fact rows (%" PRIu64 " kept, %" PRIu64 " refused, %" PRIu64
            " erased)\n",
            j->event_rows, j->order_rows, j->orders_kept, j->orders_no_id, j->orders_refused,
            j->orders_erased, j->fact_rows, j->facts_kept, j->facts_refused, j->facts_erased);
    fprintf(stderr,
            PCTL_PROGRAM " " CMD ": store: %" PRIu64 " profiles, %" PRIu64 " identifiers, %" PRIu64
            " merges, %" PRIu64 " orders, %" PRIu64 " tag facts; %" PRIu64 " customers, CLV %s, "
            "k-means %s\n",
            rep.identity.profiles, rep.identity.identifiers, rep.identity.merges, ps.orders,
            ps.tag_facts, rep.buyers, j->clv_note == NULL ? j->clv_desc : j->clv_note,
            j->kmeans_note != NULL ? j->kmeans_note
            : j->kmeans_kept       ? "kept from the saved store"
                                   : "fitted");
    if (c->state != NULL && c->refit != PCTL_RUN_REFIT_ALWAYS) {
      uint64_t added = j->event_rows + j->order_rows + j->fact_rows;
      fprintf(stderr,
              PCTL_PROGRAM " " CMD ": --refit %s: %" PRIu64 " new rows, %.2f %% of the %" PRIu64
              " events, orders and facts the store had (threshold %" PRId64 " %%): models %s\n",
              c->refit == PCTL_RUN_REFIT_NEVER ? "never" : "auto", added,
              j->stored_rows ? 100.0 * (double)added / (double)j->stored_rows : 100.0,
              j->stored_rows, c->refit_threshold, j->keep_models ? "kept" : "fitted again");
    }
  }
  pctl_report_free(&rep);
  return st;
}

static int drop_models(job *j) {
  if (lp_profiles_set_clv(j->h, NULL) != LP_OK || lp_profiles_set_kmeans(j->h, NULL) != LP_OK)
    return store_error(j, "models");
  return PCTL_EXIT_OK;
}

int pctl_run_job(const pctl_run_config *c) {
  job j;
  memset(&j, 0, sizeof j);
  j.c = c;
  j.money_scale = 1;
  for (int64_t i = 0; i < c->decimals; i++) j.money_scale *= 10;
  lp_allocator alloc;
  (void)pctl_prefault_allocator(&alloc);
  if (lp_profiles_create(&alloc, &j.h) != LP_OK) {
    pctl_error("cannot create the store: %s", strerror(ENOMEM));
    return PCTL_EXIT_FAILURE;
  }
  static pctl_rules rules;
  memset(&rules, 0, sizeof rules);
  rules.default_blocklist = 1;
  int st = pctl_make_dir(c->out_dir);
  if (st == PCTL_EXIT_OK && lp_profiles_set_key(j.h, c->key, strlen(c->key)) != LP_OK)
    st = store_error(&j, "--key");
  lap(&j, NULL);
  if (st == PCTL_EXIT_OK && c->state != NULL) st = pctl_run_load_state(j.h, c->state);
  /* --refit always: the models are fitted again on this run's view, so the
   * saved ones would only make the first view (the one they are fitted on)
   * dearer; never and auto decide once the new rows are counted. */
  if (st == PCTL_EXIT_OK && c->state != NULL && c->refit == PCTL_RUN_REFIT_ALWAYS)
    st = drop_models(&j);
  if (st == PCTL_EXIT_OK && c->state != NULL) {
    lp_profiles_stats ps = LP_PROFILES_STATS_INIT;
    lp_idgraph_stats gs;
    memset(&gs, 0, sizeof gs);
    gs.struct_size = (uint32_t)sizeof gs;
    if (lp_profiles_get_stats(j.h, &ps) != LP_OK ||
        lp_idgraph_get_stats(lp_profiles_idgraph(j.h), &gs) != LP_OK)
      st = store_error(&j, "stats");
    j.stored_rows = gs.events + ps.orders + ps.tag_facts;
  }
  if (c->state != NULL) lap(&j, "load state");
  if (st == PCTL_EXIT_OK && c->rules != NULL)
    st = pctl_rules_load(lp_profiles_idgraph(j.h), c->rules, &rules);
  csv_in ev;
  memset(&ev, 0, sizeof ev);
  static event_cols ecols;
  uint64_t sizes[3] = {0, 0, 0};
  const char *inputs[3] = {c->events, c->orders, c->facts};
  for (int i = 0; i < 3; i++) {
    struct stat sb;
    if (inputs[i] != NULL && stat(inputs[i], &sb) == 0 && S_ISREG(sb.st_mode))
      sizes[i] = (uint64_t)sb.st_size;
    j.total_bytes += sizes[i];
  }
  if (st == PCTL_EXIT_OK) st = csv_begin(c->events, &ev);
  if (st == PCTL_EXIT_OK)
    st = map_events(ev.csv, c->events, &rules, &ecols);
  if (st == PCTL_EXIT_OK && c->state == NULL) st = configure_graph(&j, &rules);
  if (st == PCTL_EXIT_OK) st = set_options(&j);
  if (st == PCTL_EXIT_OK && c->taxonomy != NULL) st = load_taxonomy(&j, c->taxonomy);
  if (st == PCTL_EXIT_OK) st = list_tags(&j);
  pctl_progress_opts po;
  pctl_progress_opts_init(&po);
  po.mode = (pctl_progress_mode)c->progress;
  po.total_bytes = j.total_bytes;
  pctl_progress_start(&j.progress, &po);
  if (st == PCTL_EXIT_OK) st = read_events(&j, &ev, sizes[0], &ecols);
  lap(&j, "events");
  csv_end(&ev);
  if (st == PCTL_EXIT_OK) st = read_orders(&j);
  lap(&j, "orders");
  if (st == PCTL_EXIT_OK && c->facts != NULL) st = read_facts(&j);
  if (c->facts != NULL) lap(&j, "facts");
  pctl_progress_finish(&j.progress);
  if (c->state != NULL && c->refit != PCTL_RUN_REFIT_ALWAYS) {
    uint64_t added = j.event_rows + j.order_rows + j.fact_rows;
    j.keep_models = c->refit == PCTL_RUN_REFIT_NEVER ||
                    added * 100 <= (uint64_t)c->refit_threshold * j.stored_rows;
    if (st == PCTL_EXIT_OK && !j.keep_models) st = drop_models(&j);
  }
  /* kept models: the inputs are the last change to the store (unless
   * fit_models() finds a model to fit or drop after all) */
  if (st == PCTL_EXIT_OK && j.keep_models) save_begin(&j);
  if (j.save_forked) lap(&j, "fork for the save");
  if (st == PCTL_EXIT_OK) st = ids_begin(&j);
  lap(&j, "identifier rows");
  if (st == PCTL_EXIT_OK && lp_profiles_refresh(j.h) != LP_OK) st = store_error(&j, "view");
  lap(&j, "view");
  if (st == PCTL_EXIT_OK) st = fit_models(&j);
  if (j.store_changed) save_cancel(&j);
  if (st == PCTL_EXIT_OK && !j.save_forked) {
    save_begin(&j); /* the models fitted: the store is final */
    if (j.save_forked) lap(&j, "fork for the save");
  }
  if (st == PCTL_EXIT_OK) st = write_outputs(&j);
  save_cancel(&j); /* the run failed before write_outputs() waited */
  st = ids_end(&j, st); /* when the run failed before write_outputs() waited */
  if (c->timings) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
      fprintf(stderr, PCTL_PROGRAM " " CMD ": peak memory %.0f MiB\n", (double)ru.ru_maxrss / 1024.0);
  }
  pctl_rules_free(&rules);
  free(j.tag_ids);
  free(j.tag_info);
  if (!pctl_fast_exit(st)) lp_profiles_free(j.h);
  return st;
}

/* ---- the command ---- */

static int run_run(int argc, char **argv) {
  pctl_run_config c;
  pctl_run_config_init(&c);
  static const char *const progress_modes[] = {"auto", "always", "never", NULL};
  static const char *const refit_modes[] = {"always", "auto", "never", NULL};
  const pctl_option table[] = {
      PCTL_REQUIRED(PCTL_OPT_PATH("events", 0, "FILE", &c.events, NULL,
                                  "events CSV: ts, optional source, one column per identifier type\n"
                                  "(the 'profilectl identity' input; header only with --state)")),
      PCTL_REQUIRED(PCTL_OPT_PATH("orders", 0, "FILE", &c.orders, NULL,
                                  "orders CSV: order_id,ts,id_type,id,amount (amounts exact decimals)")),
      PCTL_OPT_PATH("facts", 0, "FILE", &c.facts, NULL,
                    "tag facts CSV: id_type,id (or profile_id),tag,value,expires_at\n"
                    "(+ optional set_at); empty expires_at = never"),
      PCTL_OPT_PATH("rules", 0, "FILE", &c.rules, NULL,
                    "identity rules INI as in 'profilectl identity' (a new store only)"),
      PCTL_OPT_PATH("taxonomy", 0, "FILE", &c.taxonomy, NULL,
                    "tag taxonomy INI as in 'profilectl tags' (every tag becomes a column;\n"
                    "rule tags are computed over the view at --as-of)"),
      PCTL_OPT_STRING("key", 0, "KEY", &c.key, DEFAULT_KEY, "hash key (1 to 64 bytes; the same for --state)"),
      PCTL_OPT_FLAG("raw", 0, &c.raw, "keep and print normalised values instead of hashes"),
      PCTL_REQUIRED(PCTL_OPT_DATE("as-of", 0, "DATE", &c.as_of, NULL,
                                  "evaluation time (no order may be later)")),
      PCTL_REQUIRED(PCTL_OPT_PATH("out-dir", 0, "DIR", &c.out_dir, NULL,
                                  "writes profiles.csv, identifiers.csv, state.lps, report.html")),
      PCTL_OPT_PATH("state", 0, "FILE", &c.state, NULL, "start from a saved store (DIR/state.lps of an earlier run)"),
      PCTL_OPT_INT("k", 0, "K", &c.k, 0, PCTL_REPORT_MAX_K, "4", "k-means clusters (0: none)"),
      PCTL_OPT_INT("n-init", 0, "N", &c.n_init, 1, 100, "3", "k-means restarts"),
      PCTL_OPT_INT("seed", 0, "S", &c.seed, 0, INT64_MAX, "42", "k-means seed"),
      PCTL_OPT_ENUM("clv", 0, "MODEL", &c.clv, clv_names, "bgnbd", "CLV purchase model (with Gamma-Gamma spend)"),
      PCTL_OPT_INT("horizon", 0, "DAYS", &c.horizon, 0, 100000, "365", "CLV horizon"),
      PCTL_OPT_INT("decimals", 0, "N", &c.decimals, 0, 6, "2", "decimal places of the amounts (minor units)"),
      PCTL_OPT_INT("drift-days", 0, "DAYS", &c.drift_days, 1, 3650, "30",
                   "the report's lifecycle transitions: stages after DAYS without an order"),
      PCTL_OPT_ENUM("progress", 0, "WHEN", &c.progress, progress_modes, "auto",
                    "progress line on stderr (auto: on a terminal)"),
      PCTL_OPT_STRING("title", 0, "TEXT", &c.title, "Customer profiles", "the report's heading"),
      PCTL_OPT_ENUM("refit", 0, "WHEN", &c.refit, refit_modes, "always",
                    "with --state: fit CLV and k-means again (always), keep the saved store's\n"
                    "models (never), or keep them unless the new rows exceed --refit-threshold\n"
                    "(auto); only 'always' guarantees the outputs of one run over all the rows"),
      PCTL_OPT_INT("refit-threshold", 0, "PCT", &c.refit_threshold, 0, 1000, "5",
                   "--refit auto: refit when the new rows (events, orders, facts) exceed PCT %\n"
                   "of the saved store's"),
      PCTL_OPT_FLAG("timings", 0, &c.timings, "print the time of each step and the peak memory on stderr"),
      PCTL_OPT_INT("threads", 0, "N", &c.threads, 0, PCTL_PAR_MAX, "0",
                   "threads reading the events file (0: the online CPUs, at most 2, for\n"
                   "files of 1 MiB or more); the outputs do not depend on it"),
      PCTL_OPT_INT("chunk-size", 0, "BYTES", &c.chunk, 1, INT64_C(1) << 40, "1048576",
                   "bytes of the events file a thread parses at a time with --threads 2\n"
                   "or more; the outputs do not depend on it"),
      PCTL_OPT_INT("time-window", 0, "N", &c.time_window, 0, PCTL_MAX_TIME_WINDOW, "8192",
                   PCTL_TIME_WINDOW_HELP),
      PCTL_OPT_END,
  };
  pctl_operands ops;
  int st = pctl_parse_options(&pctl_cmd_run, table, argc, argv, &ops);
  if (st == PCTL_EXIT_OK) st = pctl_want_operands(&pctl_cmd_run, &ops, 0, 0, "argument");
  if (st != PCTL_EXIT_OK) return st;
  if (strlen(c.key) == 0 || strlen(c.key) > LP_IDGRAPH_MAX_KEY_LEN)
    return pctl_usage_error(CMD, "--key must be 1 to %d bytes", LP_IDGRAPH_MAX_KEY_LEN);
  return pctl_run_job(&c);
}

const pctl_command pctl_cmd_run = {
    CMD,
    "--events FILE --orders FILE [--facts FILE] [--rules FILE] [--taxonomy FILE] "
    "[--key KEY | --raw] --as-of DATE --out-dir DIR [--state FILE] [--k K] "
    "[--refit always|auto|never] [--threads N]",
    "the whole job on your files: profiles, RFM, CLV, clusters, tags, report",
    "Merges the events' identifiers into profiles, keeps every order and tag\n"
    "fact against the identifier it arrived with, scores RFM and lifecycle at\n"
    "--as-of, fits a CLV model and k-means on the profiles, and writes to DIR:\n"
    "profiles.csv (one row per profile, ascending profile_id: profile_id,\n"
    "identifiers,first_seen,last_seen,recency_days,frequency,monetary,r,f,m,\n"
    "segment,lifecycle,p_alive,expected_purchases,clv,cluster, then one column\n"
    "per tag), identifiers.csv (type,value,profile_id as 'profilectl\n"
    "identity' prints them), state.lps (the saved store) and report.html.\n"
    "With --state the run starts from that store, so a daily job feeds only\n"
    "the new rows: the outputs equal one run over all the rows (--refit\n"
    "never|auto keep the saved models instead of fitting them again: faster,\n"
    "but the model columns then differ from one run). A summary goes to\n"
    "stderr, a progress line to a terminal.\n",
    run_run,
};
