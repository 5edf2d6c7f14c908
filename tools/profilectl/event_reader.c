/*
 * Events CSV rows parsed and prepared on worker threads, applied in file
 * order on the calling thread (see event_reader.h).
 * SPDX-License-Identifier: MIT
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* fseeko */
#endif
#include "event_reader.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/arena.h"
#include "core/vec.h"
#include "event_window.h"
#include "par.h"
#include "textutil.h"
#include "timeparse.h"

/* Room for any kept message: a reader message (at most 255 bytes) or
 * "ts: " and a time parser's (PCTL_ERRBUF_SIZE). */
#define ERR_CAP 512
/* Bytes of the blocks that hold the sources and normalised values. */
#define TEXT_BLOCK ((size_t)256 * 1024)
/* Initial buffer of a chunk's CSV reader (it grows for longer records). */
#define CHUNK_READ_BUFFER ((size_t)64 * 1024)
/* Bytes lp_idgraph_prepare() may need for one row's normalised values. */
#define PREP_SCRATCH ((size_t)PCTL_EVENT_MAX_IDS * LP_IDGRAPH_MAX_VALUE_LEN)

/* The fields of one row: its time, source and non-empty identifiers.
 * false with the message in `err` when 'ts' does not parse. */
static bool row_fields(const pctl_event_columns *c, const pctl_csv_field *f, int64_t *ts,
                       lp_idgraph_ident *ids, size_t *n, pctl_csv_field *src, char *err,
                       size_t cap) {
  char why[PCTL_ERRBUF_SIZE];
  const char *tp = f[c->ts].ptr;
  size_t tl = f[c->ts].len;
  pctl_trim_spaces(&tp, &tl);
  if (pctl_time_parse(tp, tl, PCTL_TIME_AUTO, ts, why, sizeof why) != LP_OK) {
    snprintf(err, cap, "ts: %s", why);
    return false;
  }
  size_t k = 0;
  for (size_t i = 0; i < c->n; i++) {
    const pctl_csv_field *v = &f[c->col[i]];
    if (v->len == 0) continue;
    ids[k].type = c->type[i];
    ids[k].value = v->ptr;
    ids[k].len = v->len;
    k++;
  }
  *n = k;
  src->ptr = c->source != SIZE_MAX ? f[c->source].ptr : "";
  src->len = c->source != SIZE_MAX ? f[c->source].len : 0;
  return true;
}

/* ---- one thread: row by row ---- */

/* Whether `g` holds an identifier (then preparing on it may overlap the
 * applying, see identity.h). */
static bool holds_identifier(const lp_idgraph *g) {
  lp_idgraph_stats gs;
  memset(&gs, 0, sizeof gs);
  gs.struct_size = (uint32_t)sizeof gs;
  return lp_idgraph_get_stats(g, &gs) == LP_OK && gs.identifiers > 0;
}

static void stream_progress(const pctl_event_input *in, const pctl_event_extra *x,
                            uint64_t rows, bool step) {
  if (x == NULL || x->progress == NULL) return;
  pctl_csv_stats st;
  pctl_csv_get_stats(in->csv, &st);
  x->progress(x->ud, st.bytes, rows, step);
}

/* Before the reader reports a data error of its own: the events held back
 * in a time window (all from earlier lines) are applied first, and a
 * failure of theirs is the one reported. */
static int held_first(pctl_event_window *held) {
  return held != NULL ? pctl_event_window_flush(held) : PCTL_EXIT_OK;
}

/* Row by row; with `warm` set it stops (*warmed true) after the first row
 * that leaves the preparing graph holding an identifier. */
