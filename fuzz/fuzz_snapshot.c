/*
 * libFuzzer target: the snapshot reader must return an error, never crash,
 * hang or leak, on any input.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "libprofile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp_fuzz_budget budget;
  lp_allocator alloc;
  lp_fuzz_allocator(&budget, &alloc, 64u << 20);
  lp_memreader mr;
  if (lp_memreader_init(&mr, data, size) != LP_OK) return 0;
  lp_snapshot_reader *r;
  if (lp_snapshot_reader_create(&alloc, lp_memreader_read, &mr, &r) != LP_OK) return 0;
  (void)lp_snapshot_reader_set_section_limit(r, 16u << 20);
  uint32_t kind = 0, type = 0, flags = 0;
  const uint8_t *payload;
  size_t len;
  uint64_t sum = 0;
  if (lp_snapshot_reader_header(r, &kind, NULL) == LP_OK) {
    /* Bounded: a valid stream ends; an invalid one errors. */
    while (lp_snapshot_reader_next(r, &type, &flags, &payload, &len) == LP_OK &&
           type != LP_SECTION_END) {
      /* Touch every byte handed out, so ASan checks the bounds. */
      for (size_t i = 0; i < len; i++) sum += payload[i];
    }
  }
  lp_fuzz_sink(sum + kind + flags);
  lp_snapshot_reader_free(r);
  lp_fuzz_check_leaks(&budget);
  return 0;
}
