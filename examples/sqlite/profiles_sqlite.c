/*
 * Example: keep a profile store in SQLite, as a CRM backend would.
 *
 * The store (lp_profiles) is saved into a BLOB through the library's
 * writer callback and read back through its reader callback, both
 * incrementally with SQLite's blob I/O: the size is known first (a
 * counting writer), the row gets a zeroblob of that size, then every chunk
 * the library writes goes to its offset with sqlite3_blob_write(), and a
 * load pulls chunks with sqlite3_blob_read(). The snapshot never has to be
 * in memory whole. profiles.csv (written by `profilectl run`) is loaded
 * into a `profiles` table that the CRM queries with SQL.
 *
 *   profiles_sqlite DB KEY STATE PROFILES_CSV [TYPE:VALUE]
 *
 * DB is created or updated; KEY is the hash key the store was made with
 * (`profilectl run --key`, default "profilectl identity"); STATE is
 * DIR/state.lps and PROFILES_CSV DIR/profiles.csv of a run. With
 * TYPE:VALUE the person holding that identifier is erased from the store
 * in the database (tombstoned, facts deleted, the BLOB rewritten) and
 * their row leaves the profiles table.
 *
 * Build against an installed libprofile and Debian's libsqlite3-dev:
 *   cc profiles_sqlite.c $(pkg-config --cflags --libs libprofile sqlite3)
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libprofile.h>
#include <sqlite3.h>

#define STORE_NAME "profiles"

static int fail(const char *what, const char *why) {
  fprintf(stderr, "profiles_sqlite: %s: %s\n", what, why);
  return 1;
}

/* ---- the snapshot as a BLOB ---- */

/* First pass: count the bytes, so the row can be given its final size. */
static int count_bytes(void *ud, const void *buf, size_t len) {
  (void)buf;
  *(uint64_t *)ud += len;
  return LP_OK;
}

typedef struct blob_io {
  sqlite3_blob *blob;
  int offset;   /* next byte */
  int size;     /* bytes of the BLOB */
  int chunks;   /* callback calls */
} blob_io;

static int blob_writer(void *ud, const void *buf, size_t len) {
  blob_io *b = ud;
  if (len > (size_t)(b->size - b->offset)) return LP_EIO; /* larger than counted */
  if (len > 0 && sqlite3_blob_write(b->blob, buf, (int)len, b->offset) != SQLITE_OK) return LP_EIO;
  b->offset += (int)len;
  b->chunks++;
  return LP_OK;
}

static int blob_reader(void *ud, void *buf, size_t cap, size_t *got) {
  blob_io *b = ud;
  size_t left = (size_t)(b->size - b->offset), n = cap < left ? cap : left;
  if (n > 0 && sqlite3_blob_read(b->blob, buf, (int)n, b->offset) != SQLITE_OK) return LP_EIO;
  b->offset += (int)n;
  b->chunks++;
  *got = n;
  return LP_OK;
}

/* Save the store into the row STORE_NAME of table `store`. */
static int save_to_db(sqlite3 *db, const lp_profiles *h, int *chunks) {
  uint64_t size = 0;
  if (lp_profiles_save(h, count_bytes, &size) != LP_OK) return fail("save", lp_profiles_errmsg(h));
  if (size > (uint64_t)sqlite3_limit(db, SQLITE_LIMIT_LENGTH, -1) || size > INT_MAX)
    return fail("save", "the snapshot is larger than SQLite's BLOB limit");
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db,
                              "INSERT INTO store(name, bytes, snapshot) VALUES(?1, ?2, zeroblob(?2)) "
                              "ON CONFLICT(name) DO UPDATE SET bytes = ?2, snapshot = zeroblob(?2)",
                              -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, STORE_NAME, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
  if (rc == SQLITE_OK) rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) return fail("store row", sqlite3_errmsg(db));
  sqlite3_int64 rowid = 0;
  rc = sqlite3_prepare_v2(db, "SELECT rowid FROM store WHERE name = ?1", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, STORE_NAME, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) rowid = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  blob_io b = {NULL, 0, (int)size, 0};
  if (sqlite3_blob_open(db, "main", "store", "snapshot", rowid, 1, &b.blob) != SQLITE_OK)
    return fail("blob open", sqlite3_errmsg(db));
  int lrc = lp_profiles_save(h, blob_writer, &b);
  sqlite3_blob_close(b.blob);
  if (lrc != LP_OK) return fail("save into the BLOB", lp_profiles_errmsg(h));
  if (b.offset != b.size) return fail("save into the BLOB", "fewer bytes than counted");
  *chunks = b.chunks;
  return 0;
}

