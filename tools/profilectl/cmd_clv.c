/*
 * profilectl clv: fit a lifetime-value model (BG/NBD, Pareto/NBD, MBG/NBD,
 * BG/BB, Gamma-Gamma) on a customer summary or on transactions split by
 * date into calibration and holdout, through libprofile's lp_clv; print
 * the fitted parameters, and optionally per-customer predictions and the
 * calibration/holdout table.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "core/strpool.h"
#include "csv.h"
#include "csvout.h"
#include "decimal.h"
#include "libprofile.h"
#include "textutil.h"
#include "timeparse.h"

#define CMD "clv"
#define DAY INT64_C(86400)

typedef struct clv_opts {
  const char *models, *summary, *transactions, *cal_end, *hold_end;
  const char *id_col, *ts_col, *amount_col, *qty_col, *price_col;
  const char *x_col, *tx_col, *t_col, *m_col, *n_col, *w_col;
  const char *predict_out, *holdout_report;
  int period;
  double horizon, penalizer, tolerance, discount, margin, step;
  int64_t max_iter, buckets;
  uint32_t purchase, spend; /* LP_CLV_MODEL_* or 0 */
  int64_t cal_ts, hold_ts;
  bool has_hold;
} clv_opts;

/* Customers, one entry each, in the order of their first row. */
typedef struct clv_table {
  size_t n, cap;
  double *x, *tx, *T, *m, *w, *hold;
  lp_mem mem;
  lp_strpool ids; /* id of customer i is string i (summary without ids: none) */
  bool has_ids, has_m, has_w;
  double hold_len;
} clv_table;

static const char *const period_names[] = {"day", "week", NULL};

static uint32_t model_of(const char *s, size_t len) {
  for (uint32_t m = LP_CLV_MODEL_BGNBD; m <= LP_CLV_MODEL_GG; m++) {
    const char *name = lp_clv_model_name(m);
    if (strlen(name) == len && memcmp(name, s, len) == 0) return m;
  }
  return 0;
}

static int parse_models(clv_opts *o) {
  const char *p = o->models;
  while (*p != '\0') {
    const char *e = strchr(p, ',');
    size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
    uint32_t m = model_of(p, len);
    if (m == 0)
      return pctl_usage_error(CMD, "--model: unknown model '%.*s' (bgnbd, pnbd, mbgnbd, bgbb, gg)",
                              (int)len, p);
    uint32_t *slot = m == LP_CLV_MODEL_GG ? &o->spend : &o->purchase;
    if (*slot != 0) return pctl_usage_error(CMD, "--model: at most one purchase model and gg");
    *slot = m;
    p += len;
    if (*p == ',') p++;
  }
  if (o->purchase == 0 && o->spend == 0) return pctl_usage_error(CMD, "--model: no model given");
  return PCTL_EXIT_OK;
}

static int parse_date(const char *opt, const char *text, int64_t *out) {
  char err[PCTL_ERRBUF_SIZE];
  if (pctl_time_parse(text, strlen(text), PCTL_TIME_AUTO, out, err, sizeof err) != LP_OK)
    return pctl_usage_error(CMD, "--%s: %s", opt, err);
  return PCTL_EXIT_OK;
}

