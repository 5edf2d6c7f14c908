/*
 * Streaming CSV reader. The parser is a resumable state machine: when it
 * runs out of buffered bytes mid-record it saves its position as offsets
 * from the record start, the buffer is compacted (or grown) and refilled,
 * and parsing continues where it stopped. Every byte is therefore scanned
 * once, and unquoting in place stays correct across refills.
 * SPDX-License-Identifier: MIT
 */
#include "csv.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "core/error.h"
#include "core/mem.h"
#include "cli.h"

#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <emmintrin.h>
#define PCTL_CSV_HAVE_SSE2 1
#else
#define PCTL_CSV_HAVE_SSE2 0
#endif

enum parse_state {
  ST_RECORD,      /* before the first byte of a record (empty lines skipped here) */
  ST_FIELD,       /* at the first byte of a field */
  ST_UNQUOTED,    /* inside an unquoted field */
  ST_QUOTED,      /* inside a quoted field */
  ST_QUOTE,       /* at a quote inside a quoted field: closing or doubled? */
  ST_AFTER_QUOTE  /* right after a closing quote */
};

/* parse() results besides negative errors. */
enum { P_DONE = 1, P_MORE = 2, P_END = 3 };

typedef struct span {
  size_t off; /* from the record start */
  size_t len;
} span;

struct pctl_csv {
  lp_mem mem; /* first: see lp_mem_new_handle */
  lp_error err;
  lp_reader read;
  void *ud;
  FILE *file;    /* pctl_csv_open_file(): the stream, ud is the reader itself */
  int file_errno; /* errno of its failed read, for the message */
  pctl_csv_config cfg;
  unsigned char delim;
  pctl_csv_scan scan; /* resolved: never AUTO */
  /* Wide kernels: stop bytes of the 64 bytes at mblk (NULL: none yet). */
  unsigned char *mblk;
  uint64_t mbits;
  /* Non-zero for the bytes that end a run of unquoted field text. */
  unsigned char cls[256];

  unsigned char *buf; /* cap + 1 bytes: the extra one holds a sentinel or NUL */
  size_t cap;
  size_t len;          /* bytes buffered */
  size_t rec;          /* offset of the current record's first byte */
  uint64_t buf_offset; /* stream offset of buf[0] */
  bool eof;
  bool at_end;
  bool bom_checked;
  bool header_read;
  bool started;
  int sticky;

  /* Parser state; offsets are from buf + rec so compaction keeps them. */
  enum parse_state state;
  size_t pos, fstart, seg, wr;
  size_t term; /* length of the line ending of the record just parsed */
  uint64_t line;     /* physical line at the scan position */
  uint64_t rec_line; /* line where the current record starts */
  pctl_csv_problem problem;
  size_t problem_field; /* 1-based */

  span *spans;
  pctl_csv_field *view;
  size_t nfields; /* fields parsed in the current record */
  size_t fcap;
  size_t nview;   /* fields exposed; 0 unless the last result was a row */
  size_t expected;

  char *hdr_bytes;
  size_t hdr_bytes_len;
  pctl_csv_field *hdr;
  size_t nhdr;

  pctl_csv_problem last_problem;
  uint64_t last_line;
  pctl_csv_stats stats;
};

/* Quoted text stops only at a quote (closing or doubled) and at LF, which
 * is counted for line numbers; the LF sentinel also stops it at the end. */
static const unsigned char quoted_cls[256] = {['"'] = 1, ['\n'] = 1};

static const unsigned char utf8_bom[3] = {0xEF, 0xBB, 0xBF};

#define INITIAL_FIELDS 16

void pctl_csv_config_init(pctl_csv_config *cfg) {
  if (cfg == NULL) return;
  cfg->delimiter = ',';
  cfg->on_malformed = PCTL_CSV_STOP;
  cfg->buffer_size = PCTL_CSV_DEFAULT_BUFFER;
  cfg->max_fields = PCTL_CSV_DEFAULT_MAX_FIELDS;
  cfg->max_record_bytes = PCTL_CSV_DEFAULT_MAX_RECORD;
  cfg->alloc = NULL;
  cfg->scan = PCTL_CSV_SCAN_AUTO;
}

static unsigned long long ull(uint64_t v) { return (unsigned long long)v; }

/* Record a hard error: it is returned by every later call. */
static int stick(pctl_csv *r, int code) {
  r->sticky = code;
  r->nview = 0;
  return code;
}

