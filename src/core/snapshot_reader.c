/*
 * Streaming snapshot reader: every length, checksum, padding byte and the
 * end record are validated before a section is handed out.
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdio.h>

#include "core/error.h"
#include "core/snapshot_format.h"
#include "core/vec.h"
#include "libprofile/io.h"

/* Under a fuzzing build checksums are computed but not enforced, so the
 * fuzzer reaches the checks behind them. Never set in a normal build. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#  define LP_FUZZING 1
#else
#  define LP_FUZZING 0
#endif

/* Payload buffers grow in steps of at least this much, so a hostile length
 * costs memory only for bytes that really arrive. */
#define READ_STEP ((size_t)64 * 1024)

struct lp_snapshot_reader {
  lp_mem mem; /* first: see lp_mem_new_handle */
  lp_error err;
  lp_reader read;
  void *ud;
  uint64_t limit;
  bool header_done;
  bool ended;
  int sticky;
  uint32_t kind;
  uint32_t minor;
  lp_vec payload;
  uint64_t count;
  uint64_t chain;
  uint64_t offset;
};

int lp_snapshot_reader_create(const lp_allocator *alloc, lp_reader read, void *ud,
                              lp_snapshot_reader **out) {
  if (out == NULL) return LP_EINVAL;
  *out = NULL;
  if (read == NULL) return LP_EINVAL;
  lp_snapshot_reader *r;
  int rc = lp_mem_new_handle(alloc, sizeof *r, (void **)&r);
  if (rc != LP_OK) return rc;
  r->read = read;
  r->ud = ud;
  r->limit = LP_SNAPSHOT_DEFAULT_SECTION_LIMIT;
  lp_vec_init(&r->payload, 1);
  *out = r;
  return LP_OK;
}

void lp_snapshot_reader_free(lp_snapshot_reader *r) {
  if (r == NULL) return;
  lp_vec_free(&r->payload, &r->mem);
  lp_mem_free_handle(r, sizeof *r);
}

const char *lp_snapshot_reader_errmsg(const lp_snapshot_reader *r) {
  return r == NULL ? LP_ERRMSG_NULL_HANDLE : lp_error_msg(&r->err);
}

int lp_snapshot_reader_set_section_limit(lp_snapshot_reader *r, uint64_t max_bytes) {
  if (r == NULL) return LP_EINVAL;
  if (max_bytes == 0)
    return lp_error_set(&r->err, LP_EINVAL, "snapshot reader: section limit must be > 0");
  r->limit = max_bytes;
  return LP_OK;
}

static int fail(lp_snapshot_reader *r, int code, const char *fmt, ...) LP_PRINTF(3, 4);

