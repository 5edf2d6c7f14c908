/*
 * profilectl rfm: RFM scores, segments and lifecycle stages of a
 * transactions CSV file, through libprofile's lp_rfm.
 * SPDX-License-Identifier: MIT
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* fseeko */
#endif
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "core/common.h"
#include "core/strpool.h"
#include "core/vec.h"
#include "csv.h"
#include "csvout.h"
#include "decimal.h"
#include "libprofile.h"
#include "par.h"
#include "textutil.h"
#include "timeparse.h"

#define CMD "rfm"
#define DAY_SECONDS INT64_C(86400)
#define NO_ORDER UINT32_MAX
#define BATCH 65536

typedef struct rfm_opts {
  const char *path;
  int64_t as_of;
  const char *id_col, *ts_col, *amount_col, *qty_col, *price_col, *order_col;
  const char *segments;
  int64_t bins;
  int scale; /* -1: automatic */
  bool drop_missing_id;
  int64_t threads; /* 0: automatic */
} rfm_opts;

/* One input row, ids and orders interned; the amount at its own scale
 * until rescale_amounts() brings every row to the common one. */
typedef struct row_in {
  uint32_t id;
  uint32_t order;
  int64_t ts;
  int64_t amount;
  uint64_t line;
  uint8_t scale;
} row_in;

typedef struct rfm_input {
  lp_mem mem;
  lp_strpool ids;
  lp_strpool orders;
  lp_vec rows; /* row_in */
  uint64_t dropped;
  unsigned scale; /* of every amount after rescale_amounts() */
} rfm_input;

/* --scale auto | N */
static bool parse_scale(const pctl_option *opt, const char *v, char *err, size_t cap) {
  int *out = opt->dest;
  if (strcmp(v, "auto") == 0) {
    *out = -1;
    return true;
  }
  int64_t x = 0;
  bool ok = v[0] != '\0';
  for (const char *p = v; ok && *p != '\0'; p++) {
    ok = pctl_is_digit(*p) && x <= (int64_t)PCTL_DECIMAL_MAX_SCALE;
    x = x * 10 + (*p - '0');
  }
  if (!ok || x > (int64_t)PCTL_DECIMAL_MAX_SCALE) {
    snprintf(err, cap, "expected 'auto' or 0..%u decimal places, not '%s'", PCTL_DECIMAL_MAX_SCALE,
             v);
    return false;
  }
  *out = (int)x;
  return true;
}

