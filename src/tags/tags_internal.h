/*
 * Internal: the tag state shared by the files of src/tags/.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_TAGS_INTERNAL_H
#define LP_TAGS_INTERNAL_H

#include "core/bitmap.h"
#include "core/error.h"
#include "core/map.h"
#include "core/mem.h"
#include "core/strpool.h"
#include "core/vec.h"
#include "libprofile/tags.h"

/* A missing numeric value in columns and dense scratch (INT64_MIN is not
 * a storable value for that reason). */
#define TAGS_MISSING INT64_MIN

/* Ordinals are processed in blocks of this many profiles (16 words). */
#define TAGS_BLOCK 1024u
#define TAGS_BLOCK_WORDS (TAGS_BLOCK / 64u)

/* Owned, NUL-terminated text (p is NULL when len is 0). */
typedef struct tags_str {
  char *p;
  size_t len;
} tags_str;

/* One stored value of a tag for one profile. num is the value (strings:
 * id in the tag's pool; flags: 1). */
typedef struct tags_rec {
  int64_t num;
  int64_t expires_at;
  int64_t set_at;
  uint32_t ord;
  uint32_t pad;
} tags_rec;

/* ---- compiled rules and queries (tags_rule.c) ---- */
enum {
  OP_TRUE = 1, OP_FALSE, OP_TAG, OP_ATTR, OP_TAGVAL, OP_NUM, OP_STR, OP_ASOF,
  OP_CMP, OP_IN, OP_AND, OP_OR, OP_NOT
};
enum { CMP_EQ = 0, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };
enum { TY_BOOL = 1, TY_NUM, TY_STR, TY_TIME };

typedef struct tags_node {
  uint8_t op;
  uint8_t type;
  uint8_t cmp;   /* CMP: CMP_*; IN: 1 for "not in" */
  uint8_t pad;
  uint32_t scale; /* TY_NUM */
  uint32_t a, b;  /* children; TAG/TAGVAL/ATTR: a = id; IN: a = child, b = list count */
  uint32_t len;   /* STR: bytes */
  int64_t k;      /* NUM: value; STR: offset in strs; IN: first list index */
  uint32_t pos, end; /* source byte span (explain) */
} tags_node;

/* One literal of an `in` list. */
typedef struct tags_lit {
  int64_t num;    /* NUM value, or STR offset */
  uint32_t scale;
  uint32_t len;   /* STR bytes */
} tags_lit;

typedef struct tags_prog {
  size_t bytes;     /* size of the block this struct heads */
  tags_node *nodes;
  tags_lit *list;
  char *strs;
  uint32_t n, nlist, root, depth;
  size_t nstrs;
} tags_prog;

/* ---- taxonomy, attributes ---- */
typedef struct tags_tag {
  tags_str name, category, description, owner, purpose, consent_for, rule_text;
  tags_prog *prog;       /* NULL: host-set */
  uint32_t type, merge, sensitivity, scale, retired;
  int64_t ttl;
  uint64_t since_version, changed_version;
  lp_bitmap has;         /* ordinals holding a value (live or expired) */
  lp_map64 idx;          /* ordinal -> index in recs (valued tags; flags with expiry) */
  lp_vec recs;           /* tags_rec */
  uint64_t n_expiring;   /* recs with expires_at != LP_TAGS_NEVER */
  lp_strpool strs;       /* STRING values */
} tags_tag;

typedef struct tags_attr {
  tags_str name;
  uint32_t type, scale;
  int64_t *col;          /* cap entries, TAGS_MISSING when unset */
  size_t cap;
  lp_strpool strs;       /* STRING values (col holds ids) */
} tags_attr;