static int fail(lp_snapshot_reader *r, int code, const char *fmt, ...) {
  char what[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  r->sticky = code;
  return lp_error_set(&r->err, code, "snapshot reader: %s (at byte %llu)", what,
                      (unsigned long long)r->offset);
}

/* Exactly n bytes or an error; a premature end of data is corruption
 * (truncation), a callback failure is I/O. */
static int read_exact(lp_snapshot_reader *r, void *dst, size_t n) {
  uint8_t *p = dst;
  size_t done = 0;
  while (done < n) {
    size_t got = 0;
    int rc = r->read(r->ud, p + done, n - done, &got);
    if (rc != 0) {
      int code = (rc < 0 && rc >= LP_EMISUSE) ? rc : LP_EIO;
      return fail(r, code, "read callback failed (returned %d)", rc);
    }
    if (got > n - done)
      return fail(r, LP_EIO, "read callback returned %llu bytes for a request of %llu",
                  (unsigned long long)got, (unsigned long long)(n - done));
    if (got == 0)
      return fail(r, LP_ECORRUPT, "truncated: %llu more bytes expected",
                  (unsigned long long)(n - done));
    done += got;
    r->offset += got;
  }
  return LP_OK;
}

int lp_snapshot_reader_header(lp_snapshot_reader *r, uint32_t *kind, uint32_t *minor) {
  if (r == NULL) return LP_EINVAL;
  if (!r->header_done) {
    if (r->sticky != 0) return r->sticky;
    uint8_t h[LP_SNAP_HEADER_SIZE];
    int rc = read_exact(r, h, sizeof h);
    if (rc != LP_OK) return rc;
    if (memcmp(h, LP_SNAP_MAGIC, 8) != 0)
      return fail(r, LP_ECORRUPT, "not a libprofile snapshot (bad magic)");
    uint64_t sum = lp_hash64(h, 24, 0);
    if (sum != lp_get_u64le(h + 24) && !LP_FUZZING)
      return fail(r, LP_ECORRUPT, "header checksum mismatch");
    uint16_t major = lp_get_u16le(h + 8);
    if (major != LP_SNAPSHOT_FORMAT_MAJOR)
      return fail(r, LP_EVERSION, "format major version %u, this library reads %d",
                  (unsigned)major, LP_SNAPSHOT_FORMAT_MAJOR);
    if (lp_get_u32le(h + 16) != 0)
      return fail(r, LP_EVERSION, "unknown header flags 0x%x", (unsigned)lp_get_u32le(h + 16));
    r->minor = lp_get_u16le(h + 10);
    r->kind = lp_get_u32le(h + 12);
    r->chain = sum;
    r->header_done = true;
  }
  if (kind != NULL) *kind = r->kind;
  if (minor != NULL) *minor = r->minor;
  return LP_OK;
}

/* Read `len` payload bytes plus padding into r->payload, growing with the
 * bytes received. */
static int read_payload(lp_snapshot_reader *r, uint64_t len64) {
  size_t len = (size_t)len64, pad = lp_snap_padding(len64), total = len + pad;
  r->payload.len = 0;
  while (r->payload.len < total) {
    size_t want = total - r->payload.len;
    size_t step = r->payload.cap > READ_STEP ? r->payload.cap : READ_STEP;
    if (want > step) want = step;
    if (r->payload.len + want > r->payload.cap) {
      int rc = lp_vec_reserve(&r->payload, &r->mem, r->payload.len + want);
      if (rc != LP_OK) return fail(r, rc, "no memory for a %llu-byte section",
                         (unsigned long long)len64);
    }
    int rc = read_exact(r, r->payload.data + r->payload.len, want);
    if (rc != LP_OK) return rc;
    r->payload.len += want;
  }
  for (size_t i = len; i < total; i++)
    if (r->payload.data[i] != 0)
      return fail(r, LP_ECORRUPT, "non-zero padding after section");
  r->payload.len = len;
  return LP_OK;
}

static int check_end(lp_snapshot_reader *r, const uint8_t *end, uint64_t end_offset) {
  if (lp_get_u64le(end) != r->count)
    return fail(r, LP_ECORRUPT, "end record counts %llu sections, %llu were read",
                (unsigned long long)lp_get_u64le(end), (unsigned long long)r->count);
  if (lp_get_u64le(end + 8) != r->chain)
    return fail(r, LP_ECORRUPT, "end record chain hash mismatch (sections dropped or reordered)");
  if (lp_get_u64le(end + 16) != end_offset)
    return fail(r, LP_ECORRUPT, "end record offset %llu, expected %llu",
                (unsigned long long)lp_get_u64le(end + 16), (unsigned long long)end_offset);
  return LP_OK;
}

int lp_snapshot_reader_next(lp_snapshot_reader *r, uint32_t *type, uint32_t *flags,
                            const uint8_t **data, size_t *len) {
  if (r == NULL || type == NULL || data == NULL || len == NULL) return LP_EINVAL;
  int rc = lp_snapshot_reader_header(r, NULL, NULL);
  if (rc != LP_OK) return rc;
  if (r->sticky != 0) return r->sticky;
  if (r->ended) {
    *type = LP_SECTION_END;
    if (flags != NULL) *flags = 0;
    *data = NULL;
    *len = 0;
    return LP_OK;
  }
  uint64_t record_offset = r->offset;
  uint8_t rec[LP_SNAP_RECORD_SIZE];
  rc = read_exact(r, rec, sizeof rec);
  if (rc != LP_OK) return rc;
  uint32_t t = lp_get_u32le(rec), f = lp_get_u32le(rec + 4);
  uint64_t n = lp_get_u64le(rec + 8);
  if ((f & ~(uint32_t)LP_SNAP_KNOWN_SECTION_FLAGS) != 0)
    return fail(r, LP_EVERSION, "section flags 0x%x unknown (type 0x%x)", (unsigned)f, (unsigned)t);
  if (t == LP_SECTION_END && (f != 0 || n != LP_SNAP_END_SIZE))
    return fail(r, LP_ECORRUPT, "malformed end record (flags 0x%x, length %llu)", (unsigned)f,
                (unsigned long long)n);
  if (n > r->limit)
    return fail(r, LP_ELIMIT, "section length %llu exceeds the limit %llu",
                (unsigned long long)n, (unsigned long long)r->limit);
  if (n > SIZE_MAX - LP_SNAP_ALIGN)
    return fail(r, LP_ELIMIT, "section length %llu does not fit in memory",
                (unsigned long long)n);
  rc = read_payload(r, n);
  if (rc != LP_OK) return rc;
  if (lp_snap_record_checksum(rec, r->payload.data, r->payload.len) != lp_get_u64le(rec + 16) &&
      !LP_FUZZING)
    return fail(r, LP_ECORRUPT, "checksum mismatch in section type 0x%x, length %llu",
                (unsigned)t, (unsigned long long)n);
  if (t == LP_SECTION_END) {
    rc = check_end(r, r->payload.data, record_offset);
    if (rc != LP_OK) return rc;
    r->ended = true;
    *type = LP_SECTION_END;
    if (flags != NULL) *flags = 0;
    *data = NULL;
    *len = 0;
    return LP_OK;
  }
  r->chain = lp_snap_chain(r->chain, rec);
  r->count++;
  *type = t;
  if (flags != NULL) *flags = f;
  *data = r->payload.len > 0 ? r->payload.data : NULL;
  *len = r->payload.len;
  return LP_OK;
}
