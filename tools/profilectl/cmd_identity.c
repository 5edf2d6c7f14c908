/*
 * profilectl identity: merge the identifiers of an events CSV file into
 * profiles with libprofile's lp_idgraph and print type,value,profile_id.
 * SPDX-License-Identifier: MIT
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "csv.h"
#include "csvout.h"
#include "event_reader.h"
#include "event_window.h"
#include "libprofile.h"
#include "par.h"
#include "rules.h"
#include "textutil.h"
#include "timeparse.h"

#define CMD "identity"
#define DEFAULT_KEY "profilectl identity"
#define MAX_COLUMNS PCTL_EVENT_MAX_IDS

typedef struct id_opts {
  const char *path, *rules, *key;
  const char *explain[2];
  bool raw, timings;
  int64_t threads; /* 0: automatic */
  int64_t chunk;   /* bytes a thread reads at a time */
  int64_t time_window; /* events applied in time order at a time */
} id_opts;

static int parse_options(int argc, char **argv, id_opts *o) {
  const pctl_option table[] = {
    PCTL_OPT_PATH("rules", 0, "FILE", &o->rules, NULL,
                  "INI rules: [type NAME] with priority, limit, unique,\n"
                  "normalizer (generic|fold|email|email-gmail|phone),\n"
                  "country_code, block = VALUE (repeatable); [graph] with\n"
                  "quarantine_after, default_blocklist. See docs/identity.md."),
    PCTL_OPT_STRING("key", 0, "KEY", &o->key, DEFAULT_KEY, "hash key (1 to 64 bytes)"),
    PCTL_OPT_FLAG("raw", 0, &o->raw, "print normalised values instead of hashes"),
    PCTL_OPT_PAIR("explain", 0, "A B", o->explain,
                  "print the chain of events joining identifiers A and B\n(each TYPE:VALUE)"),
    PCTL_OPT_INT("threads", 0, "N", &o->threads, 0, PCTL_PAR_MAX, "0",
                 "threads reading FILE (0: the online CPUs, at most 2, for files\n"
                 "of 1 MiB or more); the output does not depend on it"),
    PCTL_OPT_INT("chunk-size", 0, "BYTES", &o->chunk, 1, INT64_C(1) << 40, "1048576",
                 "bytes of FILE a thread parses at a time with --threads 2 or more;\n"
                 "the output does not depend on it"),
    PCTL_OPT_INT("time-window", 0, "N", &o->time_window, 0, PCTL_MAX_TIME_WINDOW, "8192",
                 PCTL_TIME_WINDOW_HELP),
    PCTL_OPT_FLAG("timings", 0, &o->timings,
                  "print the wall, process CPU and main-thread CPU time of each step\n"
                  "and the peak memory so far on stderr"),
    PCTL_OPT_END,
  };
  int rc = pctl_parse_file_command(&pctl_cmd_identity, table, argc, argv, &o->path);
  if (rc != PCTL_EXIT_OK) return rc;
  if (strlen(o->key) == 0 || strlen(o->key) > LP_IDGRAPH_MAX_KEY_LEN)
    return pctl_usage_error(CMD, "--key must be 1 to %d bytes", LP_IDGRAPH_MAX_KEY_LEN);
  return PCTL_EXIT_OK;
}

/* ---- --timings ---- */

typedef struct clocks {
  bool on;
  double t[3]; /* wall, process CPU, this thread's CPU at the previous lap */
} clocks;

static void lap(clocks *k, const char *what) {
  if (!k->on) return;
  static const clockid_t which[3] = {CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                                     CLOCK_THREAD_CPUTIME_ID};
  double t[3];
  for (int i = 0; i < 3; i++) {
    struct timespec ts;
    clock_gettime(which[i], &ts);
    t[i] = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
  }
  struct rusage ru;
  double peak = getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss / 1024.0 : 0.0;
  if (what != NULL)
    fprintf(stderr,
            PCTL_PROGRAM " " CMD ": time: %-16s %7.3f s wall %7.3f s cpu %7.3f s main, peak %.0f MB\n",
            what, t[0] - k->t[0], t[1] - k->t[1], t[2] - k->t[2], peak);
  memcpy(k->t, t, sizeof t);
}