static int validate_config(const pctl_csv_config *c) {
  if (c->delimiter == '"' || c->delimiter == '\r' || c->delimiter == '\n' ||
      c->delimiter == '\0')
    return LP_EINVAL;
  if (c->on_malformed != PCTL_CSV_STOP && c->on_malformed != PCTL_CSV_REPORT)
    return LP_EINVAL;
  if (c->scan != PCTL_CSV_SCAN_AUTO && c->scan != PCTL_CSV_SCAN_BYTE &&
      c->scan != PCTL_CSV_SCAN_WORD && c->scan != PCTL_CSV_SCAN_SSE2)
    return LP_EINVAL;
  if (c->buffer_size < 4 || c->max_fields == 0 || c->max_record_bytes == 0)
    return LP_EINVAL;
  /* The buffer may grow to max_record_bytes + 2 plus the sentinel byte. */
  if (c->buffer_size > SIZE_MAX - 1 || c->max_record_bytes > SIZE_MAX - 3)
    return LP_EINVAL;
  return LP_OK;
}

int pctl_csv_open(const pctl_csv_config *cfg, lp_reader read, void *ud, pctl_csv **out) {
  if (out == NULL) return LP_EINVAL;
  *out = NULL;
  pctl_csv_config c;
  if (cfg != NULL) {
    c = *cfg;
  } else {
    pctl_csv_config_init(&c);
  }
  if (read == NULL) return LP_EINVAL;
  int rc = validate_config(&c);
  if (rc != LP_OK) return rc;

  pctl_csv *r;
  rc = lp_mem_new_handle(c.alloc, sizeof *r, (void **)&r);
  if (rc != LP_OK) return rc;
  r->read = read;
  r->ud = ud;
  r->file = NULL;
  r->file_errno = 0;
  r->cfg = c;
  r->cfg.alloc = NULL; /* copied into r->mem; the caller's struct may go away */
  r->delim = (unsigned char)c.delimiter;
  r->scan = c.scan;
  if (r->scan == PCTL_CSV_SCAN_AUTO) r->scan = PCTL_CSV_SCAN_SSE2;
  if (r->scan == PCTL_CSV_SCAN_SSE2 && !PCTL_CSV_HAVE_SSE2) r->scan = PCTL_CSV_SCAN_WORD;
  r->cls[r->delim] = 1;
  r->cls['"'] = 1;
  r->cls['\r'] = 1;
  r->cls['\n'] = 1;
  r->cap = c.buffer_size;
  r->buf = lp_mem_alloc(&r->mem, r->cap + 1);
  r->fcap = INITIAL_FIELDS < c.max_fields ? INITIAL_FIELDS : c.max_fields;
  r->spans = lp_mem_alloc(&r->mem, r->fcap * sizeof *r->spans);
  r->view = lp_mem_alloc(&r->mem, r->fcap * sizeof *r->view);
  if (r->buf == NULL || r->spans == NULL || r->view == NULL) {
    pctl_csv_close(r);
    return LP_ENOMEM;
  }
  r->line = 1;
  *out = r;
  return LP_OK;
}

static int file_read(void *ud, void *buf, size_t cap, size_t *got) {
  pctl_csv *r = ud;
  errno = 0;
  size_t n = fread(buf, 1, cap, r->file);
  *got = n;
  if (n == 0 && ferror(r->file)) {
    r->file_errno = errno != 0 ? errno : EIO;
    return LP_EIO;
  }
  return LP_OK;
}

int pctl_csv_open_file(const pctl_csv_config *cfg, FILE *f, pctl_csv **out) {
  if (f == NULL) {
    if (out != NULL) *out = NULL;
    return LP_EINVAL;
  }
  int rc = pctl_csv_open(cfg, file_read, f, out);
  if (rc == LP_OK) {
    (*out)->file = f;
    (*out)->ud = *out;
  }
  return rc;
}

void pctl_csv_close(pctl_csv *r) {
  if (r == NULL) return;
  lp_mem_free(&r->mem, r->buf, r->buf == NULL ? 0 : r->cap + 1);
  lp_mem_free(&r->mem, r->spans, r->fcap * sizeof *r->spans);
  lp_mem_free(&r->mem, r->view, r->fcap * sizeof *r->view);
  lp_mem_free(&r->mem, r->hdr_bytes, r->hdr_bytes_len);
  lp_mem_free(&r->mem, r->hdr, r->nhdr * sizeof *r->hdr);
  lp_mem_free_handle(r, sizeof *r);
}

const char *pctl_csv_errmsg(const pctl_csv *r) {
  return r == NULL ? LP_ERRMSG_NULL_HANDLE : lp_error_msg(&r->err);
}

const char *pctl_csv_problem_text(pctl_csv_problem kind) {
  switch (kind) {
  case PCTL_CSV_NO_PROBLEM: return "no problem";
  case PCTL_CSV_FIELD_COUNT: return "wrong number of fields";
  case PCTL_CSV_QUOTE_IN_FIELD: return "quote inside unquoted field";
  case PCTL_CSV_UNTERMINATED_QUOTE: return "unterminated quoted field";
  case PCTL_CSV_AFTER_QUOTE: return "unexpected character after closing quote";
  case PCTL_CSV_BARE_CR: return "carriage return without line feed";
  }
  return "unknown problem";
}