struct lp_tags {
  lp_mem mem; /* first: see lp_mem_new_handle */
  lp_error err;
  uint32_t busy;
  int64_t min_audience;
  uint64_t tax_version;
  lp_vec tags;   /* tags_tag */
  lp_vec attrs;  /* tags_attr */
  lp_map64 index; /* profile id -> ordinal */
  lp_vec ids;    /* uint64 per ordinal; 0 in holes */
  lp_bitmap live; /* ordinals in use */
  lp_vec holes;  /* uint32 min-heap of free ordinals */
  uint64_t data_gen; /* bumped by every change that computed tags may see */
  uint64_t eval_gen;
  bool evaluated;
  int64_t eval_as_of;
};

struct lp_tags_audience {
  lp_mem mem; /* first */
  lp_error err;
  uint32_t busy;
  uint64_t *ids; /* sorted ascending */
  size_t n;
  size_t pos;
};

static inline tags_tag *tags_tag_at(const lp_tags *h, uint32_t id) {
  return (tags_tag *)lp_vec_at(&h->tags, id);
}
static inline tags_attr *tags_attr_at(const lp_tags *h, uint32_t id) {
  return (tags_attr *)lp_vec_at(&h->attrs, id);
}
static inline uint32_t tags_n_ord(const lp_tags *h) { return (uint32_t)h->ids.len; }
static inline uint64_t tags_id_of(const lp_tags *h, uint32_t ord) {
  return ((const uint64_t *)h->ids.data)[ord];
}
static inline bool tags_find_ord(const lp_tags *h, uint64_t id, uint32_t *ord) {
  uint64_t v;
  if (!lp_map64_get(&h->index, id, &v)) return false;
  *ord = (uint32_t)v;
  return true;
}
static inline bool tags_valued(const tags_tag *t) { return t->type != LP_TAGS_FLAG; }

/* Snapshot sections (docs/tags.md). */
#define TAGS_SEC_OPTS LP_FOURCC('O', 'P', 'T', 'S')
#define TAGS_SEC_TAXONOMY LP_FOURCC('T', 'A', 'X', 'O')
#define TAGS_SEC_ATTRS LP_FOURCC('A', 'T', 'T', 'R')
#define TAGS_SEC_PROFILES LP_FOURCC('P', 'R', 'O', 'F')
#define TAGS_SEC_VALUES LP_FOURCC('T', 'V', 'A', 'L')
#define TAGS_SEC_COLUMN LP_FOURCC('A', 'C', 'O', 'L')

/* ---- text helpers (tags_handle.c) ---- */
/* Validate a name (1..LP_TAGS_MAX_NAME bytes, UTF-8) or text (0..max). */
int tags_check_text(lp_error *e, const char *what, const char *s, size_t max, bool required);
int tags_str_set(const lp_mem *m, tags_str *dst, const char *s, size_t len);
void tags_str_free(const lp_mem *m, tags_str *s);
static inline const char *tags_str_c(const tags_str *s) { return s->p ? s->p : ""; }
static inline bool tags_str_eq(const tags_str *s, const char *p, size_t len) {
  return s->len == len && (len == 0 || memcmp(s->p, p, len) == 0);
}
/* Name lookups (linear: taxonomies are small). Retired tags are found too. */
bool tags_lookup_tag(const lp_tags *h, const char *s, size_t len, uint32_t *id);
bool tags_lookup_attr(const lp_tags *h, const char *s, size_t len, uint32_t *id);
void tags_tag_release(const lp_mem *m, tags_tag *t);
void tags_attr_release(const lp_mem *m, tags_attr *a);
void tags_tag_init(tags_tag *t);

/* ---- profiles and values (tags_values.c) ---- */
/* Ordinal of id, adding the profile if new. LP_OK / LP_ELIMIT / LP_ENOMEM
 * (unchanged on failure). */
int tags_ensure_profile(lp_tags *h, uint64_t id, uint32_t *ord, bool *added);
/* Undo a tags_ensure_profile that added ord (no values were stored). */
void tags_drop_new_profile(lp_tags *h, uint64_t id, uint32_t ord);
/* The rec of tag t for ordinal ord, or NULL. */
tags_rec *tags_rec_of(const tags_tag *t, uint32_t ord);
/* Remove every value of tag t (used by set_rule and retire). LP_OK or
 * LP_ENOMEM (unchanged). */
