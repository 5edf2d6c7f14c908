/*
 * profilectl - an allocator whose large blocks are faulted in ahead.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file prefault.h
 * @brief A store allocator (the host owns memory) that maps each block of
 * at least #PCTL_PREFAULT_MIN bytes on its own and has a thread of its own
 * fault its pages in, front to back, while the caller goes on writing it
 * from the front.
 *
 * Why: a load of a large store writes hundreds of MB of fresh memory, and
 * on a virtual machine the first touch of each page (the kernel's fault,
 * zeroing the page) takes a third of the load's time. The thread takes
 * those faults on the second core, which is idle during a load. It only
 * populates page tables (`MADV_POPULATE_WRITE`): the contents of a block
 * are what they would be without it, so every output is the same bytes.
 *
 * Only blocks from the allocation function are faulted in ahead; a block
 * grown with the reallocation function is not (its new part may stay
 * unused, e.g. the spare capacity of a growing array), so the peak
 * resident memory stays that of the C library's allocator, give or take
 * the rounding of large blocks to whole pages.
 *
 * Smaller blocks go to malloc. Where the platform has no such madvise, or
 * no threads, or the kernel refuses it, large blocks are plain anonymous
 * mappings (or malloc) and nothing is faulted ahead. In a child forked
 * while the thread runs (run's save) the allocator keeps working without
 * the thread.
 */
#ifndef PROFILECTL_PREFAULT_H
#define PROFILECTL_PREFAULT_H

#include <stdbool.h>
#include <stddef.h>

#include "libprofile/core.h"

/** Blocks of this many bytes or more are mapped and faulted in ahead. */
#define PCTL_PREFAULT_MIN ((size_t)4 << 20)

/**
 * @brief Start the process's prefaulting thread (once; later calls only
 * report) and describe the allocator.
 * @param out Receives the allocator for lp_*_create().
 * @return true when the thread runs; false when blocks are not faulted in
 *         ahead (the allocator in @p out works either way).
 */
bool pctl_prefault_allocator(lp_allocator *out);

/**
 * @brief Stop the thread and wait for it (blocks stay valid and are freed
 * through the allocator as before). A no-op when it does not run.
 */
void pctl_prefault_stop(void);

/** @brief Bytes the thread has faulted in so far (for tests and timings). */
size_t pctl_prefault_done_bytes(void);

#endif /* PROFILECTL_PREFAULT_H */
