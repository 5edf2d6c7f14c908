/*
 * Streaming snapshot writer: one section buffered at a time.
 * SPDX-License-Identifier: MIT
 */
#include "core/error.h"
#include "core/snapshot_direct.h"
#include "core/snapshot_format.h"
#include "core/vec.h"
#include "libprofile/io.h"

struct lp_snapshot_writer {
  lp_mem mem; /* first: see lp_mem_new_handle */
  lp_error err;
  lp_writer write;
  void *ud;
  uint32_t kind;
  uint32_t sec_type;
  uint32_t sec_flags;
  bool header_written;
  bool in_section;
  bool finished;
  int sticky; /* first failure; every later call returns it */
  lp_vec section;
  uint64_t count;  /* sections written */
  uint64_t chain;  /* running hash of records, see lp_snap_chain */
  uint64_t offset; /* bytes emitted */
};

int lp_snapshot_writer_create(const lp_allocator *alloc, lp_writer write, void *ud,
                              uint32_t kind, lp_snapshot_writer **out) {
  if (out == NULL) return LP_EINVAL;
  *out = NULL;
  if (write == NULL) return LP_EINVAL;
  lp_snapshot_writer *w;
  int rc = lp_mem_new_handle(alloc, sizeof *w, (void **)&w);
  if (rc != LP_OK) return rc;
  w->write = write;
  w->ud = ud;
  w->kind = kind;
  lp_vec_init(&w->section, 1);
  *out = w;
  return LP_OK;
}

void lp_snapshot_writer_free(lp_snapshot_writer *w) {
  if (w == NULL) return;
  lp_vec_free(&w->section, &w->mem);
  lp_mem_free_handle(w, sizeof *w);
}

const char *lp_snapshot_writer_errmsg(const lp_snapshot_writer *w) {
  return w == NULL ? LP_ERRMSG_NULL_HANDLE : lp_error_msg(&w->err);
}

static int fail(lp_snapshot_writer *w, int code, const char *what) {
  w->sticky = code;
  return lp_error_set(&w->err, code, "snapshot writer: %s: %s", what, lp_strerror(code));
}

static int emit(lp_snapshot_writer *w, const void *buf, size_t len) {
  if (len == 0) return LP_OK;
  int rc = w->write(w->ud, buf, len);
  if (rc != 0) {
    int code = (rc < 0 && rc >= LP_EMISUSE) ? rc : LP_EIO;
    w->sticky = code;
    return lp_error_set(&w->err, code,
                        "snapshot writer: write callback failed (returned %d) at byte %llu",
                        rc, (unsigned long long)w->offset);
  }
  w->offset += len;
  return LP_OK;
}

static int emit_header(lp_snapshot_writer *w) {
  if (w->header_written) return LP_OK;
  uint8_t h[LP_SNAP_HEADER_SIZE];
  memcpy(h, LP_SNAP_MAGIC, 8);
  lp_put_u16le(h + 8, LP_SNAPSHOT_FORMAT_MAJOR);
  lp_put_u16le(h + 10, LP_SNAPSHOT_FORMAT_MINOR);
  lp_put_u32le(h + 12, w->kind);
  lp_put_u32le(h + 16, 0);
  lp_put_u32le(h + 20, LP_VERSION_NUMBER);
  uint64_t sum = lp_hash64(h, 24, 0);
  lp_put_u64le(h + 24, sum);
  int rc = emit(w, h, sizeof h);
  if (rc != LP_OK) return rc;
  w->chain = sum;
  w->header_written = true;
  return LP_OK;
}

/* Emit one record (header, payload, zero padding). */
static int emit_record(lp_snapshot_writer *w, uint32_t type, uint32_t flags,
                       const void *payload, size_t len) {
  static const uint8_t zeros[LP_SNAP_ALIGN] = {0};
  uint8_t rec[LP_SNAP_RECORD_SIZE];
  lp_put_u32le(rec, type);
  lp_put_u32le(rec + 4, flags);
  lp_put_u64le(rec + 8, (uint64_t)len);
  lp_put_u64le(rec + 16, lp_snap_record_checksum(rec, payload, len));
  int rc = emit_header(w);
  if (rc == LP_OK) rc = emit(w, rec, sizeof rec);
  if (rc == LP_OK) rc = emit(w, payload, len);
  if (rc == LP_OK) rc = emit(w, zeros, lp_snap_padding(len));
  if (rc != LP_OK) return rc;
  w->chain = lp_snap_chain(w->chain, rec);
  return LP_OK;
}

static int check_state(lp_snapshot_writer *w) {
  if (w->sticky != 0) return w->sticky;
  if (w->finished) return lp_error_set(&w->err, LP_EMISUSE, "snapshot writer: already finished");
  return LP_OK;
}