static int read_stream(const pctl_event_input *in, const pctl_event_extra *x, bool warm,
                       bool *warmed, pctl_event_fn fn, void *ud, pctl_event_window *held,
                       uint64_t *rows) {
  char *scratch = malloc(PREP_SCRATCH);
  if (scratch == NULL) return pctl_data_error(in->path, 0, "%s", strerror(ENOMEM));
  int status = PCTL_EXIT_OK;
  for (;;) {
    int rc = pctl_csv_next(in->csv);
    if (rc == PCTL_CSV_END) break;
    if (rc != PCTL_CSV_ROW) {
      if ((status = held_first(held)) == PCTL_EXIT_OK) status = pctl_csv_report(in->csv, in->path);
      break;
    }
    size_t nf;
    const pctl_csv_field *f = pctl_csv_fields(in->csv, &nf);
    uint64_t line = pctl_csv_record_line(in->csv);
    lp_idgraph_ident ids[PCTL_EVENT_MAX_IDS];
    lp_idgraph_prepared prep[PCTL_EVENT_MAX_IDS];
    pctl_event ev;
    pctl_csv_field src;
    char err[ERR_CAP];
    if (!row_fields(in->cols, f, &ev.ts, ids, &ev.n, &src, err, sizeof err)) {
      if ((status = held_first(held)) == PCTL_EXIT_OK) status = pctl_data_error(in->path, line, "%s", err);
      break;
    }
    (*rows)++;
    if (ev.n == 0) {
      stream_progress(in, x, *rows, false);
      continue;
    }
    size_t used;
    if (lp_idgraph_prepare(in->prep, ids, ev.n, prep, scratch, PREP_SCRATCH, &used) != LP_OK) {
      if ((status = held_first(held)) == PCTL_EXIT_OK)
        status = pctl_data_error(in->path, line, "%s", lp_idgraph_errmsg(in->prep));
      break;
    }
    ev.ids = prep;
    ev.source = src.ptr;
    ev.source_len = src.len;
    ev.line = line;
    status = fn(ud, &ev);
    if (status != PCTL_EXIT_OK) break;
    stream_progress(in, x, *rows, false);
    if (warm && holds_identifier(in->prep)) {
      *warmed = true;
      break;
    }
  }
  free(scratch);
  return status;
}

/* ---- several threads: chunks ---- */

/* An event of a chunk; `line` is the chunk reader's. */
typedef struct chunk_event {
  int64_t ts;
  uint64_t line;
  size_t first; /* index of its first identifier in chunk.ids */
  size_t n;
  const char *source; /* in chunk.text */
  size_t source_len;
} chunk_event;

/*
 * A chunk's reader is fed one LF before the chunk's bytes: a BOM at the
 * chunk's start is then data, as it is to the one-thread reader, and the
 * LF is skipped as an empty line. So the reader's line 2 is the chunk's
 * first line and its byte counter is one ahead.
 */
typedef struct chunk {
  const pctl_event_input *in;
  bool raw; /* the graph stores normalised values */
  lp_mem mem;
  FILE *f; /* own stream of the file */
  pctl_csv *csv;
  bool lead; /* the leading LF is still to be given */
  /* Set before a step. */
  uint64_t from;   /* where the chunk starts, or where to look for a line start */
  bool exact;      /* `from` is a record boundary */
  uint64_t target; /* stop at the first record end at or after it */
  /* Results. */
  uint64_t start, end; /* file offsets */
  uint64_t end_line;   /* reader line at `end` */
  bool last;           /* ended by the end of the input or by an error */
  uint64_t rows;
  lp_vec events; /* chunk_event */
  lp_vec ids;    /* lp_idgraph_prepared */
  lp_arena text; /* blocks for sources and normalised values */
  char *blk;
  size_t blk_left;
  int status; /* PCTL_EXIT_OK, or a kept error */
  uint64_t err_line; /* reader line; 0: the message names none */
  char err[ERR_CAP];
  /* Set when the chunk is found to follow the one before. */
  uint64_t base; /* file line of the chunk's first byte */
} chunk;

static int chunk_read(void *ud, void *buf, size_t cap, size_t *got) {
  chunk *c = ud;
  *got = 0;
  if (cap == 0) return LP_OK;
  if (c->lead) {
    *(char *)buf = '\n';
    *got = 1;
    c->lead = false;
    return LP_OK;
  }
  *got = fread(buf, 1, cap, c->f);
  return *got == 0 && ferror(c->f) ? LP_EIO : LP_OK;
}

static void keep(chunk *c, uint64_t line, const char *msg) {
  c->status = PCTL_EXIT_FAILURE;
  c->err_line = line;
  snprintf(c->err, sizeof c->err, "%s", msg);
  c->last = true;
}

static void keep_csv(chunk *c) {
  uint64_t line;
  const char *rest = pctl_csv_split_line(pctl_csv_errmsg(c->csv), &line);
  keep(c, line, rest);
}