static int parse_options(int argc, char **argv, clv_opts *o) {
  const pctl_option table[] = {
    PCTL_REQUIRED(PCTL_OPT_STRING("model", 0, "LIST", &o->models, NULL,
                                  "bgnbd, pnbd, mbgnbd, bgbb or gg; a purchase model and gg\n"
                                  "together as 'bgnbd,gg' for expected value and CLV")),
    PCTL_OPT_PATH("summary", 0, "FILE", &o->summary, NULL,
                  "customer summary CSV: frequency,recency,T (+ monetary_value for gg,\n"
                  "periods for bgbb, optional weights and id)"),
    PCTL_OPT_PATH("transactions", 0, "FILE", &o->transactions, NULL,
                  "transactions CSV (one row per purchase line), split by date"),
    PCTL_OPT_STRING("calibration-end", 0, "DATE", &o->cal_end, NULL,
                    "end of calibration (its whole day included); ISO-8601 or Unix seconds"),
    PCTL_OPT_STRING("holdout-end", 0, "DATE", &o->hold_end, NULL,
                    "end of the holdout period (its whole day included)"),
    PCTL_OPT_STRING("id-col", 0, "C", &o->id_col, NULL,
                    "customer id column (default: 'id' in any letter case in a summary\n"
                    "when present, "
                    "'customer_id' in transactions)"),
    PCTL_OPT_STRING("ts-col", 0, "C", &o->ts_col, "timestamp", "transactions: timestamp column"),
    PCTL_OPT_STRING("amount-col", 0, "C", &o->amount_col, NULL,
                    "transactions: amount column (default 'amount' when present), or"),
    PCTL_OPT_STRING("qty-col", 0, "C", &o->qty_col, NULL,
                    "transactions: quantity column, with --price-col (amount = quantity x price)"),
    PCTL_OPT_STRING("price-col", 0, "C", &o->price_col, NULL, "transactions: unit price column"),
    PCTL_OPT_ENUM("period", 0, "P", &o->period, period_names, "week",
                  "time unit of recency, T and --horizon (week = days / 7)"),
    PCTL_OPT_STRING("frequency-col", 0, "C", &o->x_col, "frequency", "summary: repeat purchases"),
    PCTL_OPT_STRING("recency-col", 0, "C", &o->tx_col, "recency", "summary: time of the last purchase"),
    PCTL_OPT_STRING("T-col", 0, "C", &o->t_col, "T", "summary: age of the customer"),
    PCTL_OPT_STRING("monetary-col", 0, "C", &o->m_col, "monetary_value",
                    "summary: mean repeat spend (gg)"),
    PCTL_OPT_STRING("periods-col", 0, "C", &o->n_col, "periods", "summary: opportunities (bgbb)"),
    PCTL_OPT_STRING("weights-col", 0, "C", &o->w_col, "weights",
                    "summary: customers a row stands for (optional column)"),
    PCTL_OPT_PATH("predict-out", 0, "FILE", &o->predict_out, NULL,
                  "per customer: id,frequency,recency,T,p_alive,expected_purchases,\n"
                  "expected_value,clv (value columns need gg), dert (pnbd with a\n"
                  "--discount-rate: discounted expected residual transactions)"),
    PCTL_OPT_NUMBER("horizon", 0, "N", &o->horizon, 0, LP_CLV_MAX_TIME, NULL,
                    "prediction horizon in periods (with --predict-out)"),
    PCTL_OPT_PATH("holdout-report", 0, "FILE", &o->holdout_report, NULL,
                  "calibration/holdout table per frequency bucket (needs --holdout-end)"),
    PCTL_OPT_INT("buckets", 0, "N", &o->buckets, 1, 1000, "8",
                 "holdout table buckets: x = 0 .. N-2 and N-1 or more"),
    PCTL_OPT_NUMBER("penalizer", 0, "C", &o->penalizer, 0, 1e6, "0",
                    "L2 penalty on the parameters (lifetimes' penalizer_coef)"),
    PCTL_OPT_INT("max-iter", 0, "N", &o->max_iter, 1, 100000, "500", "optimiser iterations"),
    PCTL_OPT_NUMBER("tolerance", 0, "X", &o->tolerance, 1e-14, 1, "1e-8",
                    "gradient tolerance (largest component, mean log-likelihood)"),
    PCTL_OPT_NUMBER("discount-rate", 0, "D", &o->discount, 0, 10, "0",
                    "CLV discount rate per step"),
    PCTL_OPT_NUMBER("margin", 0, "M", &o->margin, 0, 1e9, "1", "CLV profit margin"),
    PCTL_OPT_NUMBER("step", 0, "S", &o->step, 1e-6, 1e9, "1",
                    "CLV discounting step in periods"),
    PCTL_OPT_END,
  };
  pctl_operands ops;
  int rc = pctl_parse_options(&pctl_cmd_clv, table, argc, argv, &ops);
  if (rc == PCTL_EXIT_OK) rc = pctl_want_operands(&pctl_cmd_clv, &ops, 0, 0, "FILE");
  if (rc == PCTL_EXIT_OK) rc = parse_models(o);
  if (rc != PCTL_EXIT_OK) return rc;
  if ((o->summary == NULL) == (o->transactions == NULL))
    return pctl_usage_error(CMD, "give --summary FILE or --transactions FILE (one of them)");
  if (o->transactions != NULL) {
    if (o->cal_end == NULL) return pctl_usage_error(CMD, "--transactions needs --calibration-end DATE");
    if (o->purchase == LP_CLV_MODEL_BGBB)
      return pctl_usage_error(CMD, "bgbb needs a --summary with periods, not transactions");
    rc = parse_date("calibration-end", o->cal_end, &o->cal_ts);
    if (rc == PCTL_EXIT_OK && o->hold_end != NULL) {
      rc = parse_date("holdout-end", o->hold_end, &o->hold_ts);
      o->has_hold = true;
      if (rc == PCTL_EXIT_OK && o->hold_ts / DAY <= o->cal_ts / DAY)
        return pctl_usage_error(CMD, "--holdout-end must be a later day than --calibration-end");
    }
    if (rc != PCTL_EXIT_OK) return rc;
    if (o->qty_col != NULL || o->price_col != NULL) {
      if (o->amount_col != NULL) return pctl_usage_error(CMD, "give --amount-col or --qty-col/--price-col");
      if (o->qty_col == NULL || o->price_col == NULL)
        return pctl_usage_error(CMD, "--qty-col and --price-col go together");
    }
  } else if (o->cal_end != NULL || o->hold_end != NULL) {
    return pctl_usage_error(CMD, "--calibration-end and --holdout-end go with --transactions");
  }
  if (o->holdout_report != NULL && !o->has_hold)
    return pctl_usage_error(CMD, "--holdout-report needs --transactions with --holdout-end");
  if ((o->predict_out != NULL || o->holdout_report != NULL) && o->purchase == 0)
    return pctl_usage_error(CMD, "predictions need a purchase model in --model");
  if (o->predict_out != NULL && !(o->horizon > 0))
    return pctl_usage_error(CMD, "--predict-out needs --horizon N (N > 0)");
  return PCTL_EXIT_OK;
}

