/*
 * profilectl rfm: RFM scores, segments and lifecycle stages of a
 * transactions CSV file, through libprofile's lp_rfm.
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "core/strpool.h"
#include "core/vec.h"
#include "csv.h"
#include "decimal.h"
#include "libprofile.h"
#include "textutil.h"
#include "timeparse.h"

#define CMD "rfm"
#define DAY_SECONDS INT64_C(86400)
#define QTY_SCALE 6u
#define NO_ORDER UINT32_MAX
#define BATCH 65536

typedef struct rfm_opts {
  const char *path;
  const char *as_of_text;
  int64_t as_of;
  const char *id_col, *ts_col, *amount_col, *qty_col, *price_col, *order_col;
  const char *segments;
  size_t bins;
  size_t scale;
  bool drop_missing_id;
} rfm_opts;

/* One input row, ids and orders interned. */
typedef struct row_in {
  uint32_t id;
  uint32_t order;
  int64_t ts;
  int64_t amount;
} row_in;

typedef struct rfm_input {
  lp_mem mem;
  lp_strpool ids;
  lp_strpool orders;
  lp_vec rows; /* row_in */
  uint64_t dropped;
} rfm_input;

static int parse_options(int argc, char **argv, rfm_opts *o) {
  memset(o, 0, sizeof *o);
  o->id_col = "customer_id";
  o->ts_col = "timestamp";
  o->segments = "rf10";
  o->bins = 5;
  o->scale = 2;
  pctl_args a;
  pctl_args_init(&a, argc, argv);
  const char *arg;
  bool option;
  int rc = PCTL_EXIT_OK;
  static const struct { const char *name; size_t off; } text_opts[] = {
      {"--as-of", offsetof(rfm_opts, as_of_text)},   {"--id-col", offsetof(rfm_opts, id_col)},
      {"--ts-col", offsetof(rfm_opts, ts_col)},       {"--amount-col", offsetof(rfm_opts, amount_col)},
      {"--qty-col", offsetof(rfm_opts, qty_col)},     {"--price-col", offsetof(rfm_opts, price_col)},
      {"--order-col", offsetof(rfm_opts, order_col)}, {"--segments", offsetof(rfm_opts, segments)},
  };
  while (rc == PCTL_EXIT_OK && pctl_args_next(&a, &arg, &option)) {
    if (!option) {
      if (o->path != NULL) return pctl_usage_error(CMD, "only one FILE may be given");
      o->path = arg;
      continue;
    }
    bool known = false;
    for (size_t i = 0; i < LP_ARRAY_LEN(text_opts) && !known; i++) {
      if (!pctl_args_is(arg, text_opts[i].name)) continue;
      known = true;
      rc = pctl_args_value(&a, arg, (const char **)((char *)o + text_opts[i].off));
    }
    if (known) continue;
    const char *v;
    if (pctl_args_is(arg, "--bins")) {
      rc = pctl_args_value(&a, arg, &v);
      if (rc == PCTL_EXIT_OK) rc = pctl_args_size(&a, "--bins", v, 1, &o->bins);
      if (rc == PCTL_EXIT_OK && o->bins > LP_RFM_MAX_BINS)
        return pctl_usage_error(CMD, "--bins must be 1..%u", LP_RFM_MAX_BINS);
    } else if (pctl_args_is(arg, "--scale")) {
      rc = pctl_args_value(&a, arg, &v);
      if (rc == PCTL_EXIT_OK) rc = pctl_args_size(&a, "--scale", v, 0, &o->scale);
      if (rc == PCTL_EXIT_OK && o->scale > 9) return pctl_usage_error(CMD, "--scale must be 0..9");
    } else if (strcmp(arg, "--drop-missing-id") == 0) {
      o->drop_missing_id = true;
    } else {
      return pctl_usage_error(CMD, "unknown option '%s'", arg);
    }
  }
  if (rc != PCTL_EXIT_OK) return rc;
  if (o->path == NULL) return pctl_usage_error(CMD, "missing FILE");
  if (o->as_of_text == NULL) return pctl_usage_error(CMD, "missing --as-of DATE");
  char err[PCTL_ERRBUF_SIZE];
  if (pctl_time_parse_iso8601(o->as_of_text, strlen(o->as_of_text), &o->as_of, err, sizeof err) !=
      LP_OK)
    return pctl_usage_error(CMD, "--as-of: %s", err);
  bool by_amount = o->amount_col != NULL, by_qty = o->qty_col != NULL || o->price_col != NULL;
  if (by_amount && by_qty)
    return pctl_usage_error(CMD, "give --amount-col or --qty-col with --price-col, not both");
  if (by_qty && (o->qty_col == NULL || o->price_col == NULL))
    return pctl_usage_error(CMD, "--qty-col and --price-col go together");
  if (!by_qty && !by_amount) o->amount_col = "amount";
  return PCTL_EXIT_OK;
}

