/*
 * profilectl - a step run in a child process.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file child.h
 * @brief Runs one function in a forked child process, on a copy of the
 * caller's memory, while the caller goes on: run's save of the store
 * (cmd_run.c) uses the second core this way without a thread in the
 * library. The child reports its status and message through a pipe and
 * leaves with _exit() (no atexit handler, no stdio flush: the parent's
 * buffers are written once, by the parent).
 * What the function may use: the child has only the forking thread, and
 * a lock another thread of the parent held at the fork stays held in the
 * child. glibc's malloc takes its locks around fork(), so malloc and free
 * are safe; the function must not use stdio streams, the progress line or
 * any object (a writer, a mutex) shared with another thread of the parent.
 * Objects it creates itself (a background writer and its thread) are its
 * own.
 */
#ifndef PROFILECTL_CHILD_H
#define PROFILECTL_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/** The function the child runs: 0 for success, or a message in msg. */
typedef int (*pctl_child_fn)(void *ud, char *msg, size_t cap);

/** A started child (pid 0: none). */
typedef struct pctl_child {
  pid_t pid;
  int fd; /**< read end of the report pipe */
} pctl_child;

/** The child's CPU time and peak resident memory, from wait4(). */
typedef struct pctl_child_usage {
  double user, sys;  /**< seconds */
  double peak_mib;   /**< its own peak resident set */
} pctl_child_usage;

/**
 * @brief Fork a child that runs fn(ud, ...) and exits.
 * @return true if the child runs; false where fork() (or the pipe) failed
 *         or the platform has none: the caller then does the work itself.
 */
bool pctl_child_start(pctl_child *c, pctl_child_fn fn, void *ud);

/**
 * @brief Wait for the child and take its report.
 * @param u   Receives its usage (may be NULL).
 * @return 0; -1 with the child's own message in msg; -2 for a child
 *         that was killed or cannot be waited for, with why in msg ("was
 *         killed by signal 9"); or -3 for a child that exited without a
 *         report, its status in msg (it never ran its function to the
 *         end: e.g. an emulator that cannot fork a process with threads).
 */
int pctl_child_wait(pctl_child *c, char *msg, size_t cap, pctl_child_usage *u);

/** @brief Kill the child (the work it did is not wanted) and reap it. */
void pctl_child_cancel(pctl_child *c);

#endif
