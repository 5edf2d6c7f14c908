/*
 * Internal: byte layout of the snapshot container (docs/format.md).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_SNAPSHOT_FORMAT_H
#define LP_CORE_SNAPSHOT_FORMAT_H

#include "core/hash.h"

/* "\x89LPS\r\n\x1a\n": the high byte catches 7-bit transports, CR LF and
 * LF catch newline translation, ^Z stops DOS `type`, as in PNG. */
static const uint8_t LP_SNAP_MAGIC[8] = {0x89, 'L', 'P', 'S', '\r', '\n', 0x1a, '\n'};

enum {
  LP_SNAP_HEADER_SIZE = 32, /* magic 8, major 2, minor 2, kind 4, flags 4,
                               writer version 4, XXH3-64 of bytes 0..23 */
  LP_SNAP_RECORD_SIZE = 24, /* type 4, flags 4, length 8, checksum 8 */
  LP_SNAP_END_SIZE = 24,    /* section count 8, chain hash 8, offset 8 */
  LP_SNAP_ALIGN = 8         /* payloads are zero-padded to 8 bytes */
};

#define LP_SNAP_KNOWN_SECTION_FLAGS LP_SECTION_REQUIRED

/* Payload checksum, bound to the record's type, flags and length so a flip
 * in any of them is caught too. */
static inline uint64_t lp_snap_record_checksum(const uint8_t record16[16],
                                               const void *payload, size_t len) {
  return lp_hash64(payload, len, lp_hash64(record16, 16, 0));
}

/* Running hash over every record header, checked by the end record: catches
 * sections dropped, duplicated or reordered. */
static inline uint64_t lp_snap_chain(uint64_t chain, const uint8_t record[LP_SNAP_RECORD_SIZE]) {
  return lp_hash64(record, LP_SNAP_RECORD_SIZE, chain);
}

static inline size_t lp_snap_padding(uint64_t len) {
  return (size_t)((LP_SNAP_ALIGN - (len % LP_SNAP_ALIGN)) % LP_SNAP_ALIGN);
}

#endif /* LP_CORE_SNAPSHOT_FORMAT_H */