/* ---- the graph ---- */

static int fail_graph(lp_idgraph *g, const char *what) {
  pctl_error("%s: %s", what, lp_idgraph_errmsg(g));
  return PCTL_EXIT_FAILURE;
}

static int configure(lp_idgraph *g, pctl_rules *r, const id_opts *o) {
  if (lp_idgraph_set_key(g, o->key, strlen(o->key)) != LP_OK ||
      lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, o->raw) != LP_OK ||
      lp_idgraph_set_int(g, LP_IDGRAPH_DEFAULT_BLOCKLIST, r->default_blocklist) != LP_OK ||
      (r->quarantine > 0 && lp_idgraph_set_int(g, LP_IDGRAPH_QUARANTINE_AFTER, r->quarantine) != LP_OK))
    return fail_graph(g, "settings");
  for (size_t i = 0; i < r->ntypes; i++) {
    uint32_t id;
    if (lp_idgraph_add_type(g, &r->types[i].def, &id) != LP_OK) return fail_graph(g, r->types[i].name);
  }
  for (size_t i = 0; i < r->nblocks; i++) {
    uint32_t id;
    const char *v = r->blocks[i] + strlen(r->blocks[i]) + 1;
    if (lp_idgraph_find_type(g, r->blocks[i], &id) != LP_OK ||
        lp_idgraph_block_value(g, id, v, strlen(v)) != LP_OK)
      return fail_graph(g, "block");
  }
  return PCTL_EXIT_OK;
}

typedef pctl_event_columns columns;

static int map_columns(pctl_csv *csv, pctl_rules *r, const char *path, columns *c) {
  if (pctl_csv_read_header(csv) != LP_OK) {
    return pctl_csv_report(csv, path);
  }
  c->ts = c->source = SIZE_MAX;
  c->n = 0;
  size_t cols = pctl_csv_header_count(csv);
  for (size_t i = 0; i < cols; i++) {
    pctl_csv_field h = pctl_csv_header_name(csv, i);
    if (h.len == 2 && memcmp(h.ptr, "ts", 2) == 0) {
      c->ts = i;
    } else if (h.len == 6 && memcmp(h.ptr, "source", 6) == 0) {
      c->source = i;
    } else {
      if (h.len == 0 || h.len > LP_IDGRAPH_MAX_TYPE_NAME_LEN || memchr(h.ptr, 0, h.len) != NULL)
        return pctl_data_error(path, 1, "column %zu: identifier column names must be 1 to %d bytes",
                               i + 1, LP_IDGRAPH_MAX_TYPE_NAME_LEN);
      if (c->n == MAX_COLUMNS)
        return pctl_data_error(path, 1, "more than %d identifier columns", MAX_COLUMNS);
      if (pctl_rules_add(r, h.ptr) == NULL) {
        pctl_error("%s: more than %d identifier types", path, LP_IDGRAPH_MAX_TYPES);
        return PCTL_EXIT_FAILURE;
      }
      c->col[c->n++] = i;
    }
  }
  if (c->ts == SIZE_MAX) {
    pctl_error("%s: no 'ts' column", path);
    return PCTL_EXIT_FAILURE;
  }
  return PCTL_EXIT_OK;
}

/* Apply one event of the reader to the graph. */
typedef struct applier {
  lp_idgraph *g;
  const char *path;
} applier;

static int apply_event(void *ud, const pctl_event *ev) {
  const applier *a = ud;
  if (lp_idgraph_observe_prepared(a->g, ev->ids, ev->n, ev->ts, ev->source, ev->source_len,
                                  NULL) != LP_OK)
    return pctl_data_error(a->path, ev->line, "%s", lp_idgraph_errmsg(a->g));
  return PCTL_EXIT_OK;
}