/* `size` stable bytes in the chunk's text blocks (NULL: out of memory). */
static char *text_room(chunk *c, size_t size) {
  if (c->blk_left < size) {
    size_t want = size > TEXT_BLOCK ? size : TEXT_BLOCK;
    char *b = lp_arena_alloc(&c->text, &c->mem, want, 1);
    if (b == NULL) return NULL;
    c->blk = b;
    c->blk_left = want;
  }
  return c->blk;
}

static void text_take(chunk *c, size_t size) {
  if (size == 0) return; /* hashed mode: no block yet, and NULL + 0 is undefined */
  c->blk += size;
  c->blk_left -= size;
}

/* Prepare one row's identifiers into the chunk. With raw storage the
 * block has room for the documented worst case first, so the call never
 * fails for want of room (a failure would write the shared graph's message
 * slot from several threads). */
static int prepare_row(chunk *c, const lp_idgraph_ident *ids, size_t n, size_t *first) {
  int rc = lp_vec_reserve(&c->ids, &c->mem, c->ids.len + n);
  if (rc != LP_OK) return rc;
  char *scratch = NULL;
  size_t room = 0;
  if (c->raw) {
    room = n * LP_IDGRAPH_MAX_VALUE_LEN;
    scratch = text_room(c, room);
    if (scratch == NULL) return LP_ENOMEM;
  }
  size_t used = 0;
  rc = lp_idgraph_prepare(c->in->prep, ids, n, lp_vec_at(&c->ids, c->ids.len), scratch, room,
                          &used);
  if (rc != LP_OK) return rc;
  text_take(c, used);
  *first = c->ids.len;
  c->ids.len += n;
  return LP_OK;
}

static void chunk_reset(chunk *c) {
  c->events.len = 0;
  c->ids.len = 0;
  lp_arena_free(&c->text, &c->mem);
  lp_arena_init(&c->text);
  c->blk = NULL;
  c->blk_left = 0;
  c->rows = 0;
  c->last = false;
  c->status = PCTL_EXIT_OK;
  c->err_line = 0;
  c->err[0] = '\0';
  pctl_csv_close(c->csv);
  c->csv = NULL;
}

/* Find the chunk's start and open its reader; false after keep(). */
static bool chunk_open(chunk *c) {
  c->start = c->end = c->from;
  if (fseeko(c->f, (off_t)c->from, SEEK_SET) != 0) {
    keep(c, 0, strerror(errno));
    return false;
  }
  if (!c->exact) {
    int ch;
    while ((ch = getc(c->f)) != EOF) {
      c->start++;
      if (ch == '\n') break;
    }
  }
  pctl_csv_config cfg;
  pctl_csv_config_init(&cfg);
  cfg.buffer_size = CHUNK_READ_BUFFER;
  c->lead = true;
  if (pctl_csv_open(&cfg, chunk_read, c, &c->csv) != LP_OK ||
      pctl_csv_expect_fields(c->csv, pctl_csv_header_count(c->in->csv)) != LP_OK) {
    keep(c, 0, strerror(ENOMEM));
    return false;
  }
  return true;
}

/* Parse and prepare the rows of one chunk (a worker's task). */
static void parse_chunk(chunk *c) {
  chunk_reset(c);
  if (!chunk_open(c)) return;
  const pctl_event_columns *cols = c->in->cols;
  for (;;) {
    pctl_csv_stats st;
    pctl_csv_get_stats(c->csv, &st);
    /* Until a record is read the leading LF is not consumed either. */
    c->end = c->start + (st.bytes > 0 ? st.bytes - 1 : 0);
    c->end_line = st.bytes > 0 ? pctl_csv_current_line(c->csv) : 2;
    if (c->end >= c->target) return;
    int rc = pctl_csv_next(c->csv);
    if (rc == PCTL_CSV_END) {
      c->last = true;
      return;
    }
    if (rc != PCTL_CSV_ROW) {
      keep_csv(c);
      return;
    }
    size_t nf;
    const pctl_csv_field *f = pctl_csv_fields(c->csv, &nf);
    uint64_t line = pctl_csv_record_line(c->csv);
    chunk_event ev;
    lp_idgraph_ident ids[PCTL_EVENT_MAX_IDS];
    pctl_csv_field src;
    char err[ERR_CAP];
    if (!row_fields(cols, f, &ev.ts, ids, &ev.n, &src, err, sizeof err)) {
      keep(c, line, err);
      return;
    }
    c->rows++;
    if (ev.n == 0) continue;
    ev.line = line;
    rc = prepare_row(c, ids, ev.n, &ev.first);
    char *s = rc == LP_OK ? text_room(c, src.len + 1) : NULL;
    if (rc == LP_OK && s == NULL) rc = LP_ENOMEM;
    if (rc == LP_OK) {
      memcpy(s, src.ptr, src.len);
      s[src.len] = '\0';
      text_take(c, src.len + 1);
      ev.source = s;
      ev.source_len = src.len;
      rc = lp_vec_push(&c->events, &c->mem, &ev);
    }
    if (rc != LP_OK) {
      keep(c, line, rc == LP_ENOMEM || rc == LP_ELIMIT ? lp_strerror(rc)
                                                        : lp_idgraph_errmsg(c->in->prep));
      return;
    }
  }
}