/* Load the store from the row, into @p h (its key set). */
static int load_from_db(sqlite3 *db, lp_profiles *h, int *size, int *chunks) {
  sqlite3_stmt *st = NULL;
  sqlite3_int64 rowid = 0;
  int rc = sqlite3_prepare_v2(db, "SELECT rowid FROM store WHERE name = ?1", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, STORE_NAME, -1, SQLITE_STATIC);
  int found = rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW;
  if (found) rowid = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  if (!found) return fail("load", "no saved store in the database");
  blob_io b = {NULL, 0, 0, 0};
  if (sqlite3_blob_open(db, "main", "store", "snapshot", rowid, 0, &b.blob) != SQLITE_OK)
    return fail("blob open", sqlite3_errmsg(db));
  b.size = sqlite3_blob_bytes(b.blob);
  int lrc = lp_profiles_load(h, blob_reader, &b);
  sqlite3_blob_close(b.blob);
  if (lrc != LP_OK) return fail("load from the BLOB", lp_profiles_errmsg(h));
  *size = b.size;
  *chunks = b.chunks;
  return 0;
}

/* ---- profiles.csv into a table ---- */

/* One RFC 4180 record: fields into *cells (NUL-terminated, in buf). */
static int read_record(FILE *f, char **buf, size_t *cap, size_t *offs, size_t maxf, size_t *nf) {
  size_t len = 0, n = 0;
  int c = fgetc(f), quoted = 0;
  if (c == EOF) return 0;
  offs[n++] = 0;
  for (;; c = fgetc(f)) {
    if (len + 2 > *cap) {
      size_t nc = *cap ? *cap * 2 : 1024;
      char *p = realloc(*buf, nc);
      if (p == NULL) return -1;
      *buf = p;
      *cap = nc;
    }
    if (quoted) {
      if (c == EOF) return -1;
      if (c == '"') {
        int d = fgetc(f);
        if (d != '"') {
          quoted = 0;
          ungetc(d, f);
          continue;
        }
      }
      (*buf)[len++] = (char)c;
    } else if (c == '"') {
      quoted = 1;
    } else if (c == ',' || c == '\n' || c == EOF) {
      (*buf)[len++] = '\0';
      if (c != ',') break;
      if (n == maxf) return -1;
      offs[n++] = len;
    } else if (c != '\r') {
      (*buf)[len++] = (char)c;
    }
  }
  *nf = n;
  return 1;
}

static const char *column_type(const char *name) {
  static const char *const integers[] = {"identifiers", "recency_days", "frequency", "r", "f",
                                         "m", "cluster", NULL};
  static const char *const reals[] = {"p_alive", "expected_purchases", "clv", NULL};
  for (size_t i = 0; integers[i]; i++)
    if (strcmp(name, integers[i]) == 0) return "INTEGER";
  for (size_t i = 0; reals[i]; i++)
    if (strcmp(name, reals[i]) == 0) return "REAL";
  if (strcmp(name, "monetary") == 0) return "NUMERIC";
  return "TEXT"; /* profile_id (64-bit unsigned), dates, names, tags */
}