/* ------------------------------------------------------------------ */
/* Buffer management */

/* Grow the field tables (both, so they always have fcap entries). */
static int grow_fields(pctl_csv *r) {
  if (r->fcap >= r->cfg.max_fields) {
    return lp_error_set(&r->err, LP_ELIMIT,
                        "line %llu: record has more than %zu fields (max_fields)",
                        ull(r->rec_line), r->cfg.max_fields);
  }
  size_t n = r->fcap > r->cfg.max_fields / 2 ? r->cfg.max_fields : r->fcap * 2;
  void *spans = NULL, *view = NULL;
  int rc = lp_mem_alloc_array(&r->mem, n, sizeof *r->spans, &spans);
  if (rc == LP_OK) rc = lp_mem_alloc_array(&r->mem, n, sizeof *r->view, &view);
  if (rc != LP_OK) {
    lp_mem_free_array(&r->mem, spans, n, sizeof *r->spans);
    return lp_error_set(&r->err, rc, "line %llu: cannot grow the field table to %zu fields",
                        ull(r->rec_line), n);
  }
  memcpy(spans, r->spans, r->nfields * sizeof *r->spans);
  lp_mem_free(&r->mem, r->spans, r->fcap * sizeof *r->spans);
  lp_mem_free(&r->mem, r->view, r->fcap * sizeof *r->view);
  r->spans = spans;
  r->view = view;
  r->fcap = n;
  return LP_OK;
}

/* in_quote: the record was cut off inside a quoted field, the usual cause. */
static int record_too_long(pctl_csv *r, bool in_quote) {
  return lp_error_set(&r->err, LP_ELIMIT,
                      "line %llu: record longer than %zu bytes (max_record_bytes)%s",
                      ull(r->rec_line), r->cfg.max_record_bytes,
                      in_quote ? "; it is inside a quoted field: unterminated quote?" : "");
}

/* Make room after the partial record and read once more. */
static int fill(pctl_csv *r) {
  r->mblk = NULL; /* the buffer may move */
  if (r->rec > 0) {
    size_t keep = r->len - r->rec;
    memmove(r->buf, r->buf + r->rec, keep);
    r->buf_offset += r->rec;
    r->len = keep;
    r->rec = 0;
  }
  /* A partial record this long cannot end within the limit, even if the
   * next byte is the LF of a CRLF. */
  if (r->len > r->cfg.max_record_bytes + 1) {
    return record_too_long(r, r->state == ST_QUOTED || r->state == ST_QUOTE);
  }
  if (r->len == r->cap) {
    size_t limit = r->cfg.max_record_bytes + 2;
    size_t n = r->cap > limit / 2 ? limit : r->cap * 2;
    unsigned char *nb = lp_mem_realloc(&r->mem, r->buf, r->cap + 1, n + 1);
    if (nb == NULL) {
      return lp_error_set(&r->err, LP_ENOMEM, "line %llu: cannot grow the buffer to %zu bytes",
                          ull(r->rec_line), n);
    }
    r->buf = nb;
    r->cap = n;
  }
  size_t room = r->cap - r->len;
  size_t got = 0;
  int rc = r->read(r->ud, r->buf + r->len, room, &got);
  if (rc != 0) {
    int code = rc < 0 ? rc : LP_EIO;
    return lp_error_set(&r->err, code, "read failed at byte %llu: %s",
                        ull(r->buf_offset + r->len),
                        r->file_errno != 0 ? strerror(r->file_errno) : lp_strerror(code));
  }
  if (got > room) {
    return lp_error_set(&r->err, LP_EIO, "read callback returned %zu bytes for a %zu-byte buffer",
                        got, room);
  }
  if (got == 0) r->eof = true;
  r->len += got;
  return LP_OK;
}

/* ------------------------------------------------------------------ */
/* Scanning kernels: skip bytes whose class is 0 and return the first one
 * that is not (a delimiter, quote, CR or LF in unquoted text; a quote or LF
 * in quoted text). `end` holds an LF sentinel, so the byte loop that
 * finishes every kernel needs no bounds check; the wide loops read only
 * whole blocks that end at or before `end`. */

#define ONES UINT64_C(0x0101010101010101)
#define LOW7 UINT64_C(0x7f7f7f7f7f7f7f7f)

/* 0x80 in exactly the bytes of x that are zero (no carries between bytes). */
static inline uint64_t zero_bytes(uint64_t x) {
  uint64_t y = (x & LOW7) + LOW7;
  return ~(y | x | LOW7);
}

/* Little-endian load whatever the host's byte order: byte i of the block
 * is bits 8i..8i+7, so bit 8i+7 of a zero_bytes() result is byte i. */