/* Hand the events of `c` (its base set) to the callback, then its error. */
static int apply_chunk(const chunk *c, pctl_event_fn fn, void *ud, pctl_event_window *held,
                       uint64_t *rows) {
  for (size_t i = 0; i < c->events.len; i++) {
    const chunk_event *e = lp_vec_at(&c->events, i);
    pctl_event ev;
    ev.ts = e->ts;
    ev.source = e->source;
    ev.source_len = e->source_len;
    ev.ids = lp_vec_at(&c->ids, e->first);
    ev.n = e->n;
    ev.line = c->base + e->line - 2;
    int st = fn(ud, &ev);
    if (st != PCTL_EXIT_OK) return st;
  }
  *rows += c->rows;
  if (c->status == PCTL_EXIT_OK) return PCTL_EXIT_OK;
  int st = held_first(held);
  if (st != PCTL_EXIT_OK) return st;
  return pctl_data_error(c->in->path, c->err_line == 0 ? 0 : c->base + c->err_line - 2, "%s",
                         c->err);
}

typedef struct task {
  chunk *parse; /* NULL: the apply task */
  chunk *const *apply;
  size_t napply;
  pctl_event_fn fn;
  void *ud;
  pctl_event_window *held;
  uint64_t rows;
  int status;
} task;

static void run_task(void *arg) {
  task *t = arg;
  if (t->parse != NULL) {
    parse_chunk(t->parse);
    return;
  }
  t->status = PCTL_EXIT_OK;
  for (size_t i = 0; i < t->napply && t->status == PCTL_EXIT_OK; i++)
    t->status = apply_chunk(t->apply[i], t->fn, t->ud, t->held, &t->rows);
}

static void chunk_free(chunk *c) {
  pctl_csv_close(c->csv);
  if (c->f != NULL) fclose(c->f);
  lp_vec_free(&c->events, &c->mem);
  lp_vec_free(&c->ids, &c->mem);
  lp_arena_free(&c->text, &c->mem);
}

