/*
 * profilectl - deterministic synthetic customer data.
 * SPDX-License-Identifier: MIT
 */
#include "synth.h"

#include <stdio.h>
#include <string.h>

#include "core/rng.h"

const char *const pctl_synth_type_names[PCTL_SYNTH_TYPES] = {"user_id", "email", "phone",
                                                             "device_id", "cookie"};

static const char *const first_names[] = {"anna", "ben", "chloe", "david", "emma", "felix",
                                          "grace", "hugo", "iris", "jonas", "karin", "liam",
                                          "maya", "noah", "olga", "paul"};
static const char *const last_names[] = {"smith", "martin", "garcia", "muller", "rossi",
                                         "dubois", "jensen", "novak", "silva", "kowalski"};
static const char *const domains[] = {"gmail.com", "example.org", "mail.example.net",
                                      "googlemail.com", "corp.example.com"};
/* Values real feeds send when an identifier is unknown. */
static const char *const junk[] = {"null", "undefined", "0", "N/A", "[object Object]", "-"};

void pctl_synth_config_init(pctl_synth_config *cfg) {
  cfg->seed = 42;
  cfg->people = 1000;
  cfg->start = 1672531200; /* 2023-01-01T00:00:00Z */
  cfg->end = 1735689599;   /* 2024-12-31T23:59:59Z */
  cfg->kiosks = 5;
}

/* True with probability pct/100. */
static int chance(lp_rng *r, unsigned pct) { return lp_rng_below(r, 100) < pct; }

static const char *pick(lp_rng *r, const char *const *list, size_t n) {
  return list[lp_rng_below(r, n)];
}

typedef struct person {
  uint32_t index;
  int has_login, has_email, has_phone;
  char login[32];
  char email_user[40];
  const char *domain;
  char phone_digits[16]; /* national significant number, 10 digits */
  char devices[3][24];
  unsigned device_count;
  int64_t first_seen, last_seen;
  unsigned events, orders;
  int64_t basket; /* typical order value, cents */
} person;

static void make_person(lp_rng *r, const pctl_synth_config *cfg, uint32_t i, person *p) {
  memset(p, 0, sizeof *p);
  p->index = i;
  p->has_login = chance(r, 70);
  p->has_email = chance(r, 85);
  p->has_phone = chance(r, 50);
  snprintf(p->login, sizeof p->login, "u%07u", (unsigned)i);
  /* One draw per statement: C leaves the order of argument evaluation
     unspecified, so draws inside one call's arguments differ by compiler. */
  const char *first = pick(r, first_names, 16);
  const char *last = pick(r, last_names, 10);
  snprintf(p->email_user, sizeof p->email_user, "%s.%s%u", first, last, (unsigned)i);
  p->domain = pick(r, domains, 5);
  snprintf(p->phone_digits, sizeof p->phone_digits, "79%08u",
           (unsigned)((i * 7919u + 13u) % 100000000u));
  p->device_count = (unsigned)lp_rng_below(r, 3) + 1;
  for (unsigned d = 0; d < p->device_count; d++)
    snprintf(p->devices[d], sizeof p->devices[d], "dev-%016llx",
             (unsigned long long)lp_rng_next(r));
  /* Active for a window inside the period: some people churn early. */
  int64_t span = cfg->end - cfg->start;
  p->first_seen = cfg->start + (int64_t)lp_rng_below(r, (uint64_t)span * 3 / 4);
  p->last_seen = p->first_seen + (int64_t)lp_rng_below(r, (uint64_t)(cfg->end - p->first_seen) + 1);
  p->events = 2 + (unsigned)lp_rng_below(r, 9);
  /* Geometric-like order counts: most buy once or twice, a few often. */
  p->orders = 0;
  while (p->orders < 40 && chance(r, p->orders == 0 ? 80 : 60)) p->orders++;
  static const int64_t baskets[] = {1500, 2900, 4900, 8900, 15900, 34900};
  p->basket = baskets[lp_rng_below(r, 6)];
}

/* The e-mail as some channel writes it: case, Gmail dots and +tags vary. */
static void write_email(lp_rng *r, const person *p, char *out, size_t cap) {
  char user[48];
  size_t n = 0;
  int gmail = strcmp(p->domain, "gmail.com") == 0 || strcmp(p->domain, "googlemail.com") == 0;
  int upper = chance(r, 20);
  for (const char *s = p->email_user; *s && n + 1 < sizeof user; s++) {
    if (*s == '.' && gmail && chance(r, 50)) continue; /* Gmail ignores dots */
    user[n++] = upper ? (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s) : *s;
  }
  user[n] = '\0';
  const char *tag = gmail && chance(r, 15) ? "+news" : "";
  const char *lead = chance(r, 10) ? " " : "";
  const char *trail = chance(r, 10) ? " " : "";
  snprintf(out, cap, "%s%s%s@%s%s", lead, user, tag, p->domain, trail);
}

/* The phone as some channel writes it: national or international format. */
static void write_phone(lp_rng *r, const person *p, char *out, size_t cap) {
  const char *d = p->phone_digits;
  switch (lp_rng_below(r, 3)) {
  case 0: snprintf(out, cap, "+44 %.4s %.6s", d, d + 4); break;
  case 1: snprintf(out, cap, "0%.4s %.3s %.3s", d, d + 4, d + 7); break;
  default: snprintf(out, cap, "0044-%s", d); break;
  }
}

static int64_t when(lp_rng *r, const person *p) {
  return p->first_seen + (int64_t)lp_rng_below(r, (uint64_t)(p->last_seen - p->first_seen) + 1);
}