/* ---- the customer table ---- */

static int table_grow(clv_table *t) {
  if (t->n < t->cap) return 0;
  size_t cap = t->cap ? 2 * t->cap : 1024;
  double **cols[6] = {&t->x, &t->tx, &t->T, &t->m, &t->w, &t->hold};
  for (int c = 0; c < 6; c++) {
    double *p = realloc(*cols[c], cap * sizeof(double));
    if (p == NULL) return -1;
    *cols[c] = p;
  }
  t->cap = cap;
  return 0;
}

static void table_free(clv_table *t) {
  free(t->x);
  free(t->tx);
  free(t->T);
  free(t->m);
  free(t->w);
  free(t->hold);
  lp_strpool_free(&t->ids, &t->mem);
}

/* A decimal number (no exponent) of a field, exactly as written: the
 * integer of its digits over a power of ten, one correctly rounded
 * division. */
static bool field_value(const pctl_csv_field *f, double *out) {
  const char *s = f->ptr;
  size_t len = f->len;
  pctl_trim_spaces(&s, &len);
  unsigned k = pctl_decimal_places(s, len);
  if (len == 0 || k > PCTL_DECIMAL_MAX_SCALE) return false;
  int64_t v;
  char err[PCTL_ERRBUF_SIZE];
  if (pctl_decimal_parse(s, len, k, &v, err, sizeof err) != LP_OK) return false;
  double p = 1.0;
  for (unsigned i = 0; i < k; i++) p *= 10.0;
  *out = (double)v / p;
  return true;
}

static int find_optional(pctl_csv *r, const char *name, size_t *out) {
  *out = SIZE_MAX;
  if (name == NULL) return LP_OK;
  int rc = pctl_csv_column(r, name, out);
  if (rc == LP_ENOTFOUND) *out = SIZE_MAX;
  return rc == LP_ENOTFOUND ? LP_OK : rc;
}

/* The default id column: the header named "id" in any letter case (id,
 * ID, Id). Returns how many headers are so named; *out is the first. */
static size_t find_default_id(const pctl_csv *r, size_t *out) {
  size_t found = 0, n = pctl_csv_header_count(r);
  *out = SIZE_MAX;
  for (size_t i = 0; i < n; i++) {
    pctl_csv_field f = pctl_csv_header_name(r, i);
    if (f.len == 2 && (f.ptr[0] == 'i' || f.ptr[0] == 'I') && (f.ptr[1] == 'd' || f.ptr[1] == 'D')) {
      if (found++ == 0) *out = i;
    }
  }
  return found;
}

static int need_column(pctl_csv *r, const char *path, const char *name, size_t *out) {
  if (pctl_csv_column(r, name, out) != LP_OK) return pctl_csv_report(r, path);
  return PCTL_EXIT_OK;
}

static int add_id(clv_table *t, const pctl_csv_field *f, uint32_t *id, bool *added) {
  const char *s = f->ptr;
  size_t len = f->len;
  pctl_trim_spaces(&s, &len);
  return lp_strpool_intern(&t->ids, &t->mem, s, len, id, added);
}