static inline uint64_t load_le64(const unsigned char *p) {
  return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
         (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
         (uint64_t)p[7] << 56;
}

/* One bit per byte of the 64 at p: set where the byte is a delimiter,
 * quote, CR or LF. Word at a time (SWAR). */
static uint64_t block_mask_word(const unsigned char *p, unsigned char delim) {
  const uint64_t lf = ONES * '\n', q = ONES * '"', cr = ONES * '\r', d = ONES * delim;
  uint64_t mask = 0;
  for (unsigned i = 0; i < 8; i++) {
    uint64_t w = load_le64(p + 8 * i);
    uint64_t z = zero_bytes(w ^ lf) | zero_bytes(w ^ q) | zero_bytes(w ^ cr) | zero_bytes(w ^ d);
    /* Gather bit 8j+7 of z into bit j (the products do not overlap). */
    uint64_t bits = ((z >> 7) * UINT64_C(0x0102040810204080)) >> 56;
    mask |= bits << (8 * i);
  }
  return mask;
}

#if PCTL_CSV_HAVE_SSE2
/* The same with SSE2, sixteen bytes at a time. */
static uint64_t block_mask_sse2(const unsigned char *p, unsigned char delim) {
  const __m128i lf = _mm_set1_epi8('\n'), q = _mm_set1_epi8('"'), cr = _mm_set1_epi8('\r'),
                d = _mm_set1_epi8((char)delim);
  uint64_t mask = 0;
  for (unsigned i = 0; i < 4; i++) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
    __m128i a = _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, q));
    __m128i b = _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, d));
    mask |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(a, b)) << (16 * i);
  }
  return mask;
}
#endif

static inline unsigned lowest_bit(uint64_t m) {
#if defined(__GNUC__) || defined(__clang__)
  return (unsigned)__builtin_ctzll(m);
#else
  unsigned i = 0;
  while (!(m & 1u)) m >>= 1, i++;
  return i;
#endif
}

/*
 * The wide kernels classify 64 bytes at once into r->mbits (the stop bytes
 * of the block at r->mblk) and answer later calls inside that block from
 * the mask, so a record of short fields costs a few bit operations per
 * field. The mask covers only bytes before `end` and is dropped whenever
 * the buffer moves (fill()); bytes already behind the scan position may be
 * rewritten by unquoting, but no answer ever looks behind it. In quoted
 * text a delimiter or CR bit is passed over (cls is 0 for them there).
 */
#if defined(__GNUC__) || defined(__clang__)
#define PCTL_CSV_INLINE inline __attribute__((always_inline))
#else
#define PCTL_CSV_INLINE inline
#endif

static PCTL_CSV_INLINE unsigned char *skip_text(pctl_csv *r, unsigned char *p,
                                                const unsigned char *end,
                                                const unsigned char *cls) {
  if (r->scan == PCTL_CSV_SCAN_BYTE) {
    while (!cls[*p]) p++;
    return p;
  }
  for (;;) {
    if (r->mblk != NULL && p >= r->mblk && p < r->mblk + 64) {
      unsigned off = (unsigned)(p - r->mblk);
      uint64_t m = r->mbits & (~UINT64_C(0) << off);
      while (m != 0) {
        unsigned char *s = r->mblk + lowest_bit(m);
        if (cls[*s]) return s;
        m &= m - 1;
      }
      p = r->mblk + 64;
    }
    if (end - p < 64) {
      while (!cls[*p]) p++;
      return p;
    }
    r->mblk = p;
#if PCTL_CSV_HAVE_SSE2
    r->mbits = r->scan == PCTL_CSV_SCAN_SSE2 ? block_mask_sse2(p, r->delim)
                                             : block_mask_word(p, r->delim);
#else
    r->mbits = block_mask_word(p, r->delim);
#endif
  }
}

/* ------------------------------------------------------------------ */
/* The parser */

#define FLAG(kind)                                   \
  do {                                               \
    if (r->problem == PCTL_CSV_NO_PROBLEM) {         \
      r->problem = (kind);                           \
      r->problem_field = r->nfields + 1;             \
    }                                                \
  } while (0)

#define PUSH(o_, n_)                                 \
  do {                                               \
    if (LP_UNLIKELY(r->nfields == r->fcap)) {        \
      int rc_ = grow_fields(r);                      \
      if (rc_ != LP_OK) return rc_;                  \
    }                                                \
    r->spans[r->nfields].off = (o_);                 \
    r->spans[r->nfields].len = (n_);                 \
    r->nfields++;                                    \
  } while (0)

#define SUSPEND(st)                                  \
  do {                                               \
    r->state = (st);                                 \
    r->pos = (size_t)(p - base);                     \
    r->fstart = fstart;                              \
    return P_MORE;                                   \
  } while (0)