/* ---- output ---- */

typedef struct out_row {
  /* The stored hash; with --raw, once sorting starts, the value's first
   * bytes (zero-padded), so the radix passes read no other memory. */
  uint8_t hash[LP_IDGRAPH_HASH_SIZE];
  uint64_t pid;
  const char *raw;  /* normalised value with --raw, else NULL */
  uint32_t raw_len; /* at most LP_IDGRAPH_MAX_VALUE_LEN */
  uint16_t type;
  uint16_t rank; /* of the type's name among all type names */
} out_row;

/* The order of the output: type name, then the value (the raw bytes,
 * shorter first on a common prefix, or the hash, whose hex text sorts as
 * its bytes). Never 0 for two identifiers. */
static int cmp_rows(const out_row *x, const out_row *y) {
  if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
  if (x->raw != NULL && y->raw != NULL) {
    size_t n = x->raw_len < y->raw_len ? x->raw_len : y->raw_len;
    int c = memcmp(x->raw, y->raw, n);
    if (c != 0) return c;
    return x->raw_len < y->raw_len ? -1 : (x->raw_len > y->raw_len);
  }
  return memcmp(x->hash, y->hash, LP_IDGRAPH_HASH_SIZE);
}

static int cmp_rows_q(const void *a, const void *b) { return cmp_rows(a, b); }

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* Profile id, then type id, then the hash as two 64-bit words (high, low):
 * the order lp_idgraph_profiles() and lp_idgraph_profile_identifiers()
 * give. */
static int cmp_profile_order_q(const void *a, const void *b) {
  const out_row *x = a, *y = b;
  if (x->pid != y->pid) return x->pid < y->pid ? -1 : 1;
  if (x->type != y->type) return x->type < y->type ? -1 : 1;
  uint64_t xh = le64(x->hash + 8), yh = le64(y->hash + 8);
  if (xh != yh) return xh < yh ? -1 : 1;
  uint64_t xl = le64(x->hash), yl = le64(y->hash);
  if (xl != yl) return xl < yl ? -1 : 1;
  return 0;
}

/* Sort key digit `level` of a row: the rank, then the value's bytes
 * (zero past the end of a raw value: cmp_rows settles such ties). */
static unsigned digit(const out_row *r, unsigned level, bool raw) {
  if (level == 0) return r->rank;
  size_t i = level - 1;
  if (!raw || i < LP_IDGRAPH_HASH_SIZE) return r->hash[i];
  return i < r->raw_len ? (unsigned char)r->raw[i] : 0u;
}

#define SORT_DEPTH_HASH 9 /* the rank and 8 bytes of the hash */
#define SORT_DEPTH_RAW 65 /* the rank and 64 bytes of a raw value */
#define SORT_SMALL 24

/* Count the rows of `a` by digit `level` into `count` and move them into
 * those buckets in place (the permutation of an American flag sort). */
static void partition(out_row *a, size_t n, unsigned level, bool raw, size_t count[256]) {
  memset(count, 0, 256 * sizeof *count);
  for (size_t i = 0; i < n; i++) count[digit(&a[i], level, raw)]++;
  size_t next[256], end[256], sum = 0;
  for (unsigned d = 0; d < 256; d++) {
    next[d] = sum;
    sum += count[d];
    end[d] = sum;
  }
  for (unsigned d = 0; d < 256; d++) {
    while (next[d] < end[d]) {
      out_row x = a[next[d]];
      unsigned k = digit(&x, level, raw);
      while (k != d) {
        out_row y = a[next[k]];
        a[next[k]++] = x;
        x = y;
        k = digit(&x, level, raw);
      }
      a[next[d]++] = x;
    }
  }
}

/* In-place MSD radix sort by cmp_rows() from digit `level` on: bucket by
 * that digit, then each bucket by the next; small buckets, and those equal
 * in all the digits looked at, by comparison. No second array: the rows
 * themselves are moved, so the output reads them in order. */