static int read_summary(pctl_csv *r, const clv_opts *o, clv_table *t) {
  const char *path = o->summary;
  if (pctl_csv_read_header(r) != LP_OK) return pctl_csv_report(r, path);
  size_t cx, ctx, cT, cm = SIZE_MAX, cw, cid;
  const bool bgbb = o->purchase == LP_CLV_MODEL_BGBB;
  int st = need_column(r, path, o->x_col, &cx);
  if (st == PCTL_EXIT_OK) st = need_column(r, path, o->tx_col, &ctx);
  if (st == PCTL_EXIT_OK) st = need_column(r, path, bgbb ? o->n_col : o->t_col, &cT);
  if (st == PCTL_EXIT_OK && o->spend != 0) st = need_column(r, path, o->m_col, &cm);
  if (st != PCTL_EXIT_OK) return st;
  if (find_optional(r, o->w_col, &cw) != LP_OK || find_optional(r, o->id_col, &cid) != LP_OK)
    return pctl_csv_report(r, path);
  if (o->id_col == NULL && find_default_id(r, &cid) > 1)
    return pctl_data_error(path, 1, "more than one id column (id in any case): name one with --id-col");
  if (o->id_col != NULL && cid == SIZE_MAX)
    return pctl_data_error(path, 1, "no column '%s' (--id-col)", o->id_col);
  t->has_ids = cid != SIZE_MAX;
  t->has_m = cm != SIZE_MAX;
  t->has_w = cw != SIZE_MAX;
  const char *names[5] = {o->x_col, o->tx_col, bgbb ? o->n_col : o->t_col, o->m_col, o->w_col};
  const size_t cols[5] = {cx, ctx, cT, cm, cw};
  for (;;) {
    int rc = pctl_csv_next(r);
    if (rc == PCTL_CSV_END) return PCTL_EXIT_OK;
    if (rc != PCTL_CSV_ROW) return pctl_csv_report(r, path);
    size_t nf;
    const pctl_csv_field *f = pctl_csv_fields(r, &nf);
    uint64_t line = pctl_csv_record_line(r);
    if (table_grow(t) != 0) return pctl_data_error(path, line, "out of memory");
    double v[5] = {0, 0, 0, 0, 1};
    for (int c = 0; c < 5; c++) {
      if (cols[c] == SIZE_MAX) continue;
      if (!field_value(&f[cols[c]], &v[c]))
        return pctl_data_error(path, line, "%s: not a decimal number", names[c]);
    }
    size_t i = t->n;
    t->x[i] = v[0];
    t->tx[i] = v[1];
    t->T[i] = v[2];
    t->m[i] = v[3];
    t->w[i] = v[4];
    t->hold[i] = 0;
    if (t->has_ids) {
      uint32_t id;
      bool added;
      if (add_id(t, &f[cid], &id, &added) != LP_OK) return pctl_data_error(path, line, "out of memory");
      if (!added || id != i) return pctl_data_error(path, line, "customer id repeated");
    }
    t->n++;
  }
}

/* ---- transactions: calibration summary and holdout counts ---- */

/* A transaction as read: the library's record, its amount at its own
 * decimal places until all are brought to the largest. */
typedef struct txn {
  lp_clv_txn t;
  uint64_t line;
  unsigned places;
} txn;

static const char *f_name(const clv_opts *o) { return o->amount_col != NULL ? o->amount_col : "amount"; }

/* The amount of a row as an exact scaled integer: the amount column, or
 * quantity x price; 0 without either. */
static int amount_of(const pctl_csv_field *f, size_t cam, size_t cq, size_t cp, int64_t *v,
                     unsigned *places, char *err, size_t cap) {
  *v = 0;
  *places = 0;
  if (cam == SIZE_MAX && cq == SIZE_MAX) return LP_OK;
  if (cam != SIZE_MAX) {
    unsigned k = pctl_decimal_places(f[cam].ptr, f[cam].len);
    if (k > PCTL_DECIMAL_MAX_SCALE) k = PCTL_DECIMAL_MAX_SCALE;
    *places = k;
    return pctl_decimal_parse(f[cam].ptr, f[cam].len, k, v, err, cap);
  }
  unsigned qs = pctl_decimal_places(f[cq].ptr, f[cq].len), ps = pctl_decimal_places(f[cp].ptr, f[cp].len);
  if (qs > PCTL_DECIMAL_MAX_SCALE) qs = PCTL_DECIMAL_MAX_SCALE;
  if (ps > PCTL_DECIMAL_MAX_SCALE) ps = PCTL_DECIMAL_MAX_SCALE;
  int64_t q, p;
  int rc = pctl_decimal_parse(f[cq].ptr, f[cq].len, qs, &q, err, cap);
  if (rc == LP_OK) rc = pctl_decimal_parse(f[cp].ptr, f[cp].len, ps, &p, err, cap);
  *places = qs + ps > PCTL_DECIMAL_MAX_SCALE ? PCTL_DECIMAL_MAX_SCALE : qs + ps;
  if (rc == LP_OK) rc = pctl_decimal_mul(q, qs, p, ps, *places, v, err, cap);
  return rc;
}