/* Column positions; SIZE_MAX for the ones not used. */
typedef struct columns {
  size_t id, ts, amount, qty, price, order;
} columns;

static int find_column(pctl_csv *r, const rfm_opts *o, const char *name, size_t *out) {
  *out = SIZE_MAX;
  if (name == NULL) return PCTL_EXIT_OK;
  if (pctl_csv_column(r, name, out) != LP_OK) {
    pctl_error("%s: %s", o->path, pctl_csv_errmsg(r));
    return PCTL_EXIT_FAILURE;
  }
  return PCTL_EXIT_OK;
}

static int find_columns(pctl_csv *r, const rfm_opts *o, columns *c) {
  int rc = find_column(r, o, o->id_col, &c->id);
  if (rc == PCTL_EXIT_OK) rc = find_column(r, o, o->ts_col, &c->ts);
  if (rc == PCTL_EXIT_OK) rc = find_column(r, o, o->amount_col, &c->amount);
  if (rc == PCTL_EXIT_OK) rc = find_column(r, o, o->qty_col, &c->qty);
  if (rc == PCTL_EXIT_OK) rc = find_column(r, o, o->price_col, &c->price);
  if (rc == PCTL_EXIT_OK) rc = find_column(r, o, o->order_col, &c->order);
  return rc;
}

/* Exact amount of one row in minor units (10^-scale). */
static int row_amount(const pctl_csv_field *f, const columns *c, unsigned scale, int64_t *out,
                      char *err, size_t cap) {
  if (c->amount != SIZE_MAX)
    return pctl_decimal_parse(f[c->amount].ptr, f[c->amount].len, scale, out, err, cap);
  int64_t q, p;
  int rc = pctl_decimal_parse(f[c->qty].ptr, f[c->qty].len, QTY_SCALE, &q, err, cap);
  if (rc == LP_OK) rc = pctl_decimal_parse(f[c->price].ptr, f[c->price].len, scale, &p, err, cap);
  if (rc == LP_OK) rc = pctl_decimal_mul(q, QTY_SCALE, p, scale, scale, out, err, cap);
  return rc;
}

static int intern(lp_strpool *pool, const lp_mem *m, const pctl_csv_field *f, uint32_t *id) {
  bool added;
  return lp_strpool_intern(pool, m, f->ptr, f->len, id, &added);
}