static void flag_sort(out_row *a, size_t n, unsigned level, bool raw) {
  if (n < SORT_SMALL) {
    for (size_t i = 1; i < n; i++) {
      out_row x = a[i];
      size_t j = i;
      for (; j > 0 && cmp_rows(&a[j - 1], &x) > 0; j--) a[j] = a[j - 1];
      a[j] = x;
    }
    return;
  }
  if (level >= (raw ? SORT_DEPTH_RAW : SORT_DEPTH_HASH)) {
    qsort(a, n, sizeof *a, cmp_rows_q);
    return;
  }
  size_t count[256];
  partition(a, n, level, raw, count);
  size_t from = 0;
  for (unsigned d = 0; d < 256; d++) {
    if (count[d] > 1) flag_sort(a + from, count[d], level + 1, raw);
    from += count[d];
  }
}

static void put_value(pctl_csvout *w, const out_row *row);
static void put_u64(pctl_csvout *w, uint64_t v);

static void put_rows(pctl_csvout *w, const pctl_rules *r, const out_row *rows, size_t n) {
  for (size_t i = 0; i < n; i++) {
    pctl_csvout_str(w, r->types[rows[i].type].name);
    put_value(w, &rows[i]);
    put_u64(w, rows[i].pid);
    pctl_csvout_end_row(w);
  }
}

/* One step of the output: sort the rows of one type (a worker), or write
 * the rows of the type before (the main thread, which owns the writer). */
typedef struct out_task {
  out_row *rows;
  size_t n;
  bool raw;
  pctl_csvout *w; /* non-NULL: write instead of sorting */
  const pctl_rules *r;
} out_task;

static void run_out_task(void *arg) {
  const out_task *t = arg;
  if (t->w != NULL) put_rows(t->w, t->r, t->rows, t->n);
  else if (t->n > 1) flag_sort(t->rows, t->n, 1, t->raw);
}

/* Sort the rows and write them. The rows are first split by type (the
 * first digit); with several threads type i is sorted while type i - 1 is
 * written. */
static void sort_and_write(out_row *rows, size_t n, const pctl_rules *r, size_t threads,
                           pctl_csvout *w) {
  size_t with_raw = 0;
  for (size_t i = 0; i < n; i++) with_raw += rows[i].raw != NULL;
  if (with_raw != 0 && with_raw != n) { /* raw values for some rows only */
    /* cmp_rows is no total order on such a mix, so the result depends on
     * the order qsort starts from: the per-profile order (profile, type,
     * hash) the rows were listed in before, so the bytes stay the same. */
    qsort(rows, n, sizeof *rows, cmp_profile_order_q);
    qsort(rows, n, sizeof *rows, cmp_rows_q);
    put_rows(w, r, rows, n);
    return;
  }
  bool raw = with_raw != 0;
  for (size_t i = 0; raw && i < n; i++) {
    size_t k = rows[i].raw_len < LP_IDGRAPH_HASH_SIZE ? rows[i].raw_len : LP_IDGRAPH_HASH_SIZE;
    memset(rows[i].hash, 0, LP_IDGRAPH_HASH_SIZE);
    memcpy(rows[i].hash, rows[i].raw, k);
  }
  size_t count[256], from[257];
  partition(rows, n, 0, raw, count);
  from[0] = 0;
  for (unsigned d = 0; d < 256; d++) from[d + 1] = from[d] + count[d];
  for (unsigned d = 0; d <= LP_IDGRAPH_MAX_TYPES; d++) {
    out_task t[2] = {{rows + from[d ? d - 1 : 0], d ? count[d - 1] : 0, raw, w, r},
                     {rows + from[d], d < LP_IDGRAPH_MAX_TYPES ? count[d] : 0, raw, NULL, r}};
    if (threads > 1 && t[0].n > 0 && t[1].n > 1) {
      pctl_par_run(2, run_out_task, t, sizeof *t);
    } else {
      run_out_task(&t[1]);
      run_out_task(&t[0]);
    }
  }
}