static int read_transactions(pctl_csv *r, const clv_opts *o, txn **out, size_t *count,
                             clv_table *t) {
  const char *path = o->transactions;
  if (pctl_csv_read_header(r) != LP_OK) return pctl_csv_report(r, path);
  size_t cid, cts, cam = SIZE_MAX, cq = SIZE_MAX, cp = SIZE_MAX;
  int st = need_column(r, path, o->id_col != NULL ? o->id_col : "customer_id", &cid);
  if (st == PCTL_EXIT_OK) st = need_column(r, path, o->ts_col, &cts);
  if (st == PCTL_EXIT_OK && o->qty_col != NULL) st = need_column(r, path, o->qty_col, &cq);
  if (st == PCTL_EXIT_OK && o->price_col != NULL) st = need_column(r, path, o->price_col, &cp);
  if (st == PCTL_EXIT_OK && o->amount_col != NULL) st = need_column(r, path, o->amount_col, &cam);
  if (st != PCTL_EXIT_OK) return st;
  if (o->amount_col == NULL && o->qty_col == NULL && find_optional(r, "amount", &cam) != LP_OK)
    return pctl_csv_report(r, path);
  t->has_m = cam != SIZE_MAX || cq != SIZE_MAX;
  if (o->spend != 0 && !t->has_m)
    return pctl_data_error(path, 1, "gg needs amounts: no 'amount' column (--amount-col)");
  t->has_ids = true;
  /* the whole day of the end date is included */
  const int64_t last_ts = ((o->has_hold ? o->hold_ts : o->cal_ts) / DAY + 1) * DAY - 1;
  size_t cap = 0, n = 0;
  txn *rows = NULL;
  char err[PCTL_ERRBUF_SIZE];
  for (;;) {
    int rc = pctl_csv_next(r);
    if (rc == PCTL_CSV_END) break;
    if (rc != PCTL_CSV_ROW) {
      free(rows);
      return pctl_csv_report(r, path);
    }
    size_t nf;
    const pctl_csv_field *f = pctl_csv_fields(r, &nf);
    uint64_t line = pctl_csv_record_line(r);
    txn x = {LP_CLV_TXN_INIT, line, 0};
    if (pctl_time_parse(f[cts].ptr, f[cts].len, PCTL_TIME_AUTO, &x.t.ts, err, sizeof err) != LP_OK) {
      free(rows);
      return pctl_data_error(path, line, "%s: %s", o->ts_col, err);
    }
    if (x.t.ts > last_ts) continue;
    if (amount_of(f, cam, cq, cp, &x.t.amount, &x.places, err, sizeof err) != LP_OK) {
      free(rows);
      return pctl_data_error(path, line, "%s: %s", cam != SIZE_MAX ? f_name(o) : "quantity x price", err);
    }
    uint32_t id;
    bool added;
    if (f[cid].len == 0 || add_id(t, &f[cid], &id, &added) != LP_OK) {
      free(rows);
      return pctl_data_error(path, line, "missing customer id, or out of memory");
    }
    x.t.customer = id;
    if (n == cap) {
      cap = cap ? 2 * cap : 4096;
      txn *p = realloc(rows, cap * sizeof *p);
      if (p == NULL) {
        free(rows);
        return pctl_data_error(path, line, "out of memory");
      }
      rows = p;
    }
    rows[n++] = x;
  }
  *out = rows;
  *count = n;
  return PCTL_EXIT_OK;
}

/* lifetimes' calibration_and_holdout_data through lp_clv_split(): the
 * amounts are brought to one scale (the largest number of decimals seen)
 * so period sums are exact, then split by day. Customers whose first
 * purchase is after the calibration are left out. */
static int summarize(const clv_opts *o, txn *rows, size_t n, clv_table *t, uint32_t **customer_id) {
  unsigned scale = 0;
  for (size_t i = 0; i < n; i++)
    if (rows[i].places > scale) scale = rows[i].places;
  lp_clv_txn *tx = malloc((n ? n : 1) * sizeof *tx);
  if (tx == NULL) return pctl_data_error(o->transactions, 0, "out of memory");
  for (size_t i = 0; i < n; i++) {
    tx[i] = rows[i].t;
    if (pctl_decimal_rescale(rows[i].t.amount, scale - rows[i].places, &tx[i].amount) != LP_OK) {
      free(tx);
      return pctl_data_error(o->transactions, rows[i].line, "amount too large at %u decimals", scale);
    }
  }
  const double unit = o->period == 1 ? 7.0 : 1.0;
  const int64_t cal_end = (o->cal_ts / DAY + 1) * DAY - 1;
  const int64_t hold_end = o->has_hold ? (o->hold_ts / DAY + 1) * DAY - 1 : cal_end;
  t->hold_len = (double)(hold_end / DAY - cal_end / DAY) / unit;
  lp_clv *h = NULL;
  lp_clv_split_row *out = NULL;
  size_t need = 0;
  int rc = lp_clv_create(NULL, &h);
  if (rc == LP_OK) rc = lp_clv_split(h, tx, n, cal_end, hold_end, DAY, unit, NULL, 0, &need);
  if (rc == LP_OK && (out = malloc((need ? need : 1) * sizeof *out)) == NULL) rc = LP_ENOMEM;
  if (rc == LP_OK) rc = lp_clv_split(h, tx, n, cal_end, hold_end, DAY, unit, out, need, &need);
  uint32_t *cid = NULL;
  if (rc == LP_OK && (cid = malloc((need ? need : 1) * sizeof *cid)) == NULL) rc = LP_ENOMEM;
  double money = 1.0;
  for (unsigned i = 0; i < scale; i++) money *= 10.0;
  for (size_t k = 0; rc == LP_OK && k < need; k++) {
    if (table_grow(t) != 0) {
      rc = LP_ENOMEM;
      break;
    }
    t->x[k] = out[k].frequency;
    t->tx[k] = out[k].recency;
    t->T[k] = out[k].T;
    t->m[k] = out[k].monetary / money;
    t->w[k] = 1;
    t->hold[k] = out[k].holdout;
    cid[k] = (uint32_t)out[k].customer;
    t->n++;
  }
  int st = PCTL_EXIT_OK;
  if (rc != LP_OK)
    st = pctl_data_error(o->transactions, 0, "%s", h != NULL ? lp_clv_errmsg(h) : lp_strerror(rc));
  if (st == PCTL_EXIT_OK) *customer_id = cid;
  else free(cid);
  free(out);
  free(tx);
  lp_clv_free(h);
  return st;
}