/* Read every row into `in`; returns an exit status after printing errors. */
static int read_rows(pctl_csv *r, const rfm_opts *o, rfm_input *in) {
  if (pctl_csv_read_header(r) != LP_OK) {
    pctl_error("%s: %s", o->path, pctl_csv_errmsg(r));
    return PCTL_EXIT_FAILURE;
  }
  columns c;
  int status = find_columns(r, o, &c);
  if (status != PCTL_EXIT_OK) return status;
  char err[PCTL_ERRBUF_SIZE];
  for (;;) {
    int rc = pctl_csv_next(r);
    if (rc == PCTL_CSV_END) return PCTL_EXIT_OK;
    if (rc != PCTL_CSV_ROW) {
      pctl_error("%s: %s", o->path, pctl_csv_errmsg(r));
      return PCTL_EXIT_FAILURE;
    }
    size_t n;
    const pctl_csv_field *f = pctl_csv_fields(r, &n);
    unsigned long long line = (unsigned long long)pctl_csv_record_line(r);
    const char *idp = f[c.id].ptr;
    size_t idlen = f[c.id].len;
    pctl_trim_spaces(&idp, &idlen);
    if (idlen == 0) {
      if (o->drop_missing_id) {
        in->dropped++;
        continue;
      }
      pctl_error("%s: line %llu: missing %s (use --drop-missing-id to skip such rows)", o->path,
                 line, o->id_col);
      return PCTL_EXIT_FAILURE;
    }
    row_in row;
    const char *what = o->ts_col;
    rc = pctl_time_parse_iso8601(f[c.ts].ptr, f[c.ts].len, &row.ts, err, sizeof err);
    if (rc == LP_OK) {
      what = c.amount != SIZE_MAX ? o->amount_col : "quantity x price";
      rc = row_amount(f, &c, (unsigned)o->scale, &row.amount, err, sizeof err);
    }
    if (rc != LP_OK) {
      pctl_error("%s: line %llu: %s: %s", o->path, line, what, err);
      return PCTL_EXIT_FAILURE;
    }
    if (row.ts > o->as_of) {
      pctl_error("%s: line %llu: %s is after --as-of %s", o->path, line, o->ts_col,
                 o->as_of_text);
      return PCTL_EXIT_FAILURE;
    }
    row.order = NO_ORDER;
    rc = intern(&in->ids, &in->mem, &f[c.id], &row.id);
    if (rc == LP_OK && c.order != SIZE_MAX) rc = intern(&in->orders, &in->mem, &f[c.order], &row.order);
    if (rc == LP_OK) rc = lp_vec_push(&in->rows, &in->mem, &row);
    if (rc != LP_OK) {
      pctl_error("%s: line %llu: %s", o->path, line, lp_strerror(rc));
      return PCTL_EXIT_FAILURE;
    }
  }
}

static const lp_strpool *sort_pool;

static int cmp_id_text(const void *a, const void *b) {
  size_t la, lb;
  const char *sa = lp_strpool_get(sort_pool, *(const uint32_t *)a, &la);
  const char *sb = lp_strpool_get(sort_pool, *(const uint32_t *)b, &lb);
  int c = memcmp(sa, sb, la < lb ? la : lb);
  return c != 0 ? c : (la > lb) - (la < lb);
}

/* Profile ids are the ranks of the id texts in byte order, so the tie rule
 * "by ascending id" is byte order of the ids as given. `by_rank[k]` is the
 * pool entry of rank k; `rank[i]` the rank of pool entry i. */
static int rank_ids(const rfm_input *in, uint32_t **by_rank, uint64_t **rank) {
  size_t n = lp_strpool_count(&in->ids);
  *by_rank = malloc((n ? n : 1) * sizeof **by_rank);
  *rank = malloc((n ? n : 1) * sizeof **rank);
  if (*by_rank == NULL || *rank == NULL) return LP_ENOMEM;
  for (size_t i = 0; i < n; i++) (*by_rank)[i] = (uint32_t)i;
  sort_pool = &in->ids;
  qsort(*by_rank, n, sizeof **by_rank, cmp_id_text);
  for (size_t k = 0; k < n; k++) (*rank)[(*by_rank)[k]] = k;
  return LP_OK;
}

static int ingest(lp_rfm *h, const rfm_input *in, const uint64_t *rank) {
  static lp_rfm_txn batch[BATCH];
  size_t n = in->rows.len;
  for (size_t done = 0; done < n;) {
    size_t k = 0;
    for (; k < BATCH && done < n; k++, done++) {
      const row_in *r = lp_vec_at(&in->rows, done);
      lp_rfm_txn t = LP_RFM_TXN_INIT;
      t.profile_id = rank[r->id];
      t.ts = r->ts;
      t.amount = r->amount;
      if (r->order != NO_ORDER) {
        t.flags = LP_RFM_TXN_HAS_ORDER;
        t.order_id = r->order;
      }
      batch[k] = t;
    }
    int rc = lp_rfm_add(h, batch, k);
    if (rc != LP_OK) return rc;
  }
  return LP_OK;
}