static int parse_options(int argc, char **argv, rfm_opts *o) {
  const pctl_option table[] = {
    PCTL_REQUIRED(PCTL_OPT_DATE("as-of", 0, "DATE", &o->as_of, NULL,
                                "scoring time: ISO-8601 (YYYY-MM-DD = midnight UTC) or Unix seconds")),
    PCTL_OPT_STRING("id-col", 0, "C", &o->id_col, "customer_id", "customer id column"),
    PCTL_OPT_STRING("ts-col", 0, "C", &o->ts_col, "timestamp",
                    "timestamp column: ISO-8601 or Unix seconds"),
    PCTL_OPT_STRING("amount-col", 0, "C", &o->amount_col, NULL,
                    "amount column, decimal (default amount), or"),
    PCTL_OPT_STRING("qty-col", 0, "C", &o->qty_col, NULL,
                    "quantity column, with --price-col: amount = exact quantity x price"),
    PCTL_OPT_STRING("price-col", 0, "C", &o->price_col, NULL, "unit price column"),
    PCTL_OPT_STRING("order-col", 0, "C", &o->order_col, NULL,
                    "order id column: lines of one order count once"),
    PCTL_OPT_INT("bins", 0, "N", &o->bins, 1, LP_RFM_MAX_BINS, "5", "number of scores"),
    PCTL_OPT_STRING("segments", 0, "MAP", &o->segments, "rf10",
                    "rf10, rfm11, or a CSV file with columns\n"
                    "segment,r_min,r_max,f_min,f_max,m_min,m_max (first match wins)"),
    PCTL_OPT_CUSTOM("scale", 0, "N", &o->scale, parse_scale, "auto",
                    "decimal places of money: auto (the data's own) or a fixed 0..18"),
    PCTL_OPT_FLAG("drop-missing-id", 0, &o->drop_missing_id,
                  "skip rows with an empty id (counted on stderr)"),
    PCTL_OPT_INT("threads", 0, "N", &o->threads, 0, PCTL_PAR_MAX, "0",
                 "threads reading FILE (0: the online CPUs, at most 2, for files\n"
                 "of 1 MiB or more); the output does not depend on it"),
    PCTL_OPT_END,
  };
  int rc = pctl_parse_file_command(&pctl_cmd_rfm, table, argc, argv, &o->path);
  if (rc != PCTL_EXIT_OK) return rc;
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
  if (pctl_csv_column(r, name, out) != LP_OK) return pctl_csv_report(r, o->path);
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

/* A field at its own decimal places; plain numbers inline. */
static int own_places(const pctl_csv_field *f, int64_t *out, unsigned *places, char *err,
                      size_t cap) {
  if (pctl_decimal_plain(f->ptr, f->len, out, places)) return LP_OK;
  return pctl_decimal_parse_own(f->ptr, f->len, out, places, err, cap);
}

/* Exact amount of one row in units of 10^-scale: the amount column, or
 * quantity x price (exact; with a fixed --scale it must fit that scale). */
static int row_amount(const pctl_csv_field *f, const columns *c, const rfm_opts *o,
                      int64_t *out, unsigned *scale, char *err, size_t cap) {
  if (c->amount != SIZE_MAX && o->scale >= 0) {
    *scale = (unsigned)o->scale;
    return pctl_decimal_parse(f[c->amount].ptr, f[c->amount].len, *scale, out, err, cap);
  }
  if (c->amount != SIZE_MAX)
    return own_places(&f[c->amount], out, scale, err, cap);
  unsigned qs, ps;
  int64_t q, p;
  int rc = own_places(&f[c->qty], &q, &qs, err, cap);
  if (rc == LP_OK) rc = own_places(&f[c->price], &p, &ps, err, cap);
  if (rc != LP_OK) return rc;
  *scale = o->scale >= 0 ? (unsigned)o->scale : qs + ps;
  if (*scale > PCTL_DECIMAL_MAX_SCALE) *scale = PCTL_DECIMAL_MAX_SCALE;
  /* No digit dropped and the product fits: what pctl_decimal_mul gives. */
  if (*scale == qs + ps && !lp_i64_mul_overflow(q, p, out)) return LP_OK;
  return pctl_decimal_mul(q, qs, p, ps, *scale, out, err, cap);
}

static int intern(lp_strpool *pool, const lp_mem *m, const pctl_csv_field *f, uint32_t *id) {
  bool added;
  return lp_strpool_intern(pool, m, f->ptr, f->len, id, &added);
}

/*
 * Reading on several threads. The file is cut into chunks at line endings
 * near equal offsets; chunk 0 reads the header, then every chunk parses its
 * rows into its own rfm_input (own pools) and stops at the next chunk's
 * start. A cut is only a guess: it is right when the chunk before it ends a
 * record exactly there. When a record runs over the cut (the line ending
 * was inside a quoted field), that chunk reads on to the end of the file and
 * the later chunks are discarded, so the rows are always the ones one
 * sequential read gives. Errors are kept, with their chunk-relative line,
 * and only the first in file order is printed; chunks are then joined in
 * order, re-interning their ids and orders (so pool ids are the order of
 * first appearance, as with one thread) and shifting their lines.
 */
/*
 * The direct path, for files (not pipes) whose ids and order ids are all at
 * most 8 bytes without NUL, as they are in order exports: an id packs into
 * 64 bits big-endian, zero-padded, which keeps byte order (a shorter prefix
 * sorts first, as its next byte is 0), so the packed value is the profile
 * id itself and no id table, ranking or second pass is needed. Every chunk
 * ingests its rows straight into its own lp_rfm state, kept at the largest
 * scale its amounts had so far: a row at a smaller scale is brought up to
 * it, and when a row needs more places the state is scaled up exactly
 * (lp_rfm_scale_amounts). At the end the chunks' states are brought to the
 * common scale and merged (lp_rfm_merge), which gives the state one
 * sequential ingestion gives. A row whose amount would not fit 64 bits at
 * a larger scale is remembered by line for each step of scale (first line
 * per scale and step), so the error of the row-table path is reported at
 * the same line; once a row does not fit the chunk's current scale the
 * error is certain and the chunk only reads on for earlier-reported data
 * errors. Anything this
 * path cannot decide the same way (an id or order that does not pack, a
 * refusal of the library such as the turnover limit, no memory) makes the
 * command read the file again on the row-table path, which then decides
 * and words the outcome as it always has.
 */
#define SCALES (PCTL_DECIMAL_MAX_SCALE + 1)
#define FAST_BATCH 1024 /* 40 KiB of lp_rfm_txn: stays in the cache */
#define RFM_FALLBACK 100 /* read_rows(): read again on the row-table path */

typedef struct fast_sink {
  lp_rfm *st;               /* the chunk's rows, amounts at scale `cur` */
  lp_rfm_txn *buf;          /* pending batch */
  size_t nbuf;
  unsigned cur;
  bool doomed;              /* an amount does not fit `cur`: an error follows */
  bool fallback;
  uint64_t over[SCALES][SCALES]; /* [s][k]: first chunk line whose amount at
                                  * scale s does not fit 64 bits at s + k */
  unsigned kmin[SCALES];    /* smallest k with over[s][k] set; SCALES: none */
  uint64_t safe[SCALES];    /* magnitudes up to this fit at s + kmin[s] - 1 */
  uint64_t lim[SCALES];     /* [k]: magnitudes up to this fit 10^k times larger */
  int64_t pow10[SCALES];
} fast_sink;

/* Pack an id of at most 8 bytes without NUL; false when it does not. */
static uint32_t load_be32(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static bool pack8(const char *p, size_t n, uint64_t *out) {
  if (n > 8) return false;
  uint64_t v = 0;
  if (n >= 4) {
    /* Two overlapping 4-byte loads: the first and the last four bytes. */
    v = (uint64_t)load_be32(p) << 32 | (uint64_t)load_be32(p + n - 4) << (8 * (8 - n));
  } else {
    for (size_t i = 0; i < n; i++) v |= (uint64_t)(unsigned char)p[i] << (56 - 8 * i);
  }
  /* A NUL among the n bytes is a zero byte of v once the padding is set. */
  uint64_t x = v | (n == 0 ? ~UINT64_C(0) : n == 8 ? 0 : ~UINT64_C(0) >> (8 * n));
  if (((x - UINT64_C(0x0101010101010101)) & ~x & UINT64_C(0x8080808080808080)) != 0)
    return false;
  *out = v;
  return true;
}

/* The text of a packed id; returns its length (buf holds 8 bytes). */
static size_t unpack8(uint64_t v, char *buf) {
  size_t n = 0;
  while (n < 8 && (unsigned char)(v >> (56 - 8 * n)) != 0) {
    buf[n] = (char)(unsigned char)(v >> (56 - 8 * n));
    n++;
  }
  return n;
}

static bool fast_flush(fast_sink *fs) {
  if (fs->nbuf > 0 && lp_rfm_add(fs->st, fs->buf, fs->nbuf) != LP_OK) fs->fallback = true;
  fs->nbuf = 0;
  return !fs->fallback;
}

/* INT64_MAX / 10^k: a magnitude up to it fits 10^k times larger, either sign. */
static uint64_t safe_below(unsigned k) {
  uint64_t v = (uint64_t)INT64_MAX;
  while (k-- > 0) v /= 10;
  return v;
}

/* Remember the first line where `a` (at scale s) stops fitting at s + k. */
static void note_overflow(fast_sink *fs, int64_t a, unsigned s, uint64_t line) {
  uint64_t mag = a < 0 ? 0 - (uint64_t)a : (uint64_t)a;
  if (mag <= fs->safe[s]) return; /* fits everywhere it has to be checked */
  unsigned k = fs->kmin[s];
  int64_t unused;
  while (k > 1 && pctl_decimal_rescale(a, k - 1, &unused) != LP_OK) fs->over[s][--k] = line;
  fs->kmin[s] = k;
  fs->safe[s] = k > 1 ? safe_below(k - 1) : UINT64_MAX;
}

/* Queue one row; false (with fallback set) when this path must give up. */
static bool fast_put(fast_sink *fs, const columns *c, const pctl_csv_field *f, int64_t ts,
                     int64_t amount, unsigned s) {
  lp_rfm_txn t = LP_RFM_TXN_INIT;
  if (!pack8(f[c->id].ptr, f[c->id].len, &t.profile_id)) return fs->fallback = true, false;
  if (c->order != SIZE_MAX) {
    if (!pack8(f[c->order].ptr, f[c->order].len, &t.order_id)) return fs->fallback = true, false;
    t.flags = LP_RFM_TXN_HAS_ORDER;
  }
  t.ts = ts;
  if (fs->doomed) return true;
  if (s > fs->cur) {
    int64_t factor;
    if (!fast_flush(fs)) return false;
    if (pctl_decimal_rescale(1, s - fs->cur, &factor) != LP_OK ||
        lp_rfm_scale_amounts(fs->st, factor) != LP_OK)
      return fs->fallback = true, false;
    fs->cur = s;
  }
  t.amount = amount;
  if (s < fs->cur) {
    unsigned k = fs->cur - s;
    uint64_t mag = amount < 0 ? 0 - (uint64_t)amount : (uint64_t)amount;
    if (mag <= fs->lim[k]) {
      t.amount = amount * fs->pow10[k];
    } else if (pctl_decimal_rescale(amount, k, &t.amount) != LP_OK) {
      fs->doomed = true;
      return true;
    }
  }
  fs->buf[fs->nbuf++] = t;
  return fs->nbuf < FAST_BATCH || fast_flush(fs);
}

static fast_sink *fast_new(void) {
  fast_sink *fs = calloc(1, sizeof *fs);
  if (fs == NULL) return NULL;
  for (unsigned s = 0; s < SCALES; s++) {
    fs->kmin[s] = SCALES;
    fs->safe[s] = safe_below(SCALES - 1);
    fs->lim[s] = safe_below(s);
    fs->pow10[s] = s == 0 ? 1 : fs->pow10[s - 1] * 10;
  }
  fs->buf = malloc(FAST_BATCH * sizeof *fs->buf);
  if (fs->buf == NULL || lp_rfm_create(NULL, &fs->st) != LP_OK) {
    free(fs->buf);
    free(fs);
    return NULL;
  }
  return fs;
}

static void fast_free(fast_sink *fs) {
  if (fs == NULL) return;
  lp_rfm_free(fs->st);
  free(fs->buf);
  free(fs);
}

typedef struct chunk {
  const rfm_opts *o;
  const columns *c;
  pctl_csv *r;
  FILE *f;          /* chunks after the first: own stream of the file */
  uint64_t start;   /* file offset of the chunk's first byte */
  uint64_t stop;    /* file offset of the next chunk; UINT64_MAX: none */
  rfm_input in;
  int status;       /* PCTL_EXIT_OK, or a kept error */
  uint64_t err_line; /* chunk-relative; 0: the message names no line */
  char *err_msg;    /* malloc'd; NULL with a failure: out of memory */
  bool overran;     /* read past `stop`, to the end of the file */
  uint64_t end_line; /* chunk-relative line at `stop` */
  uint64_t line_base; /* lines of the chunks before it */
  fast_sink *fast;  /* the direct path; NULL: keep rows */
} chunk;

static int keep_error(chunk *ch, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int keep_error(chunk *ch, uint64_t line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  ch->err_line = line;
  ch->status = PCTL_EXIT_FAILURE;
  if (n < 0) return PCTL_EXIT_FAILURE;
  ch->err_msg = malloc((size_t)n + 1);
  if (ch->err_msg == NULL) return PCTL_EXIT_FAILURE;
  va_start(ap, fmt);
  vsnprintf(ch->err_msg, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return PCTL_EXIT_FAILURE;
}

static int keep_csv_error(chunk *ch) {
  uint64_t line;
  const char *rest = pctl_csv_split_line(pctl_csv_errmsg(ch->r), &line);
  return keep_error(ch, line, "%s", rest);
}

/* The last timestamp text parsed and its value: lines of one order share
 * it, and the same text always gives the same value. */
typedef struct ts_cache {
  size_t len; /* 0: empty */
  int64_t ts;
  char text[40];
} ts_cache;

static uint64_t load8(const char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

/* a[0..n) == b[0..n): texts of 8 to 24 bytes (ISO timestamps) in three
 * overlapping words, the last first (where timestamps differ). */
static bool same_text(const char *a, const char *b, size_t n) {
  if (n < 8 || n > 24) return memcmp(a, b, n) == 0;
  return load8(a + n - 8) == load8(b + n - 8) && load8(a) == load8(b) &&
         (n <= 16 || load8(a + 8) == load8(b + 8));
}

static int parse_ts(ts_cache *tc, const pctl_csv_field *f, int64_t *ts, char *err, size_t cap) {
  if (f->len == tc->len && f->len > 0 && same_text(f->ptr, tc->text, f->len)) {
    *ts = tc->ts;
    return LP_OK;
  }
  int rc = pctl_time_parse(f->ptr, f->len, PCTL_TIME_AUTO, ts, err, cap);
  if (rc == LP_OK && f->len <= sizeof tc->text) {
    memcpy(tc->text, f->ptr, f->len);
    tc->len = f->len;
    tc->ts = *ts;
  }
  return rc;
}

/* Parse rows until the end of the input or of the chunk. */
static void read_chunk(void *task) {
  chunk *ch = task;
  const rfm_opts *o = ch->o;
  const columns c = *ch->c;
  rfm_input *in = &ch->in;
  pctl_csv *r = ch->r;
  char err[PCTL_ERRBUF_SIZE];
  ts_cache tc = {0, 0, {0}};
  for (;;) {
    if (ch->stop != UINT64_MAX) {
      pctl_csv_stats st;
      pctl_csv_get_stats(r, &st);
      uint64_t at = ch->start + st.bytes;
      if (at == ch->stop) {
        ch->end_line = pctl_csv_current_line(r);
        break;
      }
      if (at > ch->stop) {
        ch->overran = true;
        ch->stop = UINT64_MAX;
      }
    }
    int rc = pctl_csv_next(r);
    if (rc == PCTL_CSV_END) break;
    if (rc != PCTL_CSV_ROW) {
      keep_csv_error(ch);
      return;
    }
    size_t n;
    const pctl_csv_field *f = pctl_csv_fields(r, &n);
    uint64_t line = pctl_csv_record_line(r);
    const char *idp = f[c.id].ptr;
    size_t idlen = f[c.id].len;
    pctl_trim_spaces(&idp, &idlen);
    if (idlen == 0) {
      if (o->drop_missing_id) {
        in->dropped++;
        continue;
      }
      keep_error(ch, line, "missing %s (use --drop-missing-id to skip such rows)", o->id_col);
      return;
    }
    row_in row;
    unsigned scale = 0;
    const char *what = o->ts_col;
    rc = parse_ts(&tc, &f[c.ts], &row.ts, err, sizeof err);
    if (rc == LP_OK) {
      what = c.amount != SIZE_MAX ? o->amount_col : "quantity x price";
      rc = row_amount(f, &c, o, &row.amount, &scale, err, sizeof err);
    }
    if (rc != LP_OK && o->scale >= 0 && rc == LP_ERANGE) {
      keep_error(ch, line, "%s: %s (--scale %d)", what, err, o->scale);
      return;
    }
    if (rc != LP_OK) {
      keep_error(ch, line, "%s: %s", what, err);
      return;
    }
    if (row.ts > o->as_of) {
      char when[40];
      pctl_time_format_iso8601(o->as_of, when, sizeof when);
      keep_error(ch, line, "%s is after --as-of %s", o->ts_col, when);
      return;
    }
    row.scale = (uint8_t)scale;
    row.line = line;
    if (scale > in->scale) in->scale = scale;
    if (ch->fast != NULL) {
      if (o->scale < 0) note_overflow(ch->fast, row.amount, scale, line);
      if (!fast_put(ch->fast, &c, f, row.ts, row.amount, scale)) return;
      continue;
    }
    row.order = NO_ORDER;
    rc = intern(&in->ids, &in->mem, &f[c.id], &row.id);
    if (rc == LP_OK && c.order != SIZE_MAX) rc = intern(&in->orders, &in->mem, &f[c.order], &row.order);
    if (rc == LP_OK) rc = lp_vec_push(&in->rows, &in->mem, &row);
    if (rc != LP_OK) {
      keep_error(ch, line, "%s", lp_strerror(rc));
      return;
    }
  }
  if (ch->fast != NULL) (void)fast_flush(ch->fast);
}

static bool is_bom(const unsigned char *p) { return p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF; }

#define CUT_WINDOW 65536

/* A guessed record start at or after `from`: just past an LF that ends a
 * non-empty line and is not followed by a BOM (which a reader would skip).
 * 0 when the window holds none. */
static uint64_t find_cut(FILE *f, uint64_t from, uint64_t size) {
  static const int context = 3;
  uint64_t ws = from >= (uint64_t)context ? from - (uint64_t)context : 0;
  unsigned char *buf = malloc(CUT_WINDOW);
  if (buf == NULL || fseeko(f, (off_t)ws, SEEK_SET) != 0) {
    free(buf);
    return 0;
  }
  size_t n = fread(buf, 1, CUT_WINDOW, f);
  uint64_t cut = 0;
  for (size_t j = (size_t)(from - ws); j + 3 < n && cut == 0; j++) {
    if (buf[j] != '\n' || j < 2) continue;
    size_t k = j - 1;
    if (buf[k] == '\r') k--;
    if (buf[k] == '\n' || is_bom(buf + j + 1)) continue;
    if (ws + j + 1 < size) cut = ws + j + 1;
  }
  free(buf);
  return cut;
}

static void chunk_init(chunk *ch, const rfm_opts *o, const columns *c) {
  memset(ch, 0, sizeof *ch);
  ch->o = o;
  ch->c = c;
  ch->stop = UINT64_MAX;
  lp_mem_init(&ch->in.mem, NULL);
  lp_strpool_init(&ch->in.ids);
  lp_strpool_init(&ch->in.orders);
  lp_vec_init(&ch->in.rows, sizeof(row_in));
}

static void chunk_free(chunk *ch) {
  pctl_csv_close(ch->r);
  if (ch->f != NULL) fclose(ch->f);
  free(ch->err_msg);
  fast_free(ch->fast);
  lp_vec_free(&ch->in.rows, &ch->in.mem);
  lp_strpool_free(&ch->in.ids, &ch->in.mem);
  lp_strpool_free(&ch->in.orders, &ch->in.mem);
}

/* Set up chunks 1.. of `ch` (ch[0] has read the header); returns how many
 * chunks there are in all (1 when the file cannot be cut). */
static size_t make_chunks(chunk *ch, size_t want, const rfm_opts *o, uint64_t size,
                          size_t ncols) {
  size_t n = 1;
  pctl_csv_stats st;
  pctl_csv_get_stats(ch[0].r, &st);
  uint64_t prev = st.bytes; /* the header's end */
  for (size_t i = 1; i < want; i++) {
    chunk *c = &ch[n];
    c->f = fopen(o->path, "rb");
    if (c->f == NULL) break;
    uint64_t mid = size / want * i;
    uint64_t cut = find_cut(c->f, mid > prev ? mid : prev, size);
    if (cut <= prev || fseeko(c->f, (off_t)cut, SEEK_SET) != 0 ||
        pctl_csv_open_file(NULL, c->f, &c->r) != LP_OK ||
        pctl_csv_expect_fields(c->r, ncols) != LP_OK) {
      pctl_csv_close(c->r);
      c->r = NULL;
      fclose(c->f);
      c->f = NULL;
      break;
    }
    ch[n - 1].stop = cut;
    c->start = cut;
    prev = cut;
    n++;
  }
  return n;
}

/* Append chunk `from` to `to`, its lines shifted by `line_base`. */
static int join_chunk(rfm_input *to, const rfm_input *from, uint64_t line_base) {
  size_t nid = lp_strpool_count(&from->ids), nord = lp_strpool_count(&from->orders);
  uint32_t *idmap = malloc((nid + nord + 1) * sizeof *idmap);
  if (idmap == NULL) return LP_ENOMEM;
  uint32_t *ordmap = idmap + nid;
  int rc = LP_OK;
  for (size_t k = 0; k < nid && rc == LP_OK; k++) {
    pctl_csv_field f;
    f.ptr = lp_strpool_get(&from->ids, (uint32_t)k, &f.len);
    rc = intern(&to->ids, &to->mem, &f, &idmap[k]);
  }
  for (size_t k = 0; k < nord && rc == LP_OK; k++) {
    pctl_csv_field f;
    f.ptr = lp_strpool_get(&from->orders, (uint32_t)k, &f.len);
    rc = intern(&to->orders, &to->mem, &f, &ordmap[k]);
  }
  if (rc == LP_OK) rc = lp_vec_reserve(&to->rows, &to->mem, to->rows.len + from->rows.len);
  for (size_t i = 0; i < from->rows.len && rc == LP_OK; i++) {
    row_in row = *(const row_in *)lp_vec_at(&from->rows, i);
    row.id = idmap[row.id];
    if (row.order != NO_ORDER) row.order = ordmap[row.order];
    row.line += line_base;
    rc = lp_vec_push(&to->rows, &to->mem, &row);
  }
  if (from->scale > to->scale) to->scale = from->scale;
  to->dropped += from->dropped;
  free(idmap);
  return rc;
}

/* Threads to read with: --threads, or the online CPUs (at most 2) for a
 * file large enough to be worth it. 1 for standard input. */
static size_t thread_count(const rfm_opts *o, uint64_t size) {
  if (size == 0) return 1;
  if (o->threads > 0) return (size_t)o->threads;
  unsigned cpus = pctl_par_cpus();
  return size >= ((uint64_t)1 << 20) && cpus >= 2 ? 2 : 1;
}

/* The direct path's end (the chunks 0..n-1 hold, in file order): the first
 * amount that does not fit at the common scale, as rescale_amounts() would
 * name it, or the chunks' states at that scale merged into `*out`. */
static int fast_finish(chunk *ch, size_t n, const rfm_opts *o, unsigned scale, lp_rfm **out) {
  for (size_t i = 0; i < n; i++) {
    uint64_t first = 0;
    for (unsigned s = 0; s < scale; s++) {
      uint64_t l = ch[i].fast->over[s][scale - s];
      if (l != 0 && (first == 0 || l < first)) first = l;
    }
    if (first != 0)
      return pctl_data_error(o->path, first + ch[i].line_base,
                             "the amount does not fit 64 bits at %u decimal places (the most "
                             "any row has); give a smaller --scale",
                             scale);
  }
  /* The first chunk's state becomes the result. */
  lp_rfm *h = ch[0].fast->st;
  int rc = LP_OK;
  for (size_t i = 0; i < n && rc == LP_OK; i++) {
    lp_rfm *st = ch[i].fast->st;
    int64_t factor;
    rc = pctl_decimal_rescale(1, scale - ch[i].fast->cur, &factor);
    if (rc == LP_OK) rc = lp_rfm_scale_amounts(st, factor);
    if (rc == LP_OK && i > 0) rc = lp_rfm_merge(h, st);
  }
  if (rc != LP_OK) return RFM_FALLBACK;
  ch[0].fast->st = NULL;
  *out = h;
  return PCTL_EXIT_OK;
}

/* Read every row into `in` (empty, initialised); returns an exit status
 * after printing errors. With `fast` (a regular file), the rows are
 * ingested on the direct path into `*fast` instead, or RFM_FALLBACK says
 * to read again without it. */
static int read_rows(FILE *f, uint64_t size, const rfm_opts *o, rfm_input *in, lp_rfm **fast) {
  columns c;
  chunk ch[PCTL_PAR_MAX];
  size_t want = thread_count(o, size);
  chunk_init(&ch[0], o, &c);
  for (size_t i = 1; i < want; i++) chunk_init(&ch[i], o, &c);
  int status = PCTL_EXIT_OK;
  for (size_t i = 0; i < want && fast != NULL && status == PCTL_EXIT_OK; i++)
    if ((ch[i].fast = fast_new()) == NULL) status = RFM_FALLBACK;
  if (pctl_csv_open_file(NULL, f, &ch[0].r) != LP_OK) {
    status = pctl_csv_report(NULL, o->path);
  } else if (status != PCTL_EXIT_OK) {
  } else if (pctl_csv_read_header(ch[0].r) != LP_OK) {
    status = pctl_csv_report(ch[0].r, o->path);
  } else {
    status = find_columns(ch[0].r, o, &c);
  }
  size_t n = 1;
  if (status == PCTL_EXIT_OK) {
    if (want > 1) n = make_chunks(ch, want, o, size, pctl_csv_header_count(ch[0].r));
    pctl_par_run(n, read_chunk, ch, sizeof *ch);
    /* The first error in file order, or the rows of the chunks that hold. */
    uint64_t line_base = 0;
    size_t used = 0;
    for (size_t i = 0; i < n && status == PCTL_EXIT_OK; i++) {
      ch[i].line_base = line_base;
      used = i + 1;
      if (ch[i].status != PCTL_EXIT_OK) {
        if (ch[i].err_msg == NULL) {
          status = pctl_data_error(o->path, 0, "%s", lp_strerror(LP_ENOMEM));
        } else {
          uint64_t line = ch[i].err_line == 0 ? 0 : ch[i].err_line + line_base;
          status = pctl_data_error(o->path, line, "%s", ch[i].err_msg);
        }
        break;
      }
      if (ch[i].fast != NULL && ch[i].fast->fallback) {
        status = RFM_FALLBACK;
        break;
      }
      if (i > 0 && ch[i].fast != NULL) {
        if (ch[i].in.scale > ch[0].in.scale) ch[0].in.scale = ch[i].in.scale;
        ch[0].in.dropped += ch[i].in.dropped;
      } else if (i > 0 && join_chunk(&ch[0].in, &ch[i].in, line_base) != LP_OK) {
        pctl_error("%s: %s", o->path, lp_strerror(LP_ENOMEM));
        status = PCTL_EXIT_FAILURE;
      }
      if (ch[i].overran) break;
      line_base += ch[i].end_line - 1;
    }
    if (status == PCTL_EXIT_OK && fast != NULL)
      status = fast_finish(ch, used, o, ch[0].in.scale, fast);
  }
  /* Hand chunk 0's input over to the caller. */
  *in = ch[0].in;
  lp_vec_init(&ch[0].in.rows, sizeof(row_in));
  lp_strpool_init(&ch[0].in.ids);
  lp_strpool_init(&ch[0].in.orders);
  for (size_t i = 0; i < want; i++) chunk_free(&ch[i]);
  return status;
}

/* Bring every amount to the common scale (the largest one seen), exactly. */
static int rescale_amounts(const rfm_opts *o, rfm_input *in) {
  for (size_t i = 0; i < in->rows.len; i++) {
    row_in *r = lp_vec_at(&in->rows, i);
    if (pctl_decimal_rescale(r->amount, in->scale - r->scale, &r->amount) != LP_OK)
      return pctl_data_error(o->path, r->line,
                             "the amount does not fit 64 bits at %u decimal places (the most "
                             "any row has); give a smaller --scale",
                             in->scale);
    r->scale = (uint8_t)in->scale;
  }
  return PCTL_EXIT_OK;
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
static int rule_bound(const pctl_csv_field *f, size_t col, uint32_t dflt, uint32_t bins,
                      uint32_t *out, char *err, size_t cap) {
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
  if (rc == LP_OK && (v < 1 || v > (int64_t)bins)) {
    snprintf(err, cap, "score bound %lld is outside 1..%u (the scores of --bins %u)",
             (long long)v, bins, bins);
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
      rc = rule_bound(fl, col[i + 1], i % 2 == 0 ? 1u : (uint32_t)o->bins, (uint32_t)o->bins,
                      &b[i], err, sizeof err);
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
    pctl_data_error(o->segments, r != NULL ? pctl_csv_record_line(r) : 0, "%s", err);
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

static int64_t floor_days(int64_t seconds) {
  int64_t d = seconds / DAY_SECONDS;
  return (seconds % DAY_SECONDS != 0 && seconds < 0) ? d - 1 : d;
}

static int print_rows(const rfm_input *in, const uint32_t *by_rank, const lp_rfm_row *rows,
                      size_t n, const lp_rfm_segmap *map) {
  static const char *const header[] = {"profile_id", "recency_days", "frequency", "monetary",
                                       "r", "f", "m", "segment", "lifecycle"};
  pctl_csvout w;
  pctl_csvout_stream(&w, stdout, "standard output");
  pctl_csvout_strs(&w, header, PCTL_ARRAY_LEN(header));
  pctl_csvout_end_row(&w);
  for (size_t i = 0; i < n; i++) {
    const lp_rfm_row *row = &rows[i];
    size_t len;
    char packed[8];
    const char *id = packed;
    if (by_rank != NULL) id = lp_strpool_get(&in->ids, by_rank[row->profile_id], &len);
    else len = unpack8(row->profile_id, packed);
    pctl_csvout_field(&w, id, len);
    pctl_csvout_i64(&w, floor_days(row->recency));
    pctl_csvout_i64(&w, (int64_t)row->frequency);
    char money[PCTL_DECIMAL_BUF];
    pctl_decimal_format(row->monetary, in->scale, money, sizeof money);
    pctl_csvout_str(&w, money);
    pctl_csvout_u64(&w, row->r);
    pctl_csvout_u64(&w, row->f);
    pctl_csvout_u64(&w, row->m);
    pctl_csvout_str(&w, lp_rfm_segmap_name(map, row->segment));
    pctl_csvout_str(&w, lp_rfm_stage_name((int)row->stage));
    pctl_csvout_end_row(&w);
  }
  return pctl_csvout_close(&w);
}

/* The segment table on stderr (for people: aligned, money with the data's
 * decimals, means rounded). */
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
  double unit = 1.0;
  for (unsigned k = 0; k < scale; k++) unit *= 10.0;
  for (size_t i = 0; i <= nseg; i++) {
    if (s[i].customers == 0) continue;
    char rev[PCTL_DECIMAL_BUF];
    pctl_decimal_format(s[i].revenue, scale, rev, sizeof rev);
    fprintf(stderr, "%-22s %10llu %16s %7.2f %12.1f %10.2f %14.*f\n",
            lp_rfm_segmap_name(map, i == nseg ? LP_RFM_SEGMENT_OTHERS : (uint32_t)i),
            (unsigned long long)s[i].customers, rev, 100.0 * s[i].revenue_share,
            s[i].mean_recency / (double)DAY_SECONDS, s[i].mean_frequency, (int)scale,
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
    status = print_rows(in, by_rank, rows, n, map);
    if (status == PCTL_EXIT_OK) status = print_summary(rows, n, map, in->scale);
    if (in->dropped > 0)
      fprintf(stderr, "dropped %llu rows without %s\n", (unsigned long long)in->dropped,
              o->id_col);
  }
  free(rows);
  return status;
}

/* Empty `in` again (after the direct path gave up). */
static void input_reset(rfm_input *in) {
  lp_vec_free(&in->rows, &in->mem);
  lp_strpool_free(&in->ids, &in->mem);
  lp_strpool_free(&in->orders, &in->mem);
  lp_strpool_init(&in->ids);
  lp_strpool_init(&in->orders);
  lp_vec_init(&in->rows, sizeof(row_in));
  in->dropped = 0;
  in->scale = 0;
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
  uint64_t size = 0;
  if (status == PCTL_EXIT_OK) status = pctl_open_input(o.path, &f, &size);
  if (status == PCTL_EXIT_OK) {
    status = read_rows(f, size, &o, &in, size > 0 ? &h : NULL);
    if (status == RFM_FALLBACK) {
      input_reset(&in);
      status = fseeko(f, 0, SEEK_SET) == 0 ? read_rows(f, size, &o, &in, NULL)
                                           : pctl_data_error(o.path, 0, "cannot read it again");
    }
    if (status == PCTL_EXIT_OK && h == NULL) status = rescale_amounts(&o, &in);
    pctl_close_input(f);
  }
  if (status == PCTL_EXIT_OK && h == NULL) {
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
  "Timestamps (the column and --as-of) are ISO-8601 or Unix seconds, parsed\n"
  "like every timestamp of profilectl. Money is exact (no floating point):\n"
  "with --scale auto (the default) the data's own decimals decide: monetary is\n"
  "printed with the most decimal places written in any amount (for quantity x\n"
  "price, quantity places + price places), so 2 x 1.995 is 3.990; with a fixed\n"
  "--scale N every amount is kept at N places and an amount that needs more\n"
  "(other than zeros) is an error naming FILE:LINE. Malformed numbers,\n"
  "timestamps after --as-of and empty ids (without --drop-missing-id) are\n"
  "errors naming FILE:LINE.\n",
  run_rfm,
};
