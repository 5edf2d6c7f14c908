/*
 * profilectl - writing a file on a thread of its own.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file bgwrite.h
 * @brief A background writer: the calling thread fills buffers, a thread
 * of the writer write()s them to the file in order; and its twin, a
 * background reader that reads a file ahead on a thread of its own.
 *
 * The writer owns a fixed set of buffers (@p nbufs of @p buf_size bytes,
 * allocated once), so its memory is bounded: when every buffer is queued
 * the producer waits for the oldest one to be written. The first failed
 * write() or close() is kept (its errno) and returned by
 * pctl_bgw_close(); once a write has failed the buffers queued after it
 * are dropped without writing and pctl_bgw_write() returns #LP_EIO, so a
 * full disk stops a long producer early. Nothing is printed: the caller
 * names the file in its own message.
 *
 * Where a thread cannot be started the writer writes on the calling
 * thread at each commit: the bytes and the errors are the same, only the
 * overlap is lost.
 *
 * One writer is used by one producer thread. Two ways to fill it, not
 * mixed on one writer: pctl_bgw_write() copies bytes in (the
 * lp_write_fn of the library's save calls), or pctl_bgw_buffer() and
 * pctl_bgw_commit() let the producer format straight into the buffer.
 *
 * @code
 * pctl_bgw *w;
 * int err = pctl_bgw_open(&w, path, PCTL_BGW_BUF_SIZE, PCTL_BGW_BUFS);
 * if (err != 0) { pctl_error("cannot open '%s' for writing: %s", path, strerror(err)); ... }
 * lp_profiles_save(h, pctl_bgw_write, w);
 * err = pctl_bgw_close(w);   // 0, or the errno of the first failure
 * @endcode
 */
#ifndef PROFILECTL_BGWRITE_H
#define PROFILECTL_BGWRITE_H

#include <stdbool.h>
#include <stddef.h>

/** Default size of one buffer, bytes. */
#define PCTL_BGW_BUF_SIZE ((size_t)4 << 20)
/** Default number of buffers of one writer. */
#define PCTL_BGW_BUFS 4

/** A background writer (opaque). */
typedef struct pctl_bgw pctl_bgw;

/**
 * @brief Start a writer on an open file descriptor.
 * @param out      Receives the writer; NULL on failure.
 * @param fd       Descriptor written with write(2).
 * @param own_fd   Whether pctl_bgw_close() closes @p fd (its failure is
 *                 then reported like a failed write).
 * @param buf_size Bytes of one buffer (at least 1).
 * @param nbufs    Buffers (at least 2: one filled while one is written).
 * @return 0, EINVAL (a size out of range, NULL @p out), or ENOMEM; on
 *         failure @p fd is left open.
 */
int pctl_bgw_start(pctl_bgw **out, int fd, bool own_fd, size_t buf_size, size_t nbufs);

/**
 * @brief Create or truncate @p path (as fopen(path, "wb")) and start a
 * writer that owns the descriptor.
 * @param out      Receives the writer; NULL on failure.
 * @param path     File name.
 * @param buf_size Bytes of one buffer.
 * @param nbufs    Buffers.
 * @return 0, or the errno of open(2) or of pctl_bgw_start().
 */
int pctl_bgw_open(pctl_bgw **out, const char *path, size_t buf_size, size_t nbufs);

/**
 * @brief As pctl_bgw_open(), and a regular file is written with direct
 * I/O (O_DIRECT) where the system has it: the bytes go from the buffers
 * to the disk without a copy into the page cache (on a virtual machine
 * that copy can cost more than making the bytes). Writes are then aligned
 * to 4096 bytes in memory, offset and length: the buffers are aligned, a
 * buffer of a multiple of 4096 bytes is written as it is, others are
 * gathered on the writer's thread into a stage of @p buf_size bytes, and
 * the last partial block goes through the page cache. Where direct I/O is
 * refused (a device, a FIFO, a file system without it, an alignment it
 * does not take) the writer writes through the page cache instead: the
 * bytes and the errors are the same. Best with @p buf_size a multiple of
 * 4096 and producers that commit full buffers.
 * @param out      Receives the writer; NULL on failure.
 * @param path     File name.
 * @param buf_size Bytes of one buffer.
 * @param nbufs    Buffers.
 * @return 0, or the errno of open(2) or of pctl_bgw_start().
 */