static void hex(const uint8_t *h, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < LP_IDGRAPH_HASH_SIZE; i++) {
    out[2 * i] = digits[h[i] >> 4];
    out[2 * i + 1] = digits[h[i] & 15];
  }
  out[2 * LP_IDGRAPH_HASH_SIZE] = 0;
}

/* Every stored identifier with its profile, in the graph's storage order
 * (one pass, paged through a fixed buffer; the output sorts them). */
static int collect(lp_idgraph *g, const pctl_rules *r, const lp_idgraph_stats *stats,
                   out_row **out, size_t *count) {
  uint16_t rank[LP_IDGRAPH_MAX_TYPES];
  for (size_t t = 0; t < r->ntypes; t++) {
    rank[t] = 0;
    for (size_t u = 0; u < r->ntypes; u++)
      if (strcmp(r->types[u].name, r->types[t].name) < 0) rank[t]++;
  }
  enum { PAGE = 1024 };
  size_t n = 0, total = (size_t)stats->identifiers;
  out_row *rows = malloc(total * sizeof *rows + 1);
  lp_idgraph_ident_row *page = malloc(PAGE * sizeof *page);
  int rc = rows != NULL && page != NULL ? LP_OK : LP_ENOMEM;
  for (size_t got = PAGE; rc == LP_OK && got == PAGE;) {
    rc = lp_idgraph_identifiers(g, n, page, PAGE, &got);
    if (rc == LP_OK && got > total - n) rc = LP_ELIMIT; /* more than the counters said */
    for (size_t i = 0; rc == LP_OK && i < got; i++, n++) {
      const lp_idgraph_ident_info *info = &page[i].ident;
      rows[n].type = (uint16_t)info->type;
      rows[n].rank = rank[info->type];
      memcpy(rows[n].hash, info->hash, sizeof rows[n].hash);
      rows[n].raw = info->value;
      rows[n].raw_len = (uint32_t)info->len;
      rows[n].pid = page[i].profile_id;
    }
  }
  free(page);
  if (rc != LP_OK) {
    free(rows);
    if (rc == LP_ENOMEM || rc == LP_ELIMIT) {
      pctl_error("listing identifiers: %s",
                 rc == LP_ENOMEM ? strerror(ENOMEM) : "more identifiers than the graph counted");
      return PCTL_EXIT_FAILURE;
    }
    return fail_graph(g, "listing identifiers");
  }
  *out = rows;
  *count = n;
  return PCTL_EXIT_OK;
}

static void put_value(pctl_csvout *w, const out_row *row) {
  if (row->raw == NULL) {
    char text[2 * LP_IDGRAPH_HASH_SIZE + 1];
    hex(row->hash, text);
    pctl_csvout_field(w, text, 2 * LP_IDGRAPH_HASH_SIZE);
  } else {
    pctl_csvout_field(w, row->raw, row->raw_len);
  }
}

static void put_u64(pctl_csvout *w, uint64_t v) {
  char b[24];
  size_t i = sizeof b;
  do {
    b[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  pctl_csvout_field(w, b + i, sizeof b - i);
}

static int parse_ident(lp_idgraph *g, const char *text, lp_idgraph_ident *id) {
  const char *colon = strchr(text, ':');
  char name[LP_IDGRAPH_MAX_TYPE_NAME_LEN + 1];
  size_t tl = colon != NULL ? (size_t)(colon - text) : 0;
  if (colon == NULL || tl == 0 || tl >= sizeof name)
    return pctl_usage_error(CMD, "--explain expects TYPE:VALUE, not '%s'", text);
  memcpy(name, text, tl);
  name[tl] = 0;
  if (lp_idgraph_find_type(g, name, &id->type) != LP_OK) {
    pctl_error("--explain: unknown identifier type '%s'", name);
    return PCTL_EXIT_FAILURE;
  }
  id->value = colon + 1;
  id->len = strlen(colon + 1);
  return PCTL_EXIT_OK;
}

static const out_row *row_of(const out_row *rows, size_t n, const uint8_t *hash) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(rows[i].hash, hash, LP_IDGRAPH_HASH_SIZE) == 0) return &rows[i];
  return NULL;
}

