/*
 * Writes the seed corpus for fuzz_snapshot into the directory given as the
 * only argument: valid snapshots of several shapes plus a few damaged ones.
 * The committed corpus (fuzz/corpus/snapshot) was made with it:
 *   build/fuzz/make_seeds fuzz/corpus/snapshot
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "libprofile.h"

static int save(const char *dir, const char *name, const uint8_t *data, size_t len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL) return 1;
  int bad = fwrite(data, 1, len, f) != len;
  return fclose(f) != 0 || bad;
}

static int make(lp_membuf *b, int sections, uint32_t flags) {
  lp_membuf_clear(b);
  lp_snapshot_writer *w;
  int rc = lp_snapshot_writer_create(NULL, lp_membuf_write, b, LP_FOURCC('S', 'E', 'E', 'D'), &w);
  for (int i = 0; rc == LP_OK && i < sections; i++) {
    uint8_t payload[40];
    for (size_t j = 0; j < sizeof payload; j++) payload[j] = (uint8_t)(i * 31 + (int)j);
    rc = lp_snapshot_writer_begin_section(w, LP_FOURCC('S', 'E', 'C', '0' + i), flags);
    if (rc == LP_OK) rc = lp_snapshot_writer_write(w, payload, (size_t)(i * 13) % sizeof payload);
    if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_finish(w);
  lp_snapshot_writer_free(w);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  lp_membuf *b;
  if (lp_membuf_create(NULL, &b) != LP_OK) return 1;
  int bad = 0;
  static const struct {
    const char *name;
    int sections;
    uint32_t flags;
  } shapes[] = {{"empty.lps", 0, 0}, {"one.lps", 1, 0}, {"three.lps", 3, 0},
                {"required.lps", 2, LP_SECTION_REQUIRED}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    bad |= make(b, shapes[i].sections, shapes[i].flags) != LP_OK;
    bad |= save(argv[1], shapes[i].name, lp_membuf_data(b), lp_membuf_size(b));
  }
  /* Damaged variants of the last one: truncated, and a flipped bit. */
  size_t n = lp_membuf_size(b);
  uint8_t copy[4096];
  if (n > sizeof copy) return 1;
  memcpy(copy, lp_membuf_data(b), n);
  bad |= save(argv[1], "truncated.lps", copy, n / 2);
  copy[40] ^= 4;
  bad |= save(argv[1], "bitflip.lps", copy, n);
  lp_membuf_free(b);
  return bad;
}