int pctl_bgw_open_direct(pctl_bgw **out, const char *path, size_t buf_size, size_t nbufs);

/**
 * @brief The buffer to fill next: waits while every buffer is queued.
 * @param w   Writer.
 * @param cap Receives its size (the writer's @p buf_size).
 * @return The buffer; owned by the writer, valid until pctl_bgw_commit().
 */
char *pctl_bgw_buffer(pctl_bgw *w, size_t *cap);

/**
 * @brief Queue the first @p len bytes of the buffer pctl_bgw_buffer()
 * gave; the next pctl_bgw_buffer() gives another one.
 * @param w   Writer.
 * @param len Bytes filled (at most the buffer's size; 0 writes nothing).
 */
void pctl_bgw_commit(pctl_bgw *w, size_t len);

/**
 * @brief Copy @p len bytes into the writer's buffers, queueing each one
 * as it fills (an lp_write_fn: @p ud is the writer).
 * @param ud  The writer.
 * @param buf Bytes (borrowed for the call).
 * @param len Byte count.
 * @return #LP_OK, or #LP_EIO once a write has failed (pctl_bgw_error()
 *         gives its errno).
 */
int pctl_bgw_write(void *ud, const void *buf, size_t len);

/**
 * @brief The errno of the first failed write so far (0 if none). Writes
 * still queued may fail later: pctl_bgw_close() has the final word.
 * @param w Writer.
 * @return errno value or 0.
 */
int pctl_bgw_error(pctl_bgw *w);

/**
 * @brief Queue what pctl_bgw_write() holds, wait until everything is
 * written, close an owned descriptor, stop the thread and free the writer.
 * @param w Writer (NULL: nothing to do); unusable afterwards.
 * @return 0, or the errno of the first failed write or close.
 */
int pctl_bgw_close(pctl_bgw *w);

/* ---- the reading twin ---- */

/** A background reader (opaque): a thread of its own read()s the file
 * ahead into a fixed set of buffers while the consumer copies out of the
 * oldest one. */
typedef struct pctl_bgr pctl_bgr;

/**
 * @brief Start reading @p fd from its current offset to its end.
 * @param out      Receives the reader; NULL on failure.
 * @param fd       Descriptor read with read(2); not closed by the reader.
 * @param buf_size Bytes of one buffer (at least 1).
 * @param nbufs    Buffers (at least 2).
 * @return 0, EINVAL or ENOMEM.
 */
int pctl_bgr_start(pctl_bgr **out, int fd, size_t buf_size, size_t nbufs);

/**
 * @brief Copy up to @p cap bytes of the file, in order (an lp_read_fn:
 * @p ud is the reader). Fewer than @p cap only at the end of the file;
 * 0 with @p cap > 0 is the end.
 * @param ud  The reader.
 * @param buf Destination.
 * @param cap Its size.
 * @param got Receives the bytes copied.
 * @return #LP_OK, or #LP_EIO when a read failed before any byte of this
 *         call could be given (pctl_bgr_error() gives its errno).
 */
int pctl_bgr_read(void *ud, void *buf, size_t cap, size_t *got);

/** @brief The errno of the failed read, 0 if none.
 * @param r Reader. @return errno value or 0. */
int pctl_bgr_error(pctl_bgr *r);

/** @brief Stop the thread (reading need not have reached the end) and free
 * the reader. @param r Reader (NULL: nothing to do). */
void pctl_bgr_close(pctl_bgr *r);

#endif /* PROFILECTL_BGWRITE_H */