static int read_chunks(const pctl_event_input *in, const pctl_event_extra *x, pctl_event_fn fn,
                       void *ud, pctl_event_window *held, uint64_t *rows) {
  size_t workers = in->threads - 1;
  if (workers > PCTL_PAR_MAX - 1) workers = PCTL_PAR_MAX - 1;
  uint64_t step = (uint64_t)in->chunk_bytes;
  chunk *slots = calloc(2 * workers, sizeof *slots);
  chunk *sets[2][PCTL_PAR_MAX];
  task tasks[PCTL_PAR_MAX];
  int status = PCTL_EXIT_OK;
  if (slots == NULL) return pctl_data_error(in->path, 0, "%s", strerror(ENOMEM));
  for (size_t i = 0; i < 2 * workers; i++) {
    chunk *c = &slots[i];
    c->in = in;
    lp_mem_init(&c->mem, NULL);
    lp_vec_init(&c->events, sizeof(chunk_event));
    lp_vec_init(&c->ids, sizeof(lp_idgraph_prepared));
    lp_arena_init(&c->text);
    sets[i / workers][i % workers] = c;
    c->f = fopen(in->path, "rb");
    if (c->f == NULL && status == PCTL_EXIT_OK) {
      pctl_error("cannot open '%s': %s", in->path, strerror(errno));
      status = PCTL_EXIT_FAILURE;
    }
  }
  int64_t raw = 0;
  if (lp_idgraph_get_int(in->prep, LP_IDGRAPH_STORE_RAW, &raw) != LP_OK) raw = 1;
  for (size_t i = 0; i < 2 * workers; i++) slots[i].raw = raw != 0;
  pctl_csv_stats hs;
  pctl_csv_get_stats(in->csv, &hs);
  uint64_t next = hs.bytes;                           /* where the next chunk starts */
  uint64_t base = pctl_csv_current_line(in->csv);     /* and its file line */
  bool more = true;
  size_t cur = 0, napply = 0;
  while (status == PCTL_EXIT_OK && (more || napply > 0)) {
    chunk **parse = sets[cur], **apply = sets[cur ^ 1];
    uint64_t applied = next; /* the chunks applied in this step end there */
    size_t np = 0;
    for (size_t j = 0; more && j < workers; j++) {
      uint64_t from = next + j * step;
      if (j > 0 && from >= in->size) break;
      parse[j]->from = from;
      parse[j]->exact = j == 0;
      parse[j]->target = from + step;
      np++;
    }
    task *t = &tasks[0];
    memset(t, 0, sizeof *t);
    t->apply = apply;
    t->napply = napply;
    t->fn = fn;
    t->ud = ud;
    t->held = held;
    for (size_t j = 0; j < np; j++) {
      memset(&tasks[1 + j], 0, sizeof tasks[1 + j]);
      tasks[1 + j].parse = parse[j];
    }
    pctl_par_run(1 + np, run_task, tasks, sizeof *tasks);
    *rows += t->rows;
    status = t->status;
    if (status == PCTL_EXIT_OK && napply > 0 && x != NULL && x->progress != NULL)
      x->progress(x->ud, applied, *rows, true);
    /* The chunks that follow on from each other are applied next. */
    napply = 0;
    for (size_t j = 0; j < np; j++) {
      chunk *c = parse[j];
      if (j > 0 && c->start != parse[j - 1]->end) break;
      c->base = base;
      base += c->end_line - 2;
      next = c->end;
      napply++;
      if (c->last) {
        more = false;
        break;
      }
    }
    cur ^= 1;
  }
  for (size_t i = 0; i < 2 * workers; i++) chunk_free(&slots[i]);
  free(slots);
  return status;
}

int pctl_events_read_ex(const pctl_event_input *in, const pctl_event_extra *x, pctl_event_fn fn,
                        void *ud, uint64_t *rows) {
  *rows = 0;
  bool warmed = false, chunked = in->threads > 1 && in->size > 0;
  int status = PCTL_EXIT_OK;
  bool warm = chunked && x != NULL && x->warm_up && !holds_identifier(in->prep);
  if (warm) {
    /* The rows before the graph holds an identifier, one at a time and
     * applied at once (the workers wait for that identifier); the chunks
     * then start at the record boundary the reader stopped at. */
    status = read_stream(in, x, true, &warmed, fn, ud, NULL, rows);
    chunked = status == PCTL_EXIT_OK && warmed;
  }
  /* From here on, in a time window when asked (event_window.h). */
  pctl_event_window win, *held = NULL;
  if (x != NULL && x->time_window > 1) {
    (void)pctl_event_window_init(&win, x->time_window, NULL, fn, ud); /* the C library's: valid */
    held = &win;
    fn = pctl_event_window_add;
    ud = held;
  }
  if (!warm && !chunked) status = read_stream(in, x, false, &warmed, fn, ud, held, rows);
  if (chunked) status = read_chunks(in, x, fn, ud, held, rows);
  if (status == PCTL_EXIT_OK && held != NULL) status = pctl_event_window_flush(held);
  if (held != NULL) pctl_event_window_free(held);
  if (status == PCTL_EXIT_OK && x != NULL && x->progress != NULL) {
    pctl_csv_stats st;
    pctl_csv_get_stats(in->csv, &st);
    x->progress(x->ud, chunked ? in->size : st.bytes, *rows, true);
  }
  return status;
}

int pctl_events_read(const pctl_event_input *in, pctl_event_fn fn, void *ud, uint64_t *rows) {
  return pctl_events_read_ex(in, NULL, fn, ud, rows);
}

size_t pctl_events_threads(int64_t requested, uint64_t size) {
  if (size == 0) return 1;
  if (requested > 0) return requested > PCTL_PAR_MAX ? PCTL_PAR_MAX : (size_t)requested;
  return size >= ((uint64_t)1 << 20) && pctl_par_cpus() >= 2 ? 2 : 1;
}