static void junk_or(lp_rng *r, char *slot, size_t cap) {
  if (chance(r, 3)) snprintf(slot, cap, "%s", pick(r, junk, 6));
}

static int emit_events(lp_rng *r, const pctl_synth_config *cfg, const person *p,
                       pctl_synth_event_fn on_event, void *ud) {
  char cookie[PCTL_SYNTH_VALUE_CAP];
  snprintf(cookie, sizeof cookie, "ck-%016llx", (unsigned long long)lp_rng_next(r));
  for (unsigned e = 0; e < p->events; e++) {
    pctl_synth_event ev;
    memset(&ev, 0, sizeof ev);
    ev.person = p->index;
    ev.ts = when(r, p);
    char(*v)[PCTL_SYNTH_VALUE_CAP] = ev.value;
    switch (lp_rng_below(r, 4)) {
    case 0: /* web: a cookie, which is sometimes reset; a login now and then */
      if (chance(r, 25)) snprintf(cookie, sizeof cookie, "ck-%016llx", (unsigned long long)lp_rng_next(r));
      ev.source = "web";
      snprintf(v[PCTL_SYNTH_COOKIE], PCTL_SYNTH_VALUE_CAP, "%s", cookie);
      if (p->has_login && chance(r, 50)) snprintf(v[PCTL_SYNTH_USER_ID], PCTL_SYNTH_VALUE_CAP, "%s", p->login);
      else if (p->has_email && chance(r, 30)) write_email(r, p, v[PCTL_SYNTH_EMAIL], PCTL_SYNTH_VALUE_CAP);
      break;
    case 1: /* app: a device and the login */
      ev.source = "app";
      snprintf(v[PCTL_SYNTH_DEVICE_ID], PCTL_SYNTH_VALUE_CAP, "%s",
               p->devices[lp_rng_below(r, p->device_count)]);
      if (p->has_login) snprintf(v[PCTL_SYNTH_USER_ID], PCTL_SYNTH_VALUE_CAP, "%s", p->login);
      junk_or(r, v[PCTL_SYNTH_USER_ID], PCTL_SYNTH_VALUE_CAP);
      break;
    case 2: /* store: phone or e-mail typed at a shared kiosk */
      ev.source = "store";
      if (p->has_phone) write_phone(r, p, v[PCTL_SYNTH_PHONE], PCTL_SYNTH_VALUE_CAP);
      else if (p->has_email) write_email(r, p, v[PCTL_SYNTH_EMAIL], PCTL_SYNTH_VALUE_CAP);
      if (cfg->kiosks > 0)
        snprintf(v[PCTL_SYNTH_DEVICE_ID], PCTL_SYNTH_VALUE_CAP, "kiosk-%03u",
                 (unsigned)lp_rng_below(r, cfg->kiosks));
      junk_or(r, v[PCTL_SYNTH_PHONE], PCTL_SYNTH_VALUE_CAP);
      break;
    default: /* crm: everything the customer service record holds */
      ev.source = "crm";
      if (p->has_login) snprintf(v[PCTL_SYNTH_USER_ID], PCTL_SYNTH_VALUE_CAP, "%s", p->login);
      if (p->has_email) write_email(r, p, v[PCTL_SYNTH_EMAIL], PCTL_SYNTH_VALUE_CAP);
      if (p->has_phone) write_phone(r, p, v[PCTL_SYNTH_PHONE], PCTL_SYNTH_VALUE_CAP);
      junk_or(r, v[PCTL_SYNTH_EMAIL], PCTL_SYNTH_VALUE_CAP);
      break;
    }
    int stop = on_event ? on_event(ud, &ev) : 0;
    if (stop) return stop;
  }
  return 0;
}

static int emit_orders(lp_rng *r, const person *p, uint64_t *next_order,
                       pctl_synth_order_fn on_order, void *ud) {
  for (unsigned o = 0; o < p->orders; o++) {
    pctl_synth_order ord;
    memset(&ord, 0, sizeof ord);
    ord.person = p->index;
    ord.ts = when(r, p);
    ord.order_id = (*next_order)++;
    /* Spend varies around the person's habit: 50% .. 150%, whole cents. */
    ord.amount = p->basket * (50 + (int64_t)lp_rng_below(r, 101)) / 100;
    if (chance(r, 4)) ord.amount = -ord.amount / 2; /* a partial refund */
    if (p->has_login) {
      ord.via = PCTL_SYNTH_USER_ID;
      snprintf(ord.value, sizeof ord.value, "%s", p->login);
    } else if (p->has_email) {
      ord.via = PCTL_SYNTH_EMAIL;
      write_email(r, p, ord.value, sizeof ord.value);
    } else {
      ord.via = PCTL_SYNTH_DEVICE_ID; /* a guest checkout in the app */
      snprintf(ord.value, sizeof ord.value, "%s", p->devices[0]);
    }
    int stop = on_order ? on_order(ud, &ord) : 0;
    if (stop) return stop;
  }
  return 0;
}

int pctl_synth_run(const pctl_synth_config *cfg, pctl_synth_event_fn on_event,
                   pctl_synth_order_fn on_order, void *ud) {
  if (cfg == NULL || cfg->people == 0 || cfg->end <= cfg->start) return -1;
  lp_rng r;
  lp_rng_seed(&r, cfg->seed);
  uint64_t next_order = 100000;
  for (uint32_t i = 0; i < cfg->people; i++) {
    person p;
    make_person(&r, cfg, i, &p);
    int stop = emit_events(&r, cfg, &p, on_event, ud);
    if (stop == 0) stop = emit_orders(&r, &p, &next_order, on_order, ud);
    if (stop) return stop;
  }
  return 0;
}