int lp_snapshot_writer_begin_section(lp_snapshot_writer *w, uint32_t type, uint32_t flags) {
  if (w == NULL) return LP_EINVAL;
  int rc = check_state(w);
  if (rc != LP_OK) return rc;
  if (w->in_section)
    return lp_error_set(&w->err, LP_EMISUSE, "snapshot writer: a section is already open");
  if (type == LP_SECTION_END)
    return lp_error_set(&w->err, LP_EINVAL, "snapshot writer: section type 0 is reserved");
  if ((flags & ~(uint32_t)LP_SNAP_KNOWN_SECTION_FLAGS) != 0)
    return lp_error_set(&w->err, LP_EINVAL, "snapshot writer: unknown section flags 0x%x",
                        (unsigned)flags);
  w->sec_type = type;
  w->sec_flags = flags;
  w->section.len = 0;
  w->in_section = true;
  return LP_OK;
}

int lp_snapshot_writer_write(lp_snapshot_writer *w, const void *data, size_t len) {
  if (w == NULL) return LP_EINVAL;
  int rc = check_state(w);
  if (rc != LP_OK) return rc;
  if (!w->in_section) return lp_error_set(&w->err, LP_EMISUSE, "snapshot writer: no open section");
  if (data == NULL && len > 0)
    return lp_error_set(&w->err, LP_EINVAL, "snapshot writer: NULL data");
  rc = lp_vec_append(&w->section, &w->mem, data, len);
  if (rc != LP_OK) return fail(w, rc, rc == LP_ELIMIT ? "section too large" : "buffering section");
  return LP_OK;
}

static int check_open(lp_snapshot_writer *w) {
  int rc = check_state(w);
  if (rc != LP_OK) return rc;
  if (!w->in_section) return lp_error_set(&w->err, LP_EMISUSE, "snapshot writer: no open section");
  return LP_OK;
}

static int grow_section(lp_snapshot_writer *w, size_t total) {
  int rc = lp_vec_reserve(&w->section, &w->mem, total);
  if (rc != LP_OK) return fail(w, rc, "buffering section");
  return LP_OK;
}

int lp_snapshot_writer_reserve(lp_snapshot_writer *w, size_t total) {
  int rc = check_open(w);
  if (rc != LP_OK || total <= w->section.cap) return rc;
  /* the exact size: the section is not grown past it by appends */
  void *p = w->section.data;
  rc = lp_mem_realloc_array(&w->mem, &p, w->section.cap, total, 1);
  if (rc != LP_OK) return rc; /* a hint: the writer goes on as it was */
  w->section.data = p;
  w->section.cap = total;
  return LP_OK;
}

int lp_snapshot_writer_room(lp_snapshot_writer *w, size_t need, uint8_t **out, size_t *avail) {
  *out = NULL;
  *avail = 0;
  int rc = check_open(w);
  if (rc != LP_OK) return rc;
  size_t total;
  if (lp_add_overflow(w->section.len, need, &total)) return fail(w, LP_ELIMIT, "section too large");
  rc = grow_section(w, total);
  if (rc != LP_OK) return rc;
  *out = w->section.data + w->section.len;
  *avail = w->section.cap - w->section.len;
  return LP_OK;
}

void lp_snapshot_writer_commit(lp_snapshot_writer *w, size_t n) { w->section.len += n; }

int lp_snapshot_writer_put_section(lp_snapshot_writer *w, uint32_t type, uint32_t flags,
                                   const void *data, size_t len) {
  int rc = lp_snapshot_writer_begin_section(w, type, flags);
  if (rc != LP_OK) return rc;
  rc = emit_record(w, type, flags, data, len);
  if (rc != LP_OK) return rc;
  w->in_section = false;
  w->count++;
  return LP_OK;
}

int lp_snapshot_writer_end_section(lp_snapshot_writer *w) {
  if (w == NULL) return LP_EINVAL;
  int rc = check_state(w);
  if (rc != LP_OK) return rc;
  if (!w->in_section) return lp_error_set(&w->err, LP_EMISUSE, "snapshot writer: no open section");
  rc = emit_record(w, w->sec_type, w->sec_flags, w->section.data, w->section.len);
  if (rc != LP_OK) return rc;
  w->in_section = false;
  w->count++;
  return LP_OK;
}

int lp_snapshot_writer_finish(lp_snapshot_writer *w) {
  if (w == NULL) return LP_EINVAL;
  int rc = check_state(w);
  if (rc != LP_OK) return rc;
  if (w->in_section)
    return lp_error_set(&w->err, LP_EMISUSE, "snapshot writer: a section is still open");
  rc = emit_header(w);
  if (rc != LP_OK) return rc;
  uint8_t end[LP_SNAP_END_SIZE];
  lp_put_u64le(end, w->count);
  lp_put_u64le(end + 8, w->chain);
  lp_put_u64le(end + 16, w->offset);
  rc = emit_record(w, LP_SECTION_END, 0, end, sizeof end);
  if (rc != LP_OK) return rc;
  w->finished = true;
  return LP_OK;
}