/* ---- fitting and output ---- */

static lp_clv_data data_of(const clv_table *t, bool weights) {
  lp_clv_data d = LP_CLV_DATA_INIT;
  d.n = t->n;
  d.frequency = t->x;
  d.recency = t->tx;
  d.T = t->T;
  d.monetary = t->has_m ? t->m : NULL;
  d.weights = weights && t->has_w ? t->w : NULL;
  return d;
}

static int set_options(lp_clv *h, const clv_opts *o) {
  int rc = lp_clv_set_int(h, LP_CLV_MAX_ITER, o->max_iter);
  if (rc == LP_OK) rc = lp_clv_set_int(h, LP_CLV_HOLDOUT_BUCKETS, o->buckets);
  if (rc == LP_OK) rc = lp_clv_set_double(h, LP_CLV_PENALIZER, o->penalizer);
  if (rc == LP_OK) rc = lp_clv_set_double(h, LP_CLV_TOLERANCE, o->tolerance);
  if (rc == LP_OK) rc = lp_clv_set_double(h, LP_CLV_DISCOUNT_RATE, o->discount);
  if (rc == LP_OK) rc = lp_clv_set_double(h, LP_CLV_MARGIN, o->margin);
  if (rc == LP_OK) rc = lp_clv_set_double(h, LP_CLV_STEP, o->step);
  return rc;
}

static void print_model(pctl_csvout *w, const lp_clv *h, uint32_t model) {
  double p[LP_CLV_MAX_PARAMS], se[LP_CLV_MAX_PARAMS];
  size_t need;
  lp_clv_fit_report rep = LP_CLV_FIT_REPORT_INIT;
  if (lp_clv_params(h, model, LP_CLV_VALUES, p, LP_CLV_MAX_PARAMS, &need) != LP_OK ||
      lp_clv_params(h, model, LP_CLV_STDERR, se, LP_CLV_MAX_PARAMS, &need) != LP_OK ||
      lp_clv_report(h, model, &rep) != LP_OK)
    return;
  const char *name = lp_clv_model_name(model);
  for (size_t j = 0; j < need; j++) {
    pctl_csvout_str(w, lp_clv_param_name(model, (uint32_t)j));
    pctl_csvout_double(w, p[j]);
    if (rep.se_available) pctl_csvout_double(w, se[j]);
    else pctl_csvout_str(w, "");
    pctl_csvout_str(w, name);
    pctl_csvout_end_row(w);
  }
  const char *rows[3] = {"loglik", "iterations", "converged"};
  for (int k = 0; k < 3; k++) {
    pctl_csvout_str(w, rows[k]);
    if (k == 0) pctl_csvout_double(w, rep.loglik);
    else if (k == 1) pctl_csvout_u64(w, rep.iterations);
    else pctl_csvout_u64(w, rep.status == LP_CLV_STATUS_CONVERGED);
    pctl_csvout_str(w, "");
    pctl_csvout_str(w, name);
    pctl_csvout_end_row(w);
  }
  if (model == LP_CLV_MODEL_GG) {
    pctl_csvout_str(w, "spend_correlation");
    if (isnan(rep.spend_correlation)) pctl_csvout_str(w, ""); /* x or spend constant */
    else pctl_csvout_double(w, rep.spend_correlation);
    pctl_csvout_str(w, "");
    pctl_csvout_str(w, name);
    pctl_csvout_end_row(w);
  }
}

static void write_id(pctl_csvout *w, const clv_table *t, const uint32_t *cid, size_t i) {
  if (!t->has_ids) {
    pctl_csvout_u64(w, (uint64_t)i + 1);
    return;
  }
  size_t len;
  const char *s = lp_strpool_get(&t->ids, cid != NULL ? cid[i] : (uint32_t)i, &len);
  pctl_csvout_field(w, s, len);
}

