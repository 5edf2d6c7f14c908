/*
 * profilectl - running a few independent tasks on the machine's cores.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file par.h
 * @brief Fork-join over POSIX threads for the commands that split their
 * input (the library itself never starts threads).
 *
 * Where threads are not available, or one cannot be started, the tasks run
 * one after another on the calling thread: results must therefore never
 * depend on how the tasks were scheduled, only on their inputs.
 */
#ifndef PROFILECTL_PAR_H
#define PROFILECTL_PAR_H

#include <stddef.h>

/** Most tasks pctl_par_run() runs at once. */
#define PCTL_PAR_MAX 64

/**
 * @brief Run `fn(tasks + i * size)` for every i in 0..n-1 and return when
 * all have finished. Task 0 runs on the calling thread.
 * @param n     Number of tasks (at most #PCTL_PAR_MAX; the rest run in order
 *              after them on the calling thread).
 * @param fn    Task body; must touch only its own task and shared data
 *              that no task writes.
 * @param tasks Array of @p n task structures, owned by the caller.
 * @param size  Size of one task structure in bytes.
 */
void pctl_par_run(size_t n, void (*fn)(void *task), void *tasks, size_t size);

/** @brief Processors online (at least 1; 1 where it cannot be asked). */
unsigned pctl_par_cpus(void);

#endif /* PROFILECTL_PAR_H */