static int load_csv(sqlite3 *db, const char *path, sqlite3_int64 *rows) {
  enum { MAXF = 512 };
  FILE *f = fopen(path, "rb");
  if (f == NULL) return fail(path, "cannot open");
  char *buf = NULL, *sql = NULL;
  size_t cap = 0, offs[MAXF], nh = 0, nf = 0;
  int status = 0;
  if (read_record(f, &buf, &cap, offs, MAXF, &nh) != 1 || strcmp(buf, "profile_id") != 0) {
    status = fail(path, "no header starting with profile_id");
    goto out;
  }
  /* CREATE TABLE profiles("profile_id" TEXT PRIMARY KEY, "identifiers" INTEGER, ...) */
  size_t sz = 64;
  for (size_t i = 0; i < nh; i++) sz += 2 * strlen(buf + offs[i]) + 32;
  sql = malloc(sz);
  char *ins = malloc(sz + 8 * nh);
  if (sql == NULL || ins == NULL) {
    free(ins);
    status = fail(path, "out of memory");
    goto out;
  }
  size_t o = (size_t)snprintf(sql, sz, "DROP TABLE IF EXISTS profiles; CREATE TABLE profiles(");
  size_t q = (size_t)snprintf(ins, sz, "INSERT INTO profiles VALUES(");
  for (size_t i = 0; i < nh; i++) {
    const char *name = buf + offs[i];
    o += (size_t)snprintf(sql + o, sz - o, "%s\"", i ? ", " : "");
    for (const char *p = name; *p; p++) {
      if (*p == '"') sql[o++] = '"';
      sql[o++] = *p;
    }
    o += (size_t)snprintf(sql + o, sz - o, "\" %s%s", column_type(name), i == 0 ? " PRIMARY KEY" : "");
    q += (size_t)snprintf(ins + q, sz + 8 * nh - q, "%s?", i ? "," : "");
  }
  snprintf(sql + o, sz - o, ")");
  snprintf(ins + q, sz + 8 * nh - q, ")");
  char *err = NULL;
  sqlite3_stmt *st = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK ||
      sqlite3_prepare_v2(db, ins, -1, &st, NULL) != SQLITE_OK) {
    status = fail("profiles table", err != NULL ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    free(ins);
    goto out;
  }
  free(ins);
  int r;
  while (status == 0 && (r = read_record(f, &buf, &cap, offs, MAXF, &nf)) == 1) {
    if (nf != nh) {
      status = fail(path, "a row's field count differs from the header's");
      break;
    }
    sqlite3_reset(st);
    for (size_t i = 0; i < nf; i++) {
      const char *v = buf + offs[i];
      if (*v == '\0') sqlite3_bind_null(st, (int)i + 1);
      else sqlite3_bind_text(st, (int)i + 1, v, -1, SQLITE_TRANSIENT);
    }
    if (sqlite3_step(st) != SQLITE_DONE) status = fail("insert", sqlite3_errmsg(db));
    else (*rows)++;
  }
  if (status == 0 && r < 0) status = fail(path, "malformed CSV");
  sqlite3_finalize(st);
out:
  free(sql);
  free(buf);
  fclose(f);
  return status;
}

/* ---- the job ---- */

static int forget(sqlite3 *db, lp_profiles *h, const char *spec) {
  const char *colon = strchr(spec, ':');
  char type[LP_IDGRAPH_MAX_TYPE_NAME_LEN + 1];
  size_t tl = colon ? (size_t)(colon - spec) : 0;
  if (tl == 0 || tl >= sizeof type) return fail("forget", "expected TYPE:VALUE");
  memcpy(type, spec, tl);
  type[tl] = '\0';
  lp_idgraph_ident id = {0, colon + 1, strlen(colon + 1)};
  uint64_t pid = 0;
  if (lp_idgraph_find_type(lp_profiles_idgraph(h), type, &id.type) != LP_OK)
    return fail("forget", "unknown identifier type");
  if (lp_idgraph_profile_of(lp_profiles_idgraph(h), id.type, id.value, id.len, &pid) != LP_OK)
    return fail("forget", "no profile holds that identifier");
  if (lp_profiles_forget_profile(h, pid) != LP_OK) return fail("forget", lp_profiles_errmsg(h));
  int chunks = 0;
  if (save_to_db(db, h, &chunks) != 0) return 1;
  char text[24];
  snprintf(text, sizeof text, "%" PRIu64, pid);
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "DELETE FROM profiles WHERE profile_id = ?1", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) return fail("delete", sqlite3_errmsg(db));
  printf("erased profile %s: the BLOB was rewritten in %d chunks, its row deleted\n", text, chunks);
  return 0;
}

static int print_segments(sqlite3 *db) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db,
                         "SELECT segment, COUNT(*), printf('%.2f', SUM(monetary)) FROM profiles "
                         "WHERE frequency > 0 GROUP BY segment ORDER BY SUM(monetary) DESC, segment",
                         -1, &st, NULL) != SQLITE_OK)
    return fail("query", sqlite3_errmsg(db));
  printf("%-20s %9s %14s\n", "segment", "customers", "revenue");
  while (sqlite3_step(st) == SQLITE_ROW)
    printf("%-20s %9lld %14s\n", (const char *)sqlite3_column_text(st, 0),
           (long long)sqlite3_column_int64(st, 1), (const char *)sqlite3_column_text(st, 2));
  sqlite3_finalize(st);
  return 0;
}