/* Quoted states also keep the unquoting cursors. */
#define SUSPEND_QUOTED(st)                           \
  do {                                               \
    r->seg = (size_t)(seg - base);                   \
    r->wr = (size_t)(wr - base);                     \
    SUSPEND(st);                                     \
  } while (0)

#define FINISH(terminator_len)                       \
  do {                                               \
    r->pos = (size_t)(p - base);                     \
    r->term = (terminator_len);                      \
    return P_DONE;                                   \
  } while (0)

/*
 * Parse from the saved state until the record ends (P_DONE: r->pos is just
 * past its line ending, r->term the ending's length) or the buffered bytes
 * run out (P_MORE: state saved). Negative: hard error, message set.
 * Problems only set r->problem: parsing continues leniently so the record's
 * end is found where a correct record would have ended.
 */
static int parse(pctl_csv *r) {
  unsigned char *base = r->buf + r->rec;
  unsigned char *const end = r->buf + r->len;
  unsigned char *p = base + r->pos;
  unsigned char *seg = p; /* meaningful only in the quoted states */
  unsigned char *wr = p;
  size_t fstart = r->fstart;
  const unsigned char *const cls = r->cls;
  const unsigned char delim = r->delim;

  /* Both scanning loops stop at LF, so they need no bounds check. */
  *end = '\n';

  switch (r->state) {
  case ST_RECORD: break;
  case ST_FIELD: goto field;
  case ST_UNQUOTED: goto unquoted;
  case ST_QUOTED:
    seg = base + r->seg;
    wr = base + r->wr;
    goto quoted;
  case ST_QUOTE:
    seg = base + r->seg;
    wr = base + r->wr;
    goto quote;
  case ST_AFTER_QUOTE: goto after_quote;
  }

  /* ST_RECORD: skip empty lines; they are not records. */
  for (;;) {
    size_t skip;
    if (p == end) SUSPEND(ST_RECORD);
    if (*p == '\n') {
      skip = 1;
    } else if (*p == '\r') {
      if (p + 1 == end) SUSPEND(ST_RECORD);
      if (p[1] != '\n') break;
      skip = 2;
    } else {
      break;
    }
    r->rec += skip;
    base += skip;
    p = base;
    r->line++;
    r->stats.empty_lines++;
  }
  r->rec_line = r->line;
  r->nfields = 0;
  r->problem = PCTL_CSV_NO_PROBLEM;

  /* Records of unquoted fields (wide kernels): while every stop bit of the
   * masks is a delimiter or the line ending, the fields are cut straight
   * from the bits. At a quote, a CR that is not part of a CRLF, or a block
   * that reaches into the last 64 buffered bytes, the general path below
   * carries on from there with the fields cut so far, as it would have
   * found them. */
  if (r->scan != PCTL_CSV_SCAN_BYTE) {
    unsigned char *q = p;
    size_t fs = (size_t)(p - base);
    /* The field table through locals: the compiler cannot keep r's fields
     * in registers across the stores into the table. */
    span *sp = r->spans;
    size_t nf = 0, fcap = r->fcap;
#define CUT(end_)                                    \
  do {                                               \
    if (LP_UNLIKELY(nf == fcap)) {                   \
      r->nfields = nf;                               \
      int rc_ = grow_fields(r);                      \
      if (rc_ != LP_OK) return rc_;                  \
      sp = r->spans;                                 \
      fcap = r->fcap;                                \
    }                                                \
    sp[nf].off = fs;                                 \
    sp[nf].len = (end_) - fs;                        \
    nf++;                                            \
  } while (0)
    for (;;) {
      if (r->mblk == NULL || q < r->mblk || q >= r->mblk + 64) {
        if (end - q < 64) break;
        r->mblk = q;
#if PCTL_CSV_HAVE_SSE2
        r->mbits = r->scan == PCTL_CSV_SCAN_SSE2 ? block_mask_sse2(q, delim)
                                                 : block_mask_word(q, delim);
#else
        r->mbits = block_mask_word(q, delim);
#endif
      }
      uint64_t m = r->mbits & (~UINT64_C(0) << (unsigned)(q - r->mblk));
      for (; m != 0; m &= m - 1) {
        unsigned char *s = r->mblk + lowest_bit(m);
        size_t at = (size_t)(s - base);
        if (*s == delim) {
          CUT(at);
          fs = at + 1;
          continue;
        }
        if (*s == '\n') {
          CUT(at);
          r->nfields = nf;
          p = s + 1;
          r->line++;
          FINISH(1);
        }
        if (*s == '\r' && s + 1 < end && s[1] == '\n') {
          CUT(at);
          r->nfields = nf;
          p = s + 2;
          r->line++;
          FINISH(2);
        }
        q = s; /* a quote, or a CR the general path decides */
        goto resume;
      }
      q = r->mblk + 64; /* no stop before it */
    }
  resume:
#undef CUT
    r->nfields = nf;
    /* Bytes from the current field's start to q hold no stop byte. */
    p = q;
    if (p != base + fs) {
      fstart = fs;
      goto unquoted;
    }
  }

field:
  if (p == end) SUSPEND(ST_FIELD);
  if (*p == '"') {
    p++;
    fstart = (size_t)(p - base);
    seg = wr = p;
    goto quoted;
  }
  fstart = (size_t)(p - base);

unquoted:
  for (;;) {
    p = skip_text(r, p, end, cls);
    if (p == end) SUSPEND(ST_UNQUOTED);
    unsigned char c = *p;
    if (c == delim) {
      PUSH(fstart, (size_t)(p - base) - fstart);
      p++;
      goto field;
    }
    if (c == '\n') {
      PUSH(fstart, (size_t)(p - base) - fstart);
      p++;
      r->line++;
      FINISH(1);
    }
    if (c == '\r') {
      if (p + 1 == end) SUSPEND(ST_UNQUOTED); /* decided once the next byte is known */
      if (p[1] == '\n') {
        PUSH(fstart, (size_t)(p - base) - fstart);
        p += 2;
        r->line++;
        FINISH(2);
      }
      FLAG(PCTL_CSV_BARE_CR);
      p++;
      continue;
    }
    FLAG(PCTL_CSV_QUOTE_IN_FIELD); /* c == '"' */
    p++;
  }

quoted:
  for (;;) {
    p = skip_text(r, p, end, quoted_cls);
    if (p == end) SUSPEND_QUOTED(ST_QUOTED);
    if (*p == '\n') {
      r->line++;
      p++;
      continue;
    }
    /* A quote: move the text since the last doubled quote into place. */
    if (wr != seg) memmove(wr, seg, (size_t)(p - seg));
    wr += p - seg;
    seg = p;
  quote:
    if (p + 1 == end) SUSPEND_QUOTED(ST_QUOTE);
    if (p[1] == '"') {
      *wr++ = '"';
      p += 2;
      seg = p;
      continue;
    }
    PUSH(fstart, (size_t)(wr - base) - fstart);
    p++;
    break;
  }

after_quote:
  if (p == end) SUSPEND(ST_AFTER_QUOTE);
  if (*p == delim) {
    p++;
    goto field;
  }
  if (*p == '\n') {
    p++;
    r->line++;
    FINISH(1);
  }
  if (*p == '\r') {
    if (p + 1 == end) SUSPEND(ST_AFTER_QUOTE);
    if (p[1] == '\n') {
      p += 2;
      r->line++;
      FINISH(2);
    }
  }
  /* Scan the rest as unquoted text, only to find where the record ends;
   * the field is replaced (its content is never exposed). */
  r->nfields--;
  FLAG(PCTL_CSV_AFTER_QUOTE);
  goto unquoted;
}

