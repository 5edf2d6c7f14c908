/*
 * Internal: the snapshot writer without a copy on either side. A section
 * whose bytes are many small fields is encoded straight into the writer's
 * section buffer (room, then commit), and a section the caller holds whole
 * already is emitted from the caller's memory (no copy into the buffer).
 * The bytes are those of lp_snapshot_writer_write and _end_section.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_SNAPSHOT_DIRECT_H
#define LP_CORE_SNAPSHOT_DIRECT_H

#include "core/common.h"
#include "libprofile/io.h"

/* Capacity for an open section of `total` bytes in all, taken in one
 * allocation (a hint: writing more grows the buffer as usual). LP_OK,
 * LP_ENOMEM (not sticky: the writer is as it was and goes on, growing
 * its buffer as it must) or the state's error. */
int lp_snapshot_writer_reserve(lp_snapshot_writer *w, size_t total);

/* Room for at least `need` more bytes of the open section: *out points
 * at them and *avail says how many there are (all the buffer has, >=
 * need), valid until the next call on `w`. Nothing is appended until
 * lp_snapshot_writer_commit says how many of them were filled. Errors as
 * for lp_snapshot_writer_write (sticky); *out NULL and *avail 0 then. */
int lp_snapshot_writer_room(lp_snapshot_writer *w, size_t need, uint8_t **out, size_t *avail);

/* Append the first `n` bytes of the last room (n <= its size). */
void lp_snapshot_writer_commit(lp_snapshot_writer *w, size_t n);

/* One whole section of `len` bytes from `data`, emitted from there (no
 * section may be open): the record begin_section, write and end_section
 * would give. */
int lp_snapshot_writer_put_section(lp_snapshot_writer *w, uint32_t type, uint32_t flags,
                                   const void *data, size_t len);

#endif /* LP_CORE_SNAPSHOT_DIRECT_H */
