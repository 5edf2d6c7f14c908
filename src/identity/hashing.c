/*
 * Identity: turning a raw value into the stored keyed hash.
 * SPDX-License-Identifier: MIT
 */
#include "core/utf8.h"
#include "identity/hashing.h"
#include "identity/normalize.h"
#include "identity/state.h"

/* Seeds of the internal, unkeyed hashes: distinct from the identifier
 * hash so that neither a blocklist entry nor a tombstone equals the
 * stored hash of the value it stands for. */
#define IDG_BLOCK_SEED UINT64_C(0x626c6f636b6c6973)
#define IDG_TOMB_SEED UINT64_C(0x746f6d6273746f6e)

/* type name, one zero byte, value: the name keeps "123" as a user id apart
 * from "123" as a device id. */
static size_t compose(const idg_type *t, const char *v, size_t len, uint8_t *buf) {
  memcpy(buf, t->name, t->name_len);
  buf[t->name_len] = 0;
  memcpy(buf + t->name_len + 1, v, len);
  return t->name_len + 1 + len;
}

/* The configured hash of `buf` (n bytes), which has IDG_KEY_CAP bytes of
 * room in front of it for the built-in key. */
static int hash_composed(const lp_idgraph *h, uint8_t *room, size_t n, lp_hash128 *out,
                         bool quiet) {
  uint8_t *buf = room + IDG_KEY_CAP;
  if (h->hash_fn != NULL) {
    uint8_t d[LP_IDGRAPH_HASH_SIZE];
    if (!quiet) idg_busy_begin(h);
    int rc = h->hash_fn(h->hash_ud, buf, n, d);
    if (!quiet) idg_busy_end(h);
    if (rc != 0)
      return quiet ? LP_EIO
                   : lp_error_set(LP_ERR_OF_CONST(h), LP_EIO, "host hash function failed");
    out->lo = lp_get_u64le(d);
    out->hi = lp_get_u64le(d + 8);
    return LP_OK;
  }
  uint8_t *start = buf - h->key_len;
  memcpy(start, h->key, h->key_len);
  *out = lp_hash128_seeded(start, h->key_len + n, h->key_len);
  return LP_OK;
}

static int hash_value(const lp_idgraph *h, uint32_t type, const char *v, size_t len,
                      lp_hash128 *out, bool quiet) {
  uint8_t room[IDG_KEY_CAP + IDG_NAME_CAP + 1 + LP_IDGRAPH_MAX_VALUE_LEN];
  size_t n = compose(&h->types[type], v, len, room + IDG_KEY_CAP);
  return hash_composed(h, room, n, out, quiet);
}

int idg_hash(const lp_idgraph *h, uint32_t type, const char *v, size_t len, lp_hash128 *out) {
  return hash_value(h, type, v, len, out, false);
}

int idg_hash_text(const lp_idgraph *h, const char *text, lp_hash128 *out) {
  uint8_t room[IDG_KEY_CAP + 1 + IDG_NAME_CAP];
  size_t n = strlen(text);
  if (n > IDG_NAME_CAP) n = IDG_NAME_CAP;
  room[IDG_KEY_CAP] = 0; /* no type name: cannot equal an identifier's input */
  memcpy(room + IDG_KEY_CAP + 1, text, n);
  return hash_composed(h, room, n + 1, out, false);
}

lp_hash128 idg_block_hash(const idg_type *t, const char *v, size_t len) {
  uint8_t buf[IDG_NAME_CAP + 1 + LP_IDGRAPH_MAX_VALUE_LEN];
  return lp_hash128_seeded(buf, compose(t, v, len, buf), IDG_BLOCK_SEED);
}

lp_hash128 idg_tomb_hash(lp_hash128 id_hash) {
  uint8_t b[16];
  lp_put_u64le(b, id_hash.lo);
  lp_put_u64le(b + 8, id_hash.hi);
  return lp_hash128_seeded(b, sizeof b, IDG_TOMB_SEED);
}

/* Plain ASCII without NUL, 8 bytes a step: most identifiers are, and
 * then the full UTF-8 check is not needed. */