static int write_predictions(const clv_opts *o, const lp_clv *h, const clv_table *t,
                             const uint32_t *cid) {
  const size_t n = t->n;
  double *out = malloc((n ? n : 1) * 5 * sizeof(double));
  if (out == NULL) return pctl_data_error(o->predict_out, 0, "out of memory");
  double *alive = out, *exp_p = out + n, *value = out + 2 * n, *clv = out + 3 * n, *dert = out + 4 * n;
  const bool with_dert = o->purchase == LP_CLV_MODEL_PNBD && o->discount > 0;
  lp_clv_data d = data_of(t, false);
  size_t need;
  int rc = lp_clv_predict(h, LP_CLV_PRED_P_ALIVE, &d, 0, alive, n, &need);
  if (rc == LP_OK) rc = lp_clv_predict(h, LP_CLV_PRED_CONDITIONAL, &d, o->horizon, exp_p, n, &need);
  if (rc == LP_OK && o->spend != 0)
    rc = lp_clv_predict(h, LP_CLV_PRED_AVG_VALUE, &d, 0, value, n, &need);
  if (rc == LP_OK && o->spend != 0) rc = lp_clv_predict(h, LP_CLV_PRED_CLV, &d, o->horizon, clv, n, &need);
  if (rc == LP_OK && with_dert) rc = lp_clv_predict(h, LP_CLV_PRED_DERT, &d, 0, dert, n, &need);
  if (rc != LP_OK) {
    pctl_error("predictions: %s", lp_clv_errmsg(h));
    free(out);
    return PCTL_EXIT_FAILURE;
  }
  pctl_csvout w;
  int st = pctl_csvout_open(&w, o->predict_out);
  if (st != PCTL_EXIT_OK) {
    free(out);
    return st;
  }
  static const char *const head[] = {"id", "frequency", "recency", "T", "p_alive",
                                     "expected_purchases", "expected_value", "clv", "dert"};
  pctl_csvout_strs(&w, head, PCTL_ARRAY_LEN(head));
  pctl_csvout_end_row(&w);
  for (size_t i = 0; i < n; i++) {
    write_id(&w, t, cid, i);
    pctl_csvout_double(&w, t->x[i]);
    pctl_csvout_double(&w, t->tx[i]);
    pctl_csvout_double(&w, t->T[i]);
    pctl_csvout_double(&w, alive[i]);
    pctl_csvout_double(&w, exp_p[i]);
    if (o->spend != 0) {
      pctl_csvout_double(&w, value[i]);
      pctl_csvout_double(&w, clv[i]);
    } else {
      pctl_csvout_str(&w, "");
      pctl_csvout_str(&w, "");
    }
    if (with_dert) pctl_csvout_double(&w, dert[i]);
    else pctl_csvout_str(&w, "");
    pctl_csvout_end_row(&w);
  }
  free(out);
  return pctl_csvout_close(&w);
}

static int write_holdout(const clv_opts *o, const lp_clv *h, const clv_table *t) {
  lp_clv_holdout_row rows[1000];
  lp_clv_holdout_summary s = LP_CLV_HOLDOUT_SUMMARY_INIT;
  lp_clv_data d = data_of(t, false);
  size_t need;
  if (lp_clv_holdout(h, &d, t->hold, t->hold_len, rows, PCTL_ARRAY_LEN(rows), &need, &s) != LP_OK) {
    pctl_error("holdout: %s", lp_clv_errmsg(h));
    return PCTL_EXIT_FAILURE;
  }
  pctl_csvout w;
  int st = pctl_csvout_open(&w, o->holdout_report);
  if (st != PCTL_EXIT_OK) return st;
  static const char *const head[] = {"frequency", "customers", "actual", "predicted", "mae", "rmse"};
  pctl_csvout_strs(&w, head, PCTL_ARRAY_LEN(head));
  pctl_csvout_end_row(&w);
  for (size_t b = 0; b < need; b++) {
    char label[32];
    snprintf(label, sizeof label, "%.0f%s", rows[b].frequency, rows[b].open_ended ? "+" : "");
    pctl_csvout_str(&w, label);
    pctl_csvout_double(&w, rows[b].customers);
    if (rows[b].customers > 0) {
      pctl_csvout_double(&w, rows[b].actual);
      pctl_csvout_double(&w, rows[b].predicted);
    } else {
      pctl_csvout_str(&w, "");
      pctl_csvout_str(&w, "");
    }
    pctl_csvout_str(&w, "");
    pctl_csvout_str(&w, "");
    pctl_csvout_end_row(&w);
  }
  pctl_csvout_str(&w, "total");
  pctl_csvout_double(&w, s.customers);
  pctl_csvout_double(&w, s.actual_total);
  pctl_csvout_double(&w, s.predicted_total);
  pctl_csvout_double(&w, s.mae);
  pctl_csvout_double(&w, s.rmse);
  pctl_csvout_end_row(&w);
  return pctl_csvout_close(&w);
}

static int load_input(clv_opts *o, clv_table *t, uint32_t **cid) {
  const char *path = o->summary != NULL ? o->summary : o->transactions;
  FILE *f = NULL;
  int st = pctl_open_input(path, &f, NULL);
  if (st != PCTL_EXIT_OK) return st;
  pctl_csv *r;
  if (pctl_csv_open_file(NULL, f, &r) != LP_OK) {
    pctl_close_input(f);
    return pctl_csv_report(NULL, path);
  }
  if (o->summary != NULL) {
    st = read_summary(r, o, t);
  } else {
    txn *rows = NULL;
    size_t n = 0;
    st = read_transactions(r, o, &rows, &n, t);
    if (st == PCTL_EXIT_OK) st = summarize(o, rows, n, t, cid);
    free(rows);
  }
  pctl_csv_close(r);
  pctl_close_input(f);
  if (st == PCTL_EXIT_OK && t->n == 0) st = pctl_data_error(path, 0, "no customers");
  return st;
}