/* A score bound from a rules file: blank means the end of the range. */
static int rule_bound(const pctl_csv_field *f, size_t col, uint32_t dflt, uint32_t *out,
                      char *err, size_t cap) {
  if (col == SIZE_MAX) {
    *out = dflt;
    return LP_OK;
  }
  const char *s = f[col].ptr;
  size_t len = f[col].len;
  pctl_trim_spaces(&s, &len);
  if (len == 0) {
    *out = dflt;
    return LP_OK;
  }
  int64_t v;
  int rc = pctl_decimal_parse(s, len, 0, &v, err, cap);
  if (rc == LP_OK && (v < 1 || v > (int64_t)LP_RFM_MAX_BINS)) {
    snprintf(err, cap, "score bound %lld is outside 1..%u", (long long)v, LP_RFM_MAX_BINS);
    rc = LP_ERANGE;
  }
  if (rc == LP_OK) *out = (uint32_t)v;
  return rc;
}

/* Rules file: CSV with a `segment` column and optional r_min, r_max, f_min,
 * f_max, m_min, m_max columns (blank or absent: the whole range 1..bins);
 * rows are tried in file order. */
static int load_rules_file(const rfm_opts *o, lp_rfm_segmap *map) {
  FILE *f;
  int status = pctl_open_input(o->segments, &f, NULL);
  if (status != PCTL_EXIT_OK) return status;
  pctl_csv *r = NULL;
  char err[PCTL_ERRBUF_SIZE] = "";
  int rc = pctl_csv_open_file(NULL, f, &r);
  if (rc == LP_OK) rc = pctl_csv_read_header(r);
  static const char *const names[7] = {"segment", "r_min", "r_max", "f_min",
                                       "f_max",   "m_min", "m_max"};
  size_t col[7];
  for (int i = 0; rc == LP_OK && i < 7; i++) {
    int c = pctl_csv_column(r, names[i], &col[i]);
    if (c == LP_ENOTFOUND && i > 0) col[i] = SIZE_MAX;
    else rc = c;
  }
  while (rc == LP_OK && (rc = pctl_csv_next(r)) == PCTL_CSV_ROW) {
    size_t n;
    const pctl_csv_field *fl = pctl_csv_fields(r, &n);
    uint32_t b[6];
    for (int i = 0; rc == LP_OK && i < 6; i++)
      rc = rule_bound(fl, col[i + 1], i % 2 == 0 ? 1u : (uint32_t)o->bins, &b[i], err, sizeof err);
    if (rc != LP_OK) break;
    lp_rfm_rule rule = LP_RFM_RULE_INIT;
    rule.name = fl[col[0]].ptr;
    rule.r_min = b[0], rule.r_max = b[1], rule.f_min = b[2];
    rule.f_max = b[3], rule.m_min = b[4], rule.m_max = b[5];
    rc = lp_rfm_segmap_add(map, &rule);
    if (rc != LP_OK) snprintf(err, sizeof err, "%s", lp_rfm_segmap_errmsg(map));
  }
  if (rc == PCTL_CSV_END) rc = LP_OK;
  if (rc != LP_OK) {
    if (err[0] == '\0') snprintf(err, sizeof err, "%s", r ? pctl_csv_errmsg(r) : lp_strerror(rc));
    pctl_error("--segments %s: line %llu: %s", o->segments,
               (unsigned long long)pctl_csv_record_line(r), err);
  }
  pctl_csv_close(r);
  pctl_close_input(f);
  return rc == LP_OK ? PCTL_EXIT_OK : PCTL_EXIT_FAILURE;
}

static int make_segmap(const rfm_opts *o, lp_rfm_segmap **map) {
  int rc;
  if (strcmp(o->segments, "rf10") == 0) rc = lp_rfm_segmap_builtin(NULL, LP_RFM_MAP_RF10, map);
  else if (strcmp(o->segments, "rfm11") == 0) rc = lp_rfm_segmap_builtin(NULL, LP_RFM_MAP_RFM11, map);
  else {
    rc = lp_rfm_segmap_create(NULL, map);
    if (rc == LP_OK) return load_rules_file(o, *map);
  }
  if (rc != LP_OK) {
    pctl_error("cannot create the segment map: %s", lp_strerror(rc));
    return PCTL_EXIT_FAILURE;
  }
  return PCTL_EXIT_OK;
}

/* RFC 4180 output: quote a field that holds a delimiter, quote, CR or LF. */
static void put_csv_field(const char *s, size_t len) {
  bool quote = false;
  for (size_t i = 0; i < len && !quote; i++)
    quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
  if (!quote) {
    fwrite(s, 1, len, stdout);
    return;
  }
  putchar('"');
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"') putchar('"');
    putchar(s[i]);
  }
  putchar('"');
}

