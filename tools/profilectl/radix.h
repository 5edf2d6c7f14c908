/*
 * profilectl - a stable radix sort of 64-bit keys.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file radix.h
 * @brief LSD radix sort of (key, value) items by an unsigned 64-bit key,
 * for the commands' large sorts (identifiers.csv's rows, the report's
 * values): linear time, stable, so equal keys keep their first order.
 */
#ifndef PROFILECTL_RADIX_H
#define PROFILECTL_RADIX_H

#include <stddef.h>
#include <stdint.h>

/** One item: the sort key and what it stands for. */
typedef struct pctl_radix_item {
  uint64_t key; /**< Sort key, ascending unsigned order. */
  union {
    const void *ptr; /**< A record the key stands for. */
    double num;      /**< A value the key stands for. */
  } v;               /**< Carried along, never read by the sort. */
} pctl_radix_item;

/**
 * @brief Sort @p a by ascending key, items of equal keys in their first
 * order (16-bit digits; a digit every key shares costs one counting pass
 * and no move).
 * @param a Items (sorted in place).
 * @param n Item count.
 * @return 0, or -1 when its scratch memory (n items and 512 KiB) cannot
 *         be had (@p a unchanged).
 */
int pctl_radix_sort(pctl_radix_item *a, size_t n);

#endif /* PROFILECTL_RADIX_H */
