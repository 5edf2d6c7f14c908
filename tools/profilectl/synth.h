/*
 * profilectl - deterministic synthetic customer data for the demo.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file synth.h
 * @brief A seeded generator of multi-channel customer data with ground truth.
 *
 * People have a login, an e-mail, a phone and devices, written the messy ways
 * real systems write them (mixed case, Gmail dots and +tags, national and
 * international phone formats). They show up on the web (cookie, sometimes
 * a login), in the app (device and login), in stores (phone or e-mail on a
 * shared kiosk tablet) and in the CRM (several identifiers at once); junk
 * values ("null", "undefined", "0") appear as in real feeds. Each person
 * places orders with a spending habit of their own. Every record carries
 * the index of the true person, so identity results can be scored.
 *
 * Same seed and configuration give the same records in the same order on
 * every platform (the library's xoshiro256** stream, integer arithmetic
 * only).
 */
#ifndef PROFILECTL_SYNTH_H
#define PROFILECTL_SYNTH_H

#include <stddef.h>
#include <stdint.h>

/** Identifier types the generator writes, in column order. */
typedef enum pctl_synth_type {
  PCTL_SYNTH_USER_ID = 0,
  PCTL_SYNTH_EMAIL = 1,
  PCTL_SYNTH_PHONE = 2,
  PCTL_SYNTH_DEVICE_ID = 3,
  PCTL_SYNTH_COOKIE = 4,
  PCTL_SYNTH_TYPES = 5
} pctl_synth_type;

/** Column name of each #pctl_synth_type. */
extern const char *const pctl_synth_type_names[PCTL_SYNTH_TYPES];

/** Longest identifier value the generator writes, with its NUL. */
#define PCTL_SYNTH_VALUE_CAP 64

/** Generator settings. */
typedef struct pctl_synth_config {
  uint64_t seed;      /**< Stream seed. */
  uint32_t people;    /**< Number of people (at least 1). */
  int64_t start;      /**< First possible timestamp (Unix seconds). */
  int64_t end;        /**< Last possible timestamp; > start. */
  uint32_t kiosks;    /**< Shared store tablets (0: none). */
} pctl_synth_config;

/** Defaults: 1000 people, 2023-01-01 .. 2024-12-31, 5 kiosks, seed 42. */
void pctl_synth_config_init(pctl_synth_config *cfg);

/** One event: identifiers seen together (an empty value means absent). */
typedef struct pctl_synth_event {
  int64_t ts;                                            /**< When. */
  const char *source;                                    /**< "web", "app", "store" or "crm". */
  char value[PCTL_SYNTH_TYPES][PCTL_SYNTH_VALUE_CAP];   /**< Raw values by type. */
  uint32_t person;                                       /**< Ground truth. */
} pctl_synth_event;

/** One order: who (by one raw identifier), when, how much. */
typedef struct pctl_synth_order {
  int64_t ts;                          /**< When. */
  uint64_t order_id;                   /**< Unique order number. */
  pctl_synth_type via;                 /**< Which identifier names the buyer. */
  char value[PCTL_SYNTH_VALUE_CAP];    /**< Its raw value. */
  int64_t amount;                      /**< Minor units (cents); negative for a refund. */
  uint32_t person;                     /**< Ground truth. */
} pctl_synth_order;

/** Receives each event; returns 0 to go on, non-zero to stop. */
typedef int (*pctl_synth_event_fn)(void *ud, const pctl_synth_event *e);
/** Receives each order; returns 0 to go on, non-zero to stop. */
typedef int (*pctl_synth_order_fn)(void *ud, const pctl_synth_order *o);

/**
 * @brief Generate everything, person by person.
 * @return 0, -1 for a bad configuration, or the first non-zero value a
 * callback returned. Either callback may be NULL.
 */
int pctl_synth_run(const pctl_synth_config *cfg, pctl_synth_event_fn on_event,
                   pctl_synth_order_fn on_order, void *ud);

#endif /* PROFILECTL_SYNTH_H */