/* The input ended while parse() was suspended: complete or drop what is
 * pending. P_END when no record remains. */
static int finish_at_eof(pctl_csv *r) {
  unsigned char *base = r->buf + r->rec;
  unsigned char *end = r->buf + r->len;
  unsigned char *p = base + r->pos;
  /* A CR as the very last byte is accepted as a line ending. */
  size_t cr = (p < end && *p == '\r') ? 1 : 0;
  switch (r->state) {
  case ST_RECORD:
    if (cr) {
      r->line++;
      r->stats.empty_lines++;
      r->rec += 1;
    }
    return P_END;
  case ST_FIELD:
    PUSH(r->pos, 0);
    break;
  case ST_UNQUOTED:
    PUSH(r->fstart, r->pos - r->fstart);
    break;
  case ST_QUOTED:
    if (r->problem == PCTL_CSV_NO_PROBLEM) {
      r->problem = PCTL_CSV_UNTERMINATED_QUOTE;
      r->problem_field = r->nfields + 1;
    }
    break;
  case ST_QUOTE: /* the last byte is the closing quote */
    PUSH(r->fstart, r->wr - r->fstart);
    break;
  case ST_AFTER_QUOTE:
    break;
  }
  r->pos = r->len - r->rec;
  r->term = cr;
  return P_DONE;
}

/* ------------------------------------------------------------------ */
/* Records */

