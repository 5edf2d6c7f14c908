/*
 * libprofile - core: version, status codes, allocator.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file core.h
 * @brief Version, status codes and the per-handle allocator.
 *
 * Everything in libprofile follows the conventions set here:
 *
 * - Every fallible function returns an `int` status: #LP_OK (0) or one of
 *   the negative `LP_E*` codes below. Codes never change meaning once
 *   released; lp_strerror() gives static text for any of them.
 * - Each handle keeps the message of its most recent failed call
 *   (`lp_<module>_errmsg(h)`), like `sqlite3_errmsg`.
 * - Memory comes from the #lp_allocator given when a handle is created;
 *   NULL means the C library's `malloc`/`realloc`/`free`. There is no global
 *   allocator hook and no global mutable state at all.
 * - Time is `int64_t` seconds since 1970-01-01T00:00:00Z; money is
 *   `int64_t` minor units (cents); profiles are named by `uint64_t` ids.
 *
 * Thread-safety: every function in this header is safe to call from any
 * thread at any time. For handles the rule is the same library-wide:
 * distinct handles may be used from distinct threads concurrently; one
 * handle must not be used from two threads at once without the host's own
 * locking.
 */
#ifndef LIBPROFILE_CORE_H
#define LIBPROFILE_CORE_H

#include <stddef.h>
#include <stdint.h>

/** @cond LP_INTERNAL */
/* A host may predefine LP_API (e.g. empty, for FFI header parsers). */
#if defined(LP_API)
#elif defined(_WIN32) || defined(__CYGWIN__)
#  if defined(LP_BUILDING) && !defined(LP_STATIC)
#    define LP_API __declspec(dllexport)
#  elif !defined(LP_STATIC)
#    define LP_API __declspec(dllimport)
#  else
#    define LP_API
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define LP_API __attribute__((visibility("default")))
#else
#  define LP_API
#endif
/** @endcond */

#ifdef __cplusplus
extern "C" {
#endif

/** @name Version
 *  The compile-time version of the headers; compare with lp_version() to
 *  detect a header/library mismatch at run time.
 *  @{ */
/** Major version: changes when the ABI breaks (it is the SONAME). */
#define LP_VERSION_MAJOR 1
/** Minor version: new functions, compatible with earlier minors. */
#define LP_VERSION_MINOR 2
/** Patch version: fixes only. */
#define LP_VERSION_PATCH 0
/** Version as one number: major * 10000 + minor * 100 + patch. */
#define LP_VERSION_NUMBER \
  (LP_VERSION_MAJOR * 10000 + LP_VERSION_MINOR * 100 + LP_VERSION_PATCH)
/** Version as text, "MAJOR.MINOR.PATCH". */
#define LP_VERSION_STRING "1.2.0"
/** @} */

/**
 * @brief Version of the library that is actually linked.
 * @return major * 10000 + minor * 100 + patch, as #LP_VERSION_NUMBER.
 * Thread-safe; never fails.
 */
LP_API uint32_t lp_version(void);

/**
 * @brief Version of the linked library as static text, e.g. "1.0.0".
 * @return A static NUL-terminated string; never NULL; do not free.
 * Thread-safe; never fails.
 */
LP_API const char *lp_version_string(void);

/**
 * @brief Status codes returned by every fallible libprofile function.
 *
 * Zero is success; every error is negative. The numeric values are part of
 * the ABI and never change meaning.
 */
typedef enum lp_status {
  LP_OK = 0,           /**< Success. */
  LP_EINVAL = -1,      /**< An argument is invalid (NULL, out of domain, malformed). */
  LP_ENOMEM = -2,      /**< The allocator returned NULL. Nothing was changed. */
  LP_EIO = -3,         /**< A reader or writer callback reported failure. */
  LP_ECORRUPT = -4,    /**< Input is corrupt or truncated: bad magic, checksum, length or structure. */
  LP_EVERSION = -5,    /**< Input uses a format version or feature this library does not support. */
  LP_ENOTFOUND = -6,   /**< The requested item does not exist. */
  LP_ELIMIT = -7,      /**< A size or count limit would be exceeded (including size_t overflow). */
  LP_ECONFLICT = -8,   /**< The operation conflicts with existing state or a rule. */
  LP_ERANGE = -9,      /**< A value is outside the representable or permitted range. */
  LP_EMISUSE = -10,    /**< The call is out of sequence for this handle's state, or re-enters the handle from one of its callbacks. */
  LP_EBUFSIZE = -11    /**< The caller's output buffer is too small; the call's `needed` out-parameter says how many elements it takes. Nothing was written. */
} lp_status;

/**
 * @brief Static English text describing a status code.
 * @param code Any integer; unknown codes give "unknown error code".
 * @return A static NUL-terminated string; never NULL; do not free.
 * Thread-safe; never fails.
 */
LP_API const char *lp_strerror(int code);

/**
 * @brief Allocation function: return @p size bytes or NULL.
 *
 * The memory must be aligned to at least #LP_ALLOC_ALIGNMENT bytes.
 * libprofile never asks for zero bytes.
 */
typedef void *(*lp_alloc_fn)(void *ud, size_t size);

/**
 * @brief Reallocation function: resize a block from @p old_size to
 * @p new_size bytes, keeping the first min(old, new) bytes.
 *
 * On failure return NULL and leave the old block untouched (like
 * `realloc`). @p ptr is never NULL and neither size is zero.
 */
typedef void *(*lp_realloc_fn)(void *ud, void *ptr, size_t old_size, size_t new_size);

/**
 * @brief Free function: release a block of @p size bytes, exactly the size
 * it was last allocated or reallocated with. @p ptr is never NULL.
 */
typedef void (*lp_free_fn)(void *ud, void *ptr, size_t size);

/** Minimum alignment, in bytes, that an #lp_alloc_fn must provide. */
#define LP_ALLOC_ALIGNMENT 8

/**
 * @brief A host allocator: user data plus three functions.
 *
 * Handles copy this description when they are created and use it for every
 * byte they own, for their whole life; the struct itself need not outlive
 * the call. Because the old size is passed back to @c realloc and @c free,
 * arena and accounting allocators need no headers of their own.
 *
 * Rules: @c alloc and @c free must both be set, or both be NULL (then the C
 * library's functions are used and @c realloc is ignored). @c realloc may be
 * NULL: libprofile then allocates, copies and frees.
 * The functions may be called from whichever thread uses the handle.
 */
typedef struct lp_allocator {
  uint32_t struct_size;  /**< sizeof(lp_allocator), set by #LP_ALLOCATOR_INIT. */
  void *ud;              /**< Passed unchanged to every function. */
  lp_alloc_fn alloc;     /**< Allocate; see #lp_alloc_fn. */
  lp_realloc_fn realloc; /**< Resize; see #lp_realloc_fn. May be NULL. */
  lp_free_fn free;       /**< Release; see #lp_free_fn. */
} lp_allocator;

/** Initialiser for an #lp_allocator that means "use the C library". */
#define LP_ALLOCATOR_INIT { (uint32_t)sizeof(lp_allocator), NULL, NULL, NULL, NULL }

/**
 * @brief Check an allocator description without creating anything.
 * @param alloc Description to check; NULL is valid (the C library).
 * @return #LP_OK, or #LP_EINVAL when @c struct_size is too small or only one
 * of @c alloc / @c free is set.
 * Thread-safe.
 */
LP_API int lp_allocator_check(const lp_allocator *alloc);

#ifdef __cplusplus
}
#endif

#endif /* LIBPROFILE_CORE_H */