int tags_clear_values(lp_tags *h, tags_tag *t);
/* Whether ord holds a live value of t at as_of; *rec gets its record. */
bool tags_live(const tags_tag *t, uint32_t ord, int64_t as_of, const tags_rec **rec);

/* ---- rules (tags_rule.c) ---- */
/* Compile `text` against h. want: TY_BOOL, or a value type (for a valued
 * computed tag: TY_NUM with max scale, TY_STR, TY_TIME). LP_OK and *out,
 * or an error with a message naming the offset. */
int tags_compile(const lp_tags *h, lp_error *e, const char *text, size_t len, uint32_t want,
                 uint32_t want_scale, tags_prog **out);
void tags_prog_free(const lp_mem *m, tags_prog *p);
/* Canonical text of a program (current names) into a new tags_str. */
int tags_prog_text(const lp_tags *h, const tags_prog *p, tags_str *out);
/* Does p use tag id (directly)? */
bool tags_prog_uses(const tags_prog *p, uint32_t tag);
/* May a tag of this type use this merge policy? */
bool tags_merge_ok(uint32_t type, uint32_t merge);
/* The compile target of a computed tag of type `type`. */
uint32_t tags_want_type(uint32_t type);
/* Write node n of p in canonical form into buf (explain); returns bytes
 * that the full text takes (may exceed cap; then buf holds a prefix). */
size_t tags_node_text(const lp_tags *h, const tags_prog *p, uint32_t n, char *buf, size_t cap);

/* Exact comparison of a * 10^-sa with b * 10^-sb: -1, 0, 1. */
int tags_cmp_scaled(int64_t a, uint32_t sa, int64_t b, uint32_t sb);
/* Does comparison result c (-1, 0, 1) satisfy CMP_* op? The op with its
 * operands swapped. Bytewise order of two strings (-1, 0, 1). */
bool tags_cmp_holds(int c, uint8_t op);
uint8_t tags_cmp_flip(uint8_t op);
int tags_bytes_cmp(const char *a, size_t la, const char *b, size_t lb);
/* 10^p for p <= 18. */
int64_t tags_pow10(uint32_t p);

/* ---- evaluation (tags_eval.c) ---- */
/* Dense-evaluation context: live bits and values of the tags a program
 * uses, prepared constants, scratch. */
typedef struct tags_dense tags_dense;
int tags_dense_create(const lp_tags *h, lp_error *e, int64_t as_of, tags_dense **out);
void tags_dense_free(tags_dense *d);
/* Make the dense columns that p needs available. */
int tags_dense_need(tags_dense *d, const tags_prog *p);
/* Evaluate bool node `node` of p over every ordinal into words (n_ord
 * rounded up to a whole block, bits beyond the universe cleared). */
int tags_dense_eval(tags_dense *d, const tags_prog *p, uint32_t node, uint64_t *words);
size_t tags_dense_words(const lp_tags *h);
/* Words -> bitmap (replacing *out). */
int tags_bits_to_bitmap(const lp_mem *m, const uint64_t *words, size_t nwords, lp_bitmap *out);

/* Scalar evaluation for one ordinal (explain). Values: *present, *v. */
bool tags_scalar_bool(const lp_tags *h, const tags_prog *p, uint32_t node, uint32_t ord,
                      int64_t as_of);

/* Live bitmap of tag t at as_of: *res points at t->has or at tmp. */
int tags_live_bitmap(const lp_tags *h, const tags_tag *t, int64_t as_of, lp_bitmap *tmp,
                     const lp_bitmap **res);

/* ---- invariant checker (tags_check.c) ---- */
int tags_check(const lp_tags *h);

#endif /* LP_TAGS_INTERNAL_H */