static int report_problem(pctl_csv *r, bool header) {
  unsigned long long line = ull(r->rec_line);
  size_t f = r->problem_field;
  const char *what = header ? "header: " : "";
  switch (r->problem) {
  case PCTL_CSV_FIELD_COUNT:
    return lp_error_set(&r->err, LP_ECORRUPT, "line %llu: %sexpected %zu fields, found %zu", line,
                        what, r->expected, r->nfields);
  case PCTL_CSV_QUOTE_IN_FIELD:
    return lp_error_set(&r->err, LP_ECORRUPT, "line %llu: %squote inside unquoted field %zu",
                        line, what, f);
  case PCTL_CSV_UNTERMINATED_QUOTE:
    return lp_error_set(&r->err, LP_ECORRUPT,
                        "line %llu: %squoted field %zu is not closed before the end of input",
                        line, what, f);
  case PCTL_CSV_AFTER_QUOTE:
    return lp_error_set(&r->err, LP_ECORRUPT,
                        "line %llu: %sunexpected character after the closing quote of field %zu",
                        line, what, f);
  case PCTL_CSV_BARE_CR:
    return lp_error_set(&r->err, LP_ECORRUPT,
                        "line %llu: %scarriage return without line feed in field %zu", line, what,
                        f);
  case PCTL_CSV_NO_PROBLEM:
    break;
  }
  return lp_error_set(&r->err, LP_ECORRUPT, "line %llu: malformed record", line);
}

/* Point the view at the record's fields and NUL-terminate them. The byte
 * after each field was a delimiter, quote or line ending (or the spare
 * byte after the buffer), all consumed, so writing there is safe. */
static void expose(pctl_csv *r, unsigned char *base) {
  /* Locals: the byte stores could alias r's fields, which would then be
   * read again on every turn. */
  const span *sp = r->spans;
  pctl_csv_field *view = r->view;
  size_t n = r->nfields;
  for (size_t i = 0; i < n; i++) {
    unsigned char *f = base + sp[i].off;
    size_t len = sp[i].len;
    f[len] = '\0';
    view[i].ptr = (const char *)f;
    view[i].len = len;
  }
  r->nview = n;
}

static int check_bom(pctl_csv *r) {
  while (r->len < sizeof utf8_bom && !r->eof) {
    int rc = fill(r);
    if (rc != LP_OK) return rc;
  }
  if (r->len >= sizeof utf8_bom && memcmp(r->buf, utf8_bom, sizeof utf8_bom) == 0) {
    r->rec = sizeof utf8_bom;
  }
  r->bom_checked = true;
  return LP_OK;
}

/* Read one record. LP_OK with the fields exposed, PCTL_CSV_END,
 * PCTL_CSV_MALFORMED, or a negative (sticky) error. */
static int next_record(pctl_csv *r, bool header) {
  r->nview = 0;
  if (r->sticky != LP_OK) return r->sticky;
  if (r->at_end) return PCTL_CSV_END;
  if (!r->bom_checked) {
    int rc = check_bom(r);
    if (rc != LP_OK) return stick(r, rc);
  }
  for (;;) {
    int rc = parse(r);
    if (rc == P_MORE && r->eof) rc = finish_at_eof(r);
    if (rc == P_DONE) break;
    if (rc == P_END) {
      r->at_end = true;
      r->stats.bytes = r->buf_offset + r->rec;
      return PCTL_CSV_END;
    }
    if (rc < 0) return stick(r, rc);
    rc = fill(r); /* P_MORE */
    if (rc != LP_OK) return stick(r, rc);
  }

  unsigned char *base = r->buf + r->rec;
  size_t raw = r->pos - r->term;
  r->rec += r->pos;
  r->pos = 0;
  r->state = ST_RECORD;
  r->stats.bytes = r->buf_offset + r->rec;
  r->last_line = r->rec_line;
  if (raw > r->cfg.max_record_bytes) {
    return stick(r, record_too_long(r, r->problem == PCTL_CSV_UNTERMINATED_QUOTE));
  }

  if (r->problem == PCTL_CSV_NO_PROBLEM && !header && r->expected != 0 &&
      r->nfields != r->expected) {
    r->problem = PCTL_CSV_FIELD_COUNT;
  }
  r->last_problem = r->problem;
  if (r->problem != PCTL_CSV_NO_PROBLEM) {
    int rc = report_problem(r, header);
    if (header || r->cfg.on_malformed == PCTL_CSV_STOP) return stick(r, rc);
    r->stats.malformed++;
    return PCTL_CSV_MALFORMED;
  }
  expose(r, base);
  if (!header) r->stats.rows++;
  return PCTL_CSV_ROW;
}

int pctl_csv_next(pctl_csv *r) {
  if (r == NULL) return LP_EINVAL;
  r->started = true;
  return next_record(r, false);
}

/* ------------------------------------------------------------------ */
/* Header */