static int explain(lp_idgraph *g, const pctl_rules *r, const id_opts *o, const out_row *rows,
                   size_t n) {
  lp_idgraph_ident a, b;
  int status = parse_ident(g, o->explain[0], &a);
  if (status == PCTL_EXIT_OK) status = parse_ident(g, o->explain[1], &b);
  if (status != PCTL_EXIT_OK) return status;
  /* Ask the length first, then fetch exactly that many steps. */
  size_t count = 0;
  int rc = lp_idgraph_explain(g, &a, &b, NULL, 0, &count);
  if (rc != LP_OK && rc != LP_EBUFSIZE) return fail_graph(g, "--explain");
  lp_idgraph_step *steps = malloc((count ? count : 1) * sizeof *steps);
  if (steps == NULL) {
    pctl_error("--explain: %s", strerror(ENOMEM));
    return PCTL_EXIT_FAILURE;
  }
  if (lp_idgraph_explain(g, &a, &b, steps, count, &count) != LP_OK) {
    free(steps);
    return fail_graph(g, "--explain");
  }
  static const char *const header[] = {"step", "from_type", "from", "to_type", "to", "ts", "source"};
  pctl_csvout w;
  pctl_csvout_stream(&w, stdout, "standard output");
  pctl_csvout_strs(&w, header, PCTL_ARRAY_LEN(header));
  pctl_csvout_end_row(&w);
  for (size_t i = 0; i < count; i++) {
    const out_row *f = row_of(rows, n, steps[i].from), *t = row_of(rows, n, steps[i].to);
    char when[40];
    pctl_time_format_iso8601(steps[i].ts, when, sizeof when);
    pctl_csvout_u64(&w, i + 1);
    pctl_csvout_str(&w, r->types[f->type].name);
    put_value(&w, f);
    pctl_csvout_str(&w, r->types[t->type].name);
    put_value(&w, t);
    pctl_csvout_str(&w, when);
    pctl_csvout_str(&w, steps[i].source);
    pctl_csvout_end_row(&w);
  }
  free(steps);
  return pctl_csvout_close(&w);
}

static int report(lp_idgraph *g, const pctl_rules *r, const id_opts *o, uint64_t rows_read,
                  size_t threads, clocks *k) {
  out_row *rows;
  size_t n;
  lp_idgraph_stats st = LP_IDGRAPH_STATS_INIT;
  lp_idgraph_get_stats(g, &st);
  int status = collect(g, r, &st, &rows, &n);
  if (status != PCTL_EXIT_OK) return status;
  lap(k, "list identifiers");
  if (o->explain[0] != NULL) {
    status = explain(g, r, o, rows, n);
  } else {
    pctl_csvout w;
    pctl_csvout_stream(&w, stdout, "standard output");
    static const char *const header[] = {"type", "value", "profile_id"};
    pctl_csvout_strs(&w, header, PCTL_ARRAY_LEN(header));
    pctl_csvout_end_row(&w);
    sort_and_write(rows, n, r, threads, &w);
    status = pctl_csvout_close(&w);
    lap(k, "sort and write");
  }
  free(rows);
  fprintf(stderr,
          "profilectl identity: %llu rows, %llu events, %llu identifiers, %llu profiles, "
          "%llu merges, %llu conflicts refused, %llu blocked, %llu invalid, %llu quarantined\n",
          (unsigned long long)rows_read, (unsigned long long)st.events,
          (unsigned long long)st.identifiers, (unsigned long long)st.profiles,
          (unsigned long long)st.merges, (unsigned long long)st.conflicts,
          (unsigned long long)st.blocked, (unsigned long long)st.invalid,
          (unsigned long long)st.quarantined);
  return status;
}