static int exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK) return 0;
  int r = fail(sql, err != NULL ? err : sqlite3_errmsg(db));
  sqlite3_free(err);
  return r;
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: profiles_sqlite DB KEY STATE PROFILES_CSV [TYPE:VALUE]\n");
    return 2;
  }
  const char *dbpath = argv[1], *key = argv[2], *state = argv[3], *csv = argv[4];
  sqlite3 *db = NULL;
  lp_profiles *h = NULL, *back = NULL;
  int status = 0;
  if (sqlite3_open(dbpath, &db) != SQLITE_OK) {
    status = fail(dbpath, sqlite3_errmsg(db));
    goto done;
  }
  status = exec(db, "CREATE TABLE IF NOT EXISTS store(name TEXT PRIMARY KEY, bytes INTEGER, "
                    "snapshot BLOB)");
  /* the run's store, from its file */
  if (status == 0 && (lp_profiles_create(NULL, &h) != LP_OK || lp_profiles_create(NULL, &back) != LP_OK ||
                      lp_profiles_set_key(h, key, strlen(key)) != LP_OK ||
                      lp_profiles_set_key(back, key, strlen(key)) != LP_OK))
    status = fail("store", "cannot create (or bad key)");
  FILE *f = status == 0 ? fopen(state, "rb") : NULL;
  if (status == 0 && f == NULL) status = fail(state, "cannot open");
  if (status == 0 && lp_profiles_load(h, lp_file_read, f) != LP_OK)
    status = fail(state, lp_profiles_errmsg(h));
  if (f != NULL) fclose(f);
  /* into SQLite and back out */
  int wchunks = 0, rchunks = 0, size = 0;
  if (status == 0) status = exec(db, "BEGIN");
  if (status == 0) status = save_to_db(db, h, &wchunks);
  if (status == 0) status = exec(db, "COMMIT");
  if (status == 0) status = load_from_db(db, back, &size, &rchunks);
  lp_membuf *m1 = NULL, *m2 = NULL;
  if (status == 0 && (lp_membuf_create(NULL, &m1) != LP_OK || lp_membuf_create(NULL, &m2) != LP_OK ||
                      lp_profiles_save(h, lp_membuf_write, m1) != LP_OK ||
                      lp_profiles_save(back, lp_membuf_write, m2) != LP_OK))
    status = fail("compare", "cannot save");
  if (status == 0 && (lp_membuf_size(m1) != lp_membuf_size(m2) ||
                      memcmp(lp_membuf_data(m1), lp_membuf_data(m2), lp_membuf_size(m1)) != 0))
    status = fail("compare", "the store read back from SQLite saves other bytes");
  lp_membuf_free(m1);
  lp_membuf_free(m2);
  uint64_t count = 0;
  if (status == 0 && lp_profiles_count(back, &count) != LP_OK) status = fail("count", lp_profiles_errmsg(back));
  if (status == 0)
    printf("store: %d bytes written to SQLite in %d chunks and read back in %d chunks; "
           "%" PRIu64 " profiles, the same bytes\n", size, wchunks, rchunks, count);
  /* the CRM's table */
  sqlite3_int64 rows = 0;
  if (status == 0) status = exec(db, "BEGIN");
  if (status == 0) status = load_csv(db, csv, &rows);
  if (status == 0) status = exec(db, "COMMIT");
  if (status == 0 && (uint64_t)rows != count)
    status = fail(csv, "the table's rows differ from the store's profiles");
  if (status == 0) printf("profiles table: %lld rows\n", (long long)rows);
  if (status == 0) status = print_segments(db);
  if (status == 0 && argc == 6) {
    status = exec(db, "BEGIN");
    if (status == 0) status = forget(db, back, argv[5]);
    if (status == 0) status = exec(db, "COMMIT");
  }
done:
  lp_profiles_free(h);
  lp_profiles_free(back);
  sqlite3_close(db);
  return status;
}