int pctl_csv_read_header(pctl_csv *r) {
  if (r == NULL) return LP_EINVAL;
  if (r->header_read || r->started) {
    return lp_error_set(&r->err, LP_EMISUSE, "the header must be read once, before any record");
  }
  r->started = true;
  int rc = next_record(r, true);
  if (rc == PCTL_CSV_END) {
    return stick(r, lp_error_set(&r->err, LP_ECORRUPT, "no header row: the input is empty"));
  }
  if (rc != PCTL_CSV_ROW) return rc;

  size_t n = r->nview, bytes = 0;
  for (size_t i = 0; i < n; i++) bytes += r->view[i].len + 1; /* bounded by the record size */
  void *names = NULL;
  rc = lp_mem_alloc_array(&r->mem, n, sizeof *r->hdr, &names);
  char *block = rc == LP_OK ? lp_mem_alloc(&r->mem, bytes) : NULL;
  if (block == NULL) {
    lp_mem_free_array(&r->mem, names, n, sizeof *r->hdr);
    return stick(r, lp_error_set(&r->err, LP_ENOMEM, "cannot store the header (%zu bytes)", bytes));
  }
  r->hdr = names;
  r->hdr_bytes = block;
  r->hdr_bytes_len = bytes;
  r->nhdr = n;
  for (size_t i = 0; i < n; i++) {
    memcpy(block, r->view[i].ptr, r->view[i].len + 1);
    r->hdr[i].ptr = block;
    r->hdr[i].len = r->view[i].len;
    block += r->view[i].len + 1;
  }
  r->header_read = true;
  r->expected = n;
  r->nview = 0; /* the header is not a row */
  return LP_OK;
}

size_t pctl_csv_header_count(const pctl_csv *r) { return r == NULL ? 0 : r->nhdr; }

pctl_csv_field pctl_csv_header_name(const pctl_csv *r, size_t i) {
  pctl_csv_field none = {NULL, 0};
  if (r == NULL || i >= r->nhdr) return none;
  return r->hdr[i];
}

/* Names in messages are cut so a binary header cannot flood them. */
#define NAME_SHOWN 64

int pctl_csv_column(pctl_csv *r, const char *name, size_t *index) {
  if (r == NULL) return LP_EINVAL;
  if (name == NULL || index == NULL) {
    return lp_error_set(&r->err, LP_EINVAL, "column lookup: NULL name or index");
  }
  if (!r->header_read) {
    return lp_error_set(&r->err, LP_EMISUSE, "column '%.*s': no header has been read",
                        NAME_SHOWN, name);
  }
  size_t len = strlen(name), found = 0, first = 0, second = 0;
  for (size_t i = 0; i < r->nhdr; i++) {
    if (r->hdr[i].len == len && memcmp(r->hdr[i].ptr, name, len) == 0) {
      if (found == 0) first = i;
      if (found == 1) second = i;
      found++;
    }
  }
  if (found == 0) {
    return lp_error_set(&r->err, LP_ENOTFOUND, "column '%.*s' not found in the header",
                        NAME_SHOWN, name);
  }
  if (found > 1) {
    return lp_error_set(&r->err, LP_ECONFLICT,
                        "column '%.*s' appears %zu times in the header (columns %zu and %zu)",
                        NAME_SHOWN, name, found, first + 1, second + 1);
  }
  *index = first;
  return LP_OK;
}

int pctl_csv_expect_fields(pctl_csv *r, size_t n) {
  if (r == NULL) return LP_EINVAL;
  r->expected = n;
  return LP_OK;
}

/* ------------------------------------------------------------------ */
/* Accessors */

const pctl_csv_field *pctl_csv_fields(const pctl_csv *r, size_t *count) {
  size_t n = r == NULL ? 0 : r->nview;
  if (count != NULL) *count = n;
  return n == 0 ? NULL : r->view;
}

uint64_t pctl_csv_record_line(const pctl_csv *r) { return r == NULL ? 0 : r->last_line; }

uint64_t pctl_csv_current_line(const pctl_csv *r) { return r == NULL ? 0 : r->line; }

pctl_csv_problem pctl_csv_problem_kind(const pctl_csv *r) {
  return r == NULL ? PCTL_CSV_NO_PROBLEM : r->last_problem;
}

void pctl_csv_get_stats(const pctl_csv *r, pctl_csv_stats *out) {
  if (out == NULL) return;
  if (r == NULL) {
    memset(out, 0, sizeof *out);
    return;
  }
  *out = r->stats;
}

const char *pctl_csv_split_line(const char *msg, uint64_t *line) {
  *line = 0;
  if (strncmp(msg, "line ", 5) != 0 || msg[5] < '0' || msg[5] > '9') return msg;
  uint64_t n = 0;
  const char *p = msg + 5;
  while (*p >= '0' && *p <= '9' && n < UINT64_MAX / 10) n = n * 10 + (uint64_t)(*p++ - '0');
  if (p[0] != ':' || p[1] != ' ') return msg;
  *line = n;
  return p + 2;
}

int pctl_csv_report(const pctl_csv *r, const char *path) {
  if (r == NULL) return pctl_data_error(path, 0, "cannot start reading: %s", lp_strerror(LP_ENOMEM));
  uint64_t line;
  const char *rest = pctl_csv_split_line(pctl_csv_errmsg(r), &line);
  return pctl_data_error(path, line, "%s", rest);
}