static int run_identity(int argc, char **argv) {
  id_opts o;
  int status = parse_options(argc, argv, &o);
  if (status != PCTL_EXIT_OK) return status;
  clocks k = {o.timings, {0, 0, 0}};
  lap(&k, NULL);
  static pctl_rules r;
  memset(&r, 0, sizeof r);
  r.default_blocklist = 1;
  lp_idgraph *g = NULL;
  if (lp_idgraph_create(NULL, &g) != LP_OK) {
    pctl_error("cannot create the identity graph: %s", strerror(ENOMEM));
    return PCTL_EXIT_FAILURE;
  }
  if (o.rules != NULL) status = pctl_rules_load(g, o.rules, &r);
  FILE *f = NULL;
  uint64_t size = 0;
  if (status == PCTL_EXIT_OK) status = pctl_open_input(o.path, &f, &size);
  pctl_csv *csv = NULL;
  if (status == PCTL_EXIT_OK && pctl_csv_open_file(NULL, f, &csv) != LP_OK)
    status = pctl_csv_report(NULL, o.path);
  static columns c;
  if (status == PCTL_EXIT_OK) status = map_columns(csv, &r, o.path, &c);
  if (status == PCTL_EXIT_OK) status = configure(g, &r, &o);
  for (size_t i = 0; status == PCTL_EXIT_OK && i < c.n; i++) {
    pctl_csv_field h = pctl_csv_header_name(csv, c.col[i]);
    if (lp_idgraph_find_type(g, h.ptr, &c.type[i]) != LP_OK) status = fail_graph(g, h.ptr);
  }
  /* With several threads the workers prepare on a second graph configured
   * the same way, which nothing changes while they run. */
  pctl_event_input in = {o.path, csv, size, &c, g, pctl_events_threads(o.threads, size), o.chunk};
  lp_idgraph *prep = NULL;
  if (status == PCTL_EXIT_OK && in.threads > 1) {
    if (lp_idgraph_create(NULL, &prep) != LP_OK) {
      pctl_error("cannot create the identity graph: %s", strerror(ENOMEM));
      status = PCTL_EXIT_FAILURE;
    } else {
      status = configure(prep, &r, &o);
      in.prep = prep;
    }
  }
  uint64_t rows = 0;
  applier a = {g, o.path};
  pctl_event_extra x = {false, NULL, NULL, (size_t)o.time_window};
  if (status == PCTL_EXIT_OK) status = pctl_events_read_ex(&in, &x, apply_event, &a, &rows);
  lp_idgraph_free(prep);
  if (status == PCTL_EXIT_OK && o.timings)
    fprintf(stderr, PCTL_PROGRAM " " CMD ": %zu thread%s\n", in.threads, in.threads > 1 ? "s" : "");
  lap(&k, "read and apply");
  if (status == PCTL_EXIT_OK) status = report(g, &r, &o, rows, in.threads, &k);
  lp_idgraph_free(g);
  pctl_csv_close(csv);
  pctl_close_input(f);
  pctl_rules_free(&r);
  if (status == PCTL_EXIT_OK) status = pctl_finish_stdout();
  return status;
}

const pctl_command pctl_cmd_identity = {
    CMD,
    "[--rules FILE] [--key KEY] [--raw] [--explain TYPE:VALUE TYPE:VALUE] [--threads N] FILE",
    "merge the identifiers of an events CSV file into profiles",
    "FILE has a header row: 'ts' (ISO-8601 or Unix seconds), optional 'source',\n"
    "and one column per identifier type (an empty cell is absent). Prints\n"
    "type,value,profile_id sorted by type then value; values are keyed hashes\n"
    "in hex unless --raw. The same rows in any order give the same bytes.\n"
    "A summary goes to stderr. With --threads N the rows are parsed and\n"
    "prepared on N - 1 threads while this one applies them in file order;\n"
    "the output and any error are the ones of one thread. The events are\n"
    "applied in time order within windows of --time-window events.\n",
    run_identity,
};