static bool plain_ascii(const char *v, size_t len) {
  const uint64_t high = UINT64_C(0x8080808080808080), ones = UINT64_C(0x0101010101010101);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, v + i, 8);
    if ((w & high) != 0 || ((w - ones) & ~w & high) != 0) return false;
  }
  for (; i < len; i++)
    if (v[i] == 0 || (unsigned char)v[i] >= 0x80) return false;
  return true;
}

int idg_prepare(const lp_idgraph *h, uint32_t type, const char *v, size_t len, char *norm,
                size_t *norm_len, lp_hash128 *hash) {
  return idg_prepare_q(h, type, v, len, norm, norm_len, hash, false);
}

/* The message of a failed check, unless quiet (then only the code). */
#define IDG_FAIL(quiet, err, code, ...) ((quiet) ? (code) : lp_error_set((err), (code), __VA_ARGS__))

int idg_prepare_q(const lp_idgraph *h, uint32_t type, const char *v, size_t len, char *norm,
                  size_t *norm_len, lp_hash128 *hash, bool quiet) {
  const idg_type *t = &h->types[type];
  lp_error *err = LP_ERR_OF_CONST(h);
  if (len > LP_IDGRAPH_MAX_VALUE_LEN)
    return IDG_FAIL(quiet, err, LP_EINVAL, "invalid %s value: %zu bytes (at most %d)", t->name,
                    len, LP_IDGRAPH_MAX_VALUE_LEN);
  size_t bad = 0;
  int u = plain_ascii(v, len) ? LP_UTF8_OK : lp_utf8_check(v, len, &bad);
  if (u != LP_UTF8_OK)
    return IDG_FAIL(quiet, err, LP_EINVAL, "invalid %s value: it %s (byte %zu)", t->name,
                    lp_utf8_reason(u), bad);
  const char *why;
  if (idg_normalize_q(h, t, v, len, norm, norm_len, &why, quiet) != LP_OK)
    return IDG_FAIL(quiet, err, LP_EINVAL, "invalid %s value: %s", t->name, why);
  if ((h->default_blocklist && idg_default_blocked(t, norm, *norm_len)) ||
      (h->blocklist.len > 0 &&
       lp_map128_get(&h->blocklist, idg_block_hash(t, norm, *norm_len), NULL)))
    return IDG_FAIL(quiet, err, LP_ECONFLICT, "%s value is on the blocklist", t->name);
  return hash_value(h, type, norm, *norm_len, hash, quiet);
}

int idg_lookup(const lp_idgraph *h, const lp_idgraph_ident *id, uint32_t *node,
               lp_hash128 *hash) {
  lp_error *err = LP_ERR_OF_CONST(h);
  if (id == NULL) return lp_error_set(err, LP_EINVAL, "identifier is NULL");
  if (id->type >= h->ntypes)
    return lp_error_set(err, LP_EINVAL, "unknown identifier type %u", (unsigned)id->type);
  if (id->value == NULL) return lp_error_set(err, LP_EINVAL, "identifier value is NULL");
  char norm[LP_IDGRAPH_MAX_VALUE_LEN];
  size_t nlen;
  int rc = idg_prepare(h, id->type, id->value, id->len, norm, &nlen, hash);
  if (rc == LP_ECONFLICT || rc == LP_EINVAL) {
    char why[LP_ERRMSG_CAP];
    memcpy(why, lp_error_msg(err), sizeof why);
    why[sizeof why - 1] = 0;
    return lp_error_set(err, LP_ENOTFOUND, "%s", why);
  }
  if (rc != LP_OK) return rc;
  if (!idg_index_get(&h->st, *hash, node))
    return lp_error_set(err, LP_ENOTFOUND, "no such %s identifier", h->types[id->type].name);
  return LP_OK;
}

static const char fingerprint_text[] = "libprofile identity key check";

int idg_key_fingerprint(const lp_idgraph *h, uint64_t *fp) {
  lp_hash128 hash = {0, 0};
  int rc = idg_hash_text(h, fingerprint_text, &hash);
  /* Rehashed so that the fingerprint is not the stored hash of a value. */
  *fp = idg_tomb_hash(hash).lo;
  return rc;
}