static int64_t floor_days(int64_t seconds) {
  int64_t d = seconds / DAY_SECONDS;
  return (seconds % DAY_SECONDS != 0 && seconds < 0) ? d - 1 : d;
}

static void print_rows(const rfm_input *in, const uint32_t *by_rank, const lp_rfm_row *rows,
                       size_t n, const lp_rfm_segmap *map, unsigned scale) {
  puts("profile_id,recency_days,frequency,monetary,r,f,m,segment,lifecycle");
  for (size_t i = 0; i < n; i++) {
    const lp_rfm_row *row = &rows[i];
    size_t len;
    const char *id = lp_strpool_get(&in->ids, by_rank[row->profile_id], &len);
    put_csv_field(id, len);
    char money[PCTL_DECIMAL_BUF];
    pctl_decimal_format(row->monetary, scale, money, sizeof money);
    printf(",%lld,%lld,%s,%u,%u,%u,", (long long)floor_days(row->recency),
           (long long)row->frequency, money, row->r, row->f, row->m);
    const char *seg = lp_rfm_segmap_name(map, row->segment);
    put_csv_field(seg, strlen(seg));
    printf(",%s\n", lp_rfm_stage_name((int)row->stage));
  }
}

static int print_summary(const lp_rfm_row *rows, size_t n, const lp_rfm_segmap *map,
                         unsigned scale) {
  size_t nseg = lp_rfm_segmap_count(map);
  lp_rfm_segment_summary *s = calloc(nseg + 1, sizeof *s);
  size_t needed;
  if (s == NULL || lp_rfm_summarize(map, rows, n, s, nseg + 1, &needed) != LP_OK) {
    free(s);
    pctl_error("cannot summarize the segments (revenue overflows or no memory)");
    return PCTL_EXIT_FAILURE;
  }
  fprintf(stderr, "%-22s %10s %16s %7s %12s %10s %14s\n", "segment", "customers", "revenue",
          "share%", "recency_days", "frequency", "monetary");
  for (size_t i = 0; i <= nseg; i++) {
    if (s[i].customers == 0) continue;
    char rev[PCTL_DECIMAL_BUF];
    pctl_decimal_format(s[i].revenue, scale, rev, sizeof rev);
    double unit = 1.0;
    for (unsigned k = 0; k < scale; k++) unit *= 10.0;
    fprintf(stderr, "%-22s %10llu %16s %7.2f %12.1f %10.2f %14.2f\n",
            lp_rfm_segmap_name(map, i == nseg ? LP_RFM_SEGMENT_OTHERS : (uint32_t)i),
            (unsigned long long)s[i].customers, rev, 100.0 * s[i].revenue_share,
            s[i].mean_recency / (double)DAY_SECONDS, s[i].mean_frequency,
            s[i].mean_monetary / unit);
  }
  free(s);
  return PCTL_EXIT_OK;
}

static int score_and_print(lp_rfm *h, const rfm_opts *o, const rfm_input *in,
                           const uint32_t *by_rank, const lp_rfm_segmap *map) {
  size_t n = lp_rfm_count(h);
  lp_rfm_row *rows = malloc((n ? n : 1) * sizeof *rows);
  if (rows == NULL) {
    pctl_error("out of memory");
    return PCTL_EXIT_FAILURE;
  }
  lp_rfm_score_options so = LP_RFM_SCORE_OPTIONS_INIT;
  so.as_of = o->as_of;
  so.bins = (uint32_t)o->bins;
  int status = PCTL_EXIT_OK;
  if (lp_rfm_score(h, &so, map, rows, n, &n) != LP_OK) {
    pctl_error("scoring failed: %s", lp_rfm_errmsg(h));
    status = PCTL_EXIT_FAILURE;
  } else {
    print_rows(in, by_rank, rows, n, map, (unsigned)o->scale);
    status = print_summary(rows, n, map, (unsigned)o->scale);
    if (in->dropped > 0)
      fprintf(stderr, "dropped %llu rows without %s\n", (unsigned long long)in->dropped,
              o->id_col);
  }
  free(rows);
  return status;
}