static int fit_models(const clv_opts *o, lp_clv *h, const clv_table *t) {
  const char *path = o->summary != NULL ? o->summary : o->transactions;
  lp_clv_data d = data_of(t, true);
  uint32_t models[2] = {o->purchase, o->spend};
  for (int k = 0; k < 2; k++) {
    if (models[k] == 0) continue;
    lp_clv_fit_report rep = LP_CLV_FIT_REPORT_INIT;
    int rc = lp_clv_fit(h, models[k], &d, &rep);
    if (rc != LP_OK) {
      /* "row N" of the library is the Nth customer: a summary's line N + 2 */
      const char *msg = lp_clv_errmsg(h);
      unsigned long long row;
      if (o->summary != NULL && sscanf(msg, "row %llu", &row) == 1)
        return pctl_data_error(path, row + 2, "%s: %s", lp_clv_model_name(models[k]), strchr(msg, ':') + 2);
      return pctl_data_error(path, 0, "%s: %s", lp_clv_model_name(models[k]), msg);
    }
    if (rep.status != LP_CLV_STATUS_CONVERGED)
      fprintf(stderr, PCTL_PROGRAM ": warning: %s did not converge (%u iterations, gradient %g)\n",
              lp_clv_model_name(models[k]), rep.iterations, rep.grad_norm);
  }
  return PCTL_EXIT_OK;
}

static int run_clv(int argc, char **argv) {
  clv_opts o;
  memset(&o, 0, sizeof o);
  int st = parse_options(argc, argv, &o);
  if (st != PCTL_EXIT_OK) return st;
  clv_table t;
  memset(&t, 0, sizeof t);
  if (lp_mem_init(&t.mem, NULL) != LP_OK) return PCTL_EXIT_FAILURE;
  lp_strpool_init(&t.ids);
  uint32_t *cid = NULL;
  lp_clv *h = NULL;
  st = load_input(&o, &t, &cid);
  if (st == PCTL_EXIT_OK && (lp_clv_create(NULL, &h) != LP_OK || set_options(h, &o) != LP_OK)) {
    pctl_error("cannot create the model: %s", h != NULL ? lp_clv_errmsg(h) : "out of memory");
    st = PCTL_EXIT_FAILURE;
  }
  if (st == PCTL_EXIT_OK) st = fit_models(&o, h, &t);
  if (st == PCTL_EXIT_OK) {
    pctl_csvout w;
    pctl_csvout_stream(&w, stdout, "stdout");
    static const char *const head[] = {"param", "value", "se", "model"};
    pctl_csvout_strs(&w, head, PCTL_ARRAY_LEN(head));
    pctl_csvout_end_row(&w);
    if (o.purchase != 0) print_model(&w, h, o.purchase);
    if (o.spend != 0) print_model(&w, h, o.spend);
    st = pctl_csvout_close(&w);
  }
  if (st == PCTL_EXIT_OK && o.predict_out != NULL) st = write_predictions(&o, h, &t, cid);
  if (st == PCTL_EXIT_OK && o.holdout_report != NULL) st = write_holdout(&o, h, &t);
  if (st == PCTL_EXIT_OK) st = pctl_finish_stdout();
  lp_clv_free(h);
  free(cid);
  table_free(&t);
  return st;
}

const pctl_command pctl_cmd_clv = {
    "clv",
    "--model M[,gg] (--summary FILE | --transactions FILE --calibration-end DATE\n"
    "       [--holdout-end DATE]) [options]",
    "fit lifetime-value models (BG/NBD, Pareto/NBD, MBG/NBD, BG/BB, Gamma-Gamma)",
    "Fits by maximum likelihood (rows compressed to distinct (x, t_x, T) with\n"
    "counts; BFGS on log-parameters; standard errors from the Hessian) and\n"
    "prints CSV param,value,se,model: one row per parameter, then loglik,\n"
    "iterations and converged (1 or 0) per model. A summary has the layout of\n"
    "lifetimes' summary_data_from_transaction_data. From transactions, the\n"
    "calibration summary uses distinct purchase days: frequency = days - 1,\n"
    "recency and T in --period units from the first day (week = days / 7),\n"
    "monetary_value = mean value of the repeat days; holdout purchases are\n"
    "distinct days after --calibration-end up to --holdout-end.\n"
    "expected_purchases is the number of purchases expected in the next\n"
    "--horizon periods after the end of the data, given how often and how\n"
    "recently the customer bought; p_alive the probability they have not\n"
    "churned at the end of the data.\n",
    run_clv,
};
