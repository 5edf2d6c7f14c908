/*
 * Example: give libprofile your own allocator and storage.
 *
 * A counting allocator (the kind a host uses to put a memory budget on a
 * library) is handed to a memory buffer, a snapshot writer and a snapshot
 * reader; a small snapshot goes into the buffer and comes back out. At the
 * end every byte the library allocated has been returned.
 *
 * Build against an installed libprofile:
 *   cc counting_allocator.c $(pkg-config --cflags --libs libprofile)
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libprofile.h>

typedef struct counter {
  size_t live_bytes;
  size_t peak_bytes;
  size_t calls;
} counter;

static void *count_alloc(void *ud, size_t size) {
  counter *c = ud;
  void *p = malloc(size);
  if (p != NULL) {
    c->calls++;
    c->live_bytes += size;
    if (c->live_bytes > c->peak_bytes) c->peak_bytes = c->live_bytes;
  }
  return p;
}

static void *count_realloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
  counter *c = ud;
  void *p = realloc(ptr, new_size);
  if (p != NULL) {
    c->calls++;
    c->live_bytes = c->live_bytes - old_size + new_size; /* the old size comes back to us */
    if (c->live_bytes > c->peak_bytes) c->peak_bytes = c->live_bytes;
  }
  return p;
}

static void count_free(void *ud, void *ptr, size_t size) {
  counter *c = ud;
  c->live_bytes -= size;
  free(ptr);
}

#define KIND LP_FOURCC('D', 'E', 'M', 'O')
#define SECTION_GREETING LP_FOURCC('G', 'R', 'E', 'T')

static int check(int rc, const char *what, const char *detail) {
  if (rc != LP_OK) fprintf(stderr, "%s: %s (%s)\n", what, lp_strerror(rc), detail);
  return rc;
}

int main(void) {
  counter c = {0, 0, 0};
  lp_allocator alloc = LP_ALLOCATOR_INIT;
  alloc.ud = &c;
  alloc.alloc = count_alloc;
  alloc.realloc = count_realloc;
  alloc.free = count_free;

  lp_membuf *buf = NULL;
  if (check(lp_membuf_create(&alloc, &buf), "membuf", "") != LP_OK) return 1;

  /* Write: one section holding a greeting. */
  lp_snapshot_writer *w = NULL;
  int rc = lp_snapshot_writer_create(&alloc, lp_membuf_write, buf, KIND, &w);
  const char greeting[] = "hello from libprofile";
  if (rc == LP_OK) rc = lp_snapshot_writer_begin_section(w, SECTION_GREETING, 0);
  if (rc == LP_OK) rc = lp_snapshot_writer_write(w, greeting, sizeof greeting - 1);
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  if (rc == LP_OK) rc = lp_snapshot_writer_finish(w);
  check(rc, "write", lp_snapshot_writer_errmsg(w));
  lp_snapshot_writer_free(w);
  if (rc != LP_OK) return 1;
  printf("snapshot: %zu bytes\n", lp_membuf_size(buf));

  /* Read it back: sections are validated (length, checksum) before use. */
  lp_memreader mr;
  lp_snapshot_reader *r = NULL;
  rc = lp_memreader_init(&mr, lp_membuf_data(buf), lp_membuf_size(buf));
  if (rc == LP_OK) rc = lp_snapshot_reader_create(&alloc, lp_memreader_read, &mr, &r);
  uint32_t kind = 0, type = 0;
  const uint8_t *data = NULL;
  size_t len = 0;
  int found = 0;
  if (rc == LP_OK) rc = lp_snapshot_reader_header(r, &kind, NULL);
  while (rc == LP_OK && (rc = lp_snapshot_reader_next(r, &type, NULL, &data, &len)) == LP_OK &&
         type != LP_SECTION_END) {
    if (type == SECTION_GREETING) {
      printf("greeting: %.*s\n", (int)len, (const char *)data);
      found = len == sizeof greeting - 1 && memcmp(data, greeting, len) == 0;
    } /* unknown sections are skipped: forward compatibility */
  }
  check(rc, "read", lp_snapshot_reader_errmsg(r));
  lp_snapshot_reader_free(r);
  lp_membuf_free(buf);

  printf("allocator: %zu calls, peak %zu bytes, %zu bytes still held\n", c.calls, c.peak_bytes,
         c.live_bytes);
  return rc == LP_OK && kind == KIND && found && c.live_bytes == 0 ? 0 : 1;
}