static int run_rfm(int argc, char **argv) {
  rfm_opts o;
  int status = parse_options(argc, argv, &o);
  if (status != PCTL_EXIT_OK) return status;
  rfm_input in;
  memset(&in, 0, sizeof in);
  if (lp_mem_init(&in.mem, NULL) != LP_OK) return PCTL_EXIT_FAILURE;
  lp_strpool_init(&in.ids);
  lp_strpool_init(&in.orders);
  lp_vec_init(&in.rows, sizeof(row_in));
  lp_rfm_segmap *map = NULL;
  lp_rfm *h = NULL;
  uint32_t *by_rank = NULL;
  uint64_t *rank = NULL;
  status = make_segmap(&o, &map);
  FILE *f = NULL;
  if (status == PCTL_EXIT_OK) status = pctl_open_input(o.path, &f, NULL);
  if (status == PCTL_EXIT_OK) {
    pctl_csv *r;
    if (pctl_csv_open_file(NULL, f, &r) != LP_OK) {
      pctl_error("%s: cannot start reading", o.path);
      status = PCTL_EXIT_FAILURE;
    } else {
      status = read_rows(r, &o, &in);
      pctl_csv_close(r);
    }
    pctl_close_input(f);
  }
  if (status == PCTL_EXIT_OK) {
    int rc = rank_ids(&in, &by_rank, &rank);
    if (rc == LP_OK) rc = lp_rfm_create(NULL, &h);
    if (rc == LP_OK) rc = ingest(h, &in, rank);
    if (rc != LP_OK) {
      pctl_error("%s: %s", o.path, h != NULL ? lp_rfm_errmsg(h) : lp_strerror(rc));
      status = PCTL_EXIT_FAILURE;
    }
  }
  if (status == PCTL_EXIT_OK) status = score_and_print(h, &o, &in, by_rank, map);
  if (status == PCTL_EXIT_OK) status = pctl_finish_stdout();
  lp_rfm_free(h);
  lp_rfm_segmap_free(map);
  free(by_rank);
  free(rank);
  lp_vec_free(&in.rows, &in.mem);
  lp_strpool_free(&in.ids, &in.mem);
  lp_strpool_free(&in.orders, &in.mem);
  return status;
}

const pctl_command pctl_cmd_rfm = {
  CMD,
  "--as-of DATE [options] FILE",
  "RFM scores, segments and lifecycle stages of a transactions CSV file",
  "Reads transactions from FILE ('-' for standard input), one per row, and\n"
  "writes one row per customer to stdout, sorted by id (byte order of the id\n"
  "text, as given):\n"
  "  profile_id,recency_days,frequency,monetary,r,f,m,segment,lifecycle\n"
  "recency_days: whole days from the last purchase to --as-of; frequency:\n"
  "distinct orders (transactions when there is no order column); monetary: sum\n"
  "of amounts (refunds and cancellations included, negative). Scores 1..N by\n"
  "quantiles with ties broken by id (pandas qcut of rank(method='first')), R\n"
  "reversed. A segment summary table goes to stderr.\n"
  "\n"
  "options:\n"
  "  --as-of DATE          scoring time, ISO-8601 (YYYY-MM-DD = midnight UTC); required\n"
  "  --id-col C            customer id column (default customer_id)\n"
  "  --ts-col C            timestamp column, ISO-8601 (default timestamp)\n"
  "  --amount-col C        amount column, decimal (default amount), or\n"
  "  --qty-col C --price-col C\n"
  "                        quantity and unit price columns; amount = exact product\n"
  "  --order-col C         order id column: lines of one order count once\n"
  "  --bins N              number of scores (default 5)\n"
  "  --segments MAP        rf10 (default), rfm11, or a CSV file with columns\n"
  "                        segment,r_min,r_max,f_min,f_max,m_min,m_max (first match)\n"
  "  --scale N             decimal places of the currency (default 2)\n"
  "  --drop-missing-id     skip rows with an empty id (counted on stderr)\n"
  "\n"
  "Amounts are parsed exactly (no floating point); more decimals than --scale\n"
  "(unless zeros), malformed numbers, timestamps after --as-of and empty ids\n"
  "(without --drop-missing-id) are errors naming the line.\n",
  run_rfm,
};
