/*
 * libprofile - io: reader/writer callbacks, buffer and FILE adapters,
 * the snapshot container.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file io.h
 * @brief Host-owned storage: I/O callbacks, adapters and the snapshot
 * container every module saves to.
 *
 * libprofile never opens a file. A handle is saved by handing bytes to an
 * #lp_writer and loaded by pulling bytes from an #lp_reader; both carry a
 * `void *ud` of the host's. Adapters are provided for growable memory
 * buffers (#lp_membuf), fixed memory (#lp_memreader) and C `FILE *`
 * streams (lp_file_write(), lp_file_read()).
 *
 * The snapshot container (format in docs/format.md) is a header followed by
 * checksummed sections and an end record. #lp_snapshot_writer and
 * #lp_snapshot_reader expose it so hosts can store their own data in the
 * same format; modules use it for their `save`/`load` functions.
 */
#ifndef LIBPROFILE_IO_H
#define LIBPROFILE_IO_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Writer callback: consume exactly @p len bytes from @p buf.
 *
 * Return 0 when all bytes were taken. Any other value is failure: a
 * negative `LP_E*` code is passed on to the caller unchanged (so an
 * out-of-memory buffer reports #LP_ENOMEM), anything else becomes #LP_EIO.
 * @p buf is only valid during the call.
 */
typedef int (*lp_writer)(void *ud, const void *buf, size_t len);

/**
 * @brief Reader callback: copy up to @p cap bytes into @p buf and store the
 * count in @p *got.
 *
 * Return 0 on success; `*got == 0` means end of data. Short reads are fine:
 * the library calls again for the rest. A non-zero return is failure (a
 * negative `LP_E*` code is passed on, anything else becomes #LP_EIO); a
 * reported count above @p cap is treated as #LP_EIO.
 */
typedef int (*lp_reader)(void *ud, void *buf, size_t cap, size_t *got);

/* ------------------------------------------------------------------ */
/** @name Growable memory buffer
 *  @{ */

/** @brief Opaque growable byte buffer that uses a host allocator. */
typedef struct lp_membuf lp_membuf;

/**
 * @brief Create an empty buffer.
 * @param alloc Allocator for the buffer and its bytes; NULL for the C
 *              library. Copied: need not outlive the call.
 * @param out   Receives the new buffer (owned by the caller; free with
 *              lp_membuf_free()). Set to NULL on failure.
 * @return #LP_OK, #LP_EINVAL (NULL @p out or bad allocator), #LP_ENOMEM.
 * Thread-safety: see core.h (one thread per handle).
 */
LP_API int lp_membuf_create(const lp_allocator *alloc, lp_membuf **out);

/**
 * @brief Free a buffer and its bytes. NULL is a no-op.
 * @param buf Buffer from lp_membuf_create(); invalid after the call.
 */
LP_API void lp_membuf_free(lp_membuf *buf);

/**
 * @brief #lp_writer that appends to an #lp_membuf.
 * @param ud  The #lp_membuf to append to.
 * @param data Bytes to append (may be NULL when @p len is 0).
 * @param len Number of bytes.
 * @return 0, #LP_EINVAL (NULL @p ud, or NULL @p data with non-zero
 * @p len), #LP_ELIMIT (size would overflow `size_t`) or #LP_ENOMEM; on
 * failure the buffer is unchanged.
 */
LP_API int lp_membuf_write(void *ud, const void *data, size_t len);

/**
 * @brief The bytes written so far.
 * @param buf Buffer (may be NULL, then NULL is returned).
 * @return Pointer owned by the buffer, valid until the next write, clear or
 * free; NULL when the buffer is empty.
 */
LP_API const uint8_t *lp_membuf_data(const lp_membuf *buf);

/**
 * @brief Number of bytes written so far (0 for NULL).
 * @param buf Buffer (may be NULL).
 * @return The byte count.
 */
LP_API size_t lp_membuf_size(const lp_membuf *buf);

/**
 * @brief Forget the contents; the memory is kept for reuse. NULL is a no-op.
 * @param buf Buffer (may be NULL).
 */
LP_API void lp_membuf_clear(lp_membuf *buf);

/** @} */

/* ------------------------------------------------------------------ */
/** @name Fixed memory reader
 *  @{ */

/**
 * @brief State of a reader over caller-owned memory (no allocation).
 *
 * A small versioned struct: initialise it with lp_memreader_init() and pass
 * its address as the `ud` of lp_memreader_read(). The bytes are borrowed:
 * they must stay valid and unchanged while the reader is used.
 */
typedef struct lp_memreader {
  uint32_t struct_size; /**< sizeof(lp_memreader), set by lp_memreader_init(). */
  const uint8_t *data;  /**< First byte (borrowed). */
  size_t size;          /**< Number of bytes at @c data. */
  size_t pos;           /**< Bytes consumed so far. */
} lp_memreader;

/**
 * @brief Initialise @p reader over @p size bytes at @p data.
 * @param reader State to initialise (caller-owned).
 * @param data   Bytes to read; may be NULL only when @p size is 0.
 * @param size   Number of bytes.
 * @return #LP_OK or #LP_EINVAL.
 */
LP_API int lp_memreader_init(lp_memreader *reader, const void *data, size_t size);

/**
 * @brief #lp_reader over an initialised #lp_memreader passed as @p ud.
 * @param ud  The #lp_memreader.
 * @param buf Receives up to @p cap bytes.
 * @param cap Capacity of @p buf.
 * @param got Receives the number of bytes stored.
 * @return 0 (with `*got == 0` at the end), or #LP_EINVAL for NULL
 * arguments or an uninitialised reader.
 */
LP_API int lp_memreader_read(void *ud, void *buf, size_t cap, size_t *got);

/** @} */

/* ------------------------------------------------------------------ */
/** @name C stdio adapters
 *  Absent from a library configured with `-Dstdio=false`.
 *  @{ */

/**
 * @brief #lp_writer over a C `FILE *` passed as @p ud (opened by the host,
 * in binary mode; not closed or flushed by libprofile).
 * @param ud  The `FILE *`.
 * @param buf Bytes to write.
 * @param len Number of bytes.
 * @return 0, #LP_EINVAL (NULL @p ud or @p buf) or #LP_EIO on a short write.
 */
LP_API int lp_file_write(void *ud, const void *buf, size_t len);

/**
 * @brief #lp_reader over a C `FILE *` passed as @p ud (opened by the host,
 * in binary mode; not closed by libprofile).
 * @param ud  The `FILE *`.
 * @param buf Receives up to @p cap bytes.
 * @param cap Capacity of @p buf.
 * @param got Receives the number of bytes stored.
 * @return 0 (with `*got == 0` at end of file), #LP_EINVAL, or #LP_EIO when
 * the stream reports an error.
 */
LP_API int lp_file_read(void *ud, void *buf, size_t cap, size_t *got);

/** @} */

/* ------------------------------------------------------------------ */
/** @name Snapshot container
 *  @{ */

/** Build a 32-bit section or payload type from four characters. */
#define LP_FOURCC(a, b, c, d)                                            \
  ((uint32_t)(uint8_t)(a) | ((uint32_t)(uint8_t)(b) << 8) |              \
   ((uint32_t)(uint8_t)(c) << 16) | ((uint32_t)(uint8_t)(d) << 24))

/** Section type 0 is reserved for the end record. */
#define LP_SECTION_END 0u

/**
 * Section flag: a reader that does not understand this section type must
 * refuse the snapshot (#LP_EVERSION) instead of skipping it.
 */
#define LP_SECTION_REQUIRED 1u

/** Major version of the container format written by this library. */
#define LP_SNAPSHOT_FORMAT_MAJOR 1
/** Minor version of the container format written by this library. */
#define LP_SNAPSHOT_FORMAT_MINOR 0

/** Default largest section payload a reader accepts: 1 GiB. */
#define LP_SNAPSHOT_DEFAULT_SECTION_LIMIT ((uint64_t)1 << 30)

/** @brief Opaque streaming writer of one snapshot. */
typedef struct lp_snapshot_writer lp_snapshot_writer;

/**
 * @brief Create a snapshot writer. No I/O happens until the first section.
 * @param alloc Allocator (NULL: C library); copied.
 * @param write Callback that receives the bytes, in order.
 * @param ud    Passed to @p write; owned by the host.
 * @param kind  Four-character code naming what the snapshot holds (e.g.
 *              `LP_FOURCC('I','D','G','R')`); checked by readers.
 * @param out   Receives the writer (free with lp_snapshot_writer_free()).
 * @return #LP_OK, #LP_EINVAL or #LP_ENOMEM (then @p *out is NULL).
 */
LP_API int lp_snapshot_writer_create(const lp_allocator *alloc, lp_writer write,
                                     void *ud, uint32_t kind,
                                     lp_snapshot_writer **out);

/**
 * @brief Start a section. Its bytes are buffered until
 * lp_snapshot_writer_end_section(), so only one section is in memory.
 * @param w     Writer.
 * @param type  Section type, not #LP_SECTION_END.
 * @param flags 0 or #LP_SECTION_REQUIRED.
 * @return #LP_OK, #LP_EINVAL (type 0, unknown flags), #LP_EMISUSE (a
 * section is already open or the snapshot is finished) or the writer's
 * sticky error.
 */
LP_API int lp_snapshot_writer_begin_section(lp_snapshot_writer *w, uint32_t type,
                                            uint32_t flags);

/**
 * @brief Append bytes to the open section.
 * @param w    Writer.
 * @param data Bytes (may be NULL when @p len is 0).
 * @param len  Number of bytes.
 * @return #LP_OK, #LP_EINVAL, #LP_EMISUSE (no open section), #LP_ELIMIT,
 * #LP_ENOMEM or the sticky error.
 */
LP_API int lp_snapshot_writer_write(lp_snapshot_writer *w, const void *data, size_t len);

/**
 * @brief Close the open section: its record is passed to the callback.
 * @param w Writer.
 * @return #LP_OK, #LP_EMISUSE, an error from the callback (#LP_EIO or the
 * callback's own `LP_E*` code) or the sticky error.
 */
LP_API int lp_snapshot_writer_end_section(lp_snapshot_writer *w);

/**
 * @brief Write the end record. The snapshot is complete after #LP_OK.
 * @param w Writer.
 * @return #LP_OK, #LP_EMISUSE (a section is open, or already finished), a
 * callback error, or the sticky error.
 */
LP_API int lp_snapshot_writer_finish(lp_snapshot_writer *w);

/**
 * @brief Message for the writer's most recent failure.
 *
 * Errors are sticky: once a call fails, the byte stream is incomplete and
 * every later call returns the same code; free the writer and start again.
 * @param w Writer, or NULL.
 * @return Text owned by the writer ("no error" when none; a static text for
 * NULL), valid until the next call on it.
 */
LP_API const char *lp_snapshot_writer_errmsg(const lp_snapshot_writer *w);

/** @brief Free a writer; NULL is a no-op. An unfinished snapshot is simply
 * abandoned (the callback is not called).
 * @param w Writer, or NULL. */
LP_API void lp_snapshot_writer_free(lp_snapshot_writer *w);

/** @brief Opaque streaming reader that validates a snapshot as it reads. */
typedef struct lp_snapshot_reader lp_snapshot_reader;

/**
 * @brief Create a snapshot reader. No I/O happens until the first call
 * that needs data.
 * @param alloc Allocator (NULL: C library); copied.
 * @param read  Callback that supplies the bytes.
 * @param ud    Passed to @p read; owned by the host.
 * @param out   Receives the reader (free with lp_snapshot_reader_free()).
 * @return #LP_OK, #LP_EINVAL or #LP_ENOMEM (then @p *out is NULL).
 */
LP_API int lp_snapshot_reader_create(const lp_allocator *alloc, lp_reader read,
                                     void *ud, lp_snapshot_reader **out);

/**
 * @brief Set the largest section payload accepted (default
 * #LP_SNAPSHOT_DEFAULT_SECTION_LIMIT). Larger sections give #LP_ELIMIT.
 * Memory grows with the bytes actually received, never with the claimed
 * length alone.
 * @param r         Reader.
 * @param max_bytes Largest payload in bytes, at least 1.
 * @return #LP_OK or #LP_EINVAL (NULL reader or a zero limit).
 */
LP_API int lp_snapshot_reader_set_section_limit(lp_snapshot_reader *r, uint64_t max_bytes);

/**
 * @brief Read and validate the header (once) and report what it says.
 * @param r     Reader.
 * @param kind  Receives the payload kind given to the writer (may be NULL).
 * @param minor Receives the container's minor format version (may be NULL).
 * @return #LP_OK, #LP_EIO (the callback failed), #LP_ECORRUPT (not a
 * snapshot, truncated, or header checksum wrong), #LP_EVERSION (major version
 * or header flags unknown) or the sticky error.
 */
LP_API int lp_snapshot_reader_header(lp_snapshot_reader *r, uint32_t *kind,
                                     uint32_t *minor);

/**
 * @brief Read the next section, fully validated.
 *
 * The section's length is checked against the limit and the bytes that
 * arrive, its checksum and padding are verified before it is returned. At
 * the end record, which is checked against every section seen (count, order
 * and offset), @p *type is #LP_SECTION_END and @p *len is 0; later calls
 * return the end again. Reading stops exactly after the end record, so
 * several snapshots may follow each other in one stream.
 *
 * @param r     Reader.
 * @param type  Receives the section type (required).
 * @param flags Receives the section flags (may be NULL).
 * @param data  Receives the payload, owned by the reader and valid until
 *              the next call on it (required; NULL for an empty payload).
 * @param len   Receives the payload length (required).
 * @return #LP_OK, #LP_EINVAL, #LP_EIO, #LP_ECORRUPT, #LP_EVERSION,
 * #LP_ELIMIT, #LP_ENOMEM or the sticky error. Errors are sticky.
 */
LP_API int lp_snapshot_reader_next(lp_snapshot_reader *r, uint32_t *type,
                                   uint32_t *flags, const uint8_t **data,
                                   size_t *len);

/**
 * @brief Message for the reader's most recent failure.
 * @param r Reader, or NULL.
 * @return Text owned by the reader ("no error" when none; a static text for
 * NULL), valid until the next call on it.
 */
LP_API const char *lp_snapshot_reader_errmsg(const lp_snapshot_reader *r);

/** @brief Free a reader; NULL is a no-op.
 * @param r Reader, or NULL. */
LP_API void lp_snapshot_reader_free(lp_snapshot_reader *r);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* LIBPROFILE_IO_H */
