// Package libprofile is the Go binding (cgo) of libprofile: identity graph,
// RFM and k-means.
//
// Build against an installed library (pkg-config libprofile) or a build
// tree: CGO_CFLAGS=-I<src>/include CGO_LDFLAGS="-L<build>/src -lprofile".
//
// Every type owns one C handle. Close frees it (a finalizer does too, as a
// safety net; call Close). A handle is not safe for concurrent use, even
// for read-only calls (the C handle keeps its last error message): use one
// handle per goroutine, or guard it with a sync.Mutex. Different handles
// may be used from different goroutines at the same time.
package libprofile

/*
#cgo LDFLAGS: -lprofile
#include <libprofile.h>
*/
import "C"

import "fmt"

// Error is a failed call: the library's status code and the handle's message.
// errors.Is(err, ErrNotFound) etc. match on the code.
type Error struct {
	Code    int    // LP_E* status (negative)
	Op      string // the C function, e.g. "lp_rfm_get"
	Message string // lp_*_errmsg of the handle, or lp_strerror
}

func (e *Error) Error() string {
	if e.Op == "" {
		return fmt.Sprintf("libprofile: %s", e.Message)
	}
	return fmt.Sprintf("libprofile: %s: %s", e.Op, e.Message)
}

// Is reports whether target is an *Error with the same code (the sentinels).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

func sentinel(code int) *Error {
	return &Error{Code: code, Message: C.GoString(C.lp_strerror(C.int(code)))}
}

// Sentinel errors, one per status code, for errors.Is.
var (
	ErrInvalid   = sentinel(-1)  // LP_EINVAL
	ErrNoMem     = sentinel(-2)  // LP_ENOMEM
	ErrIO        = sentinel(-3)  // LP_EIO
	ErrCorrupt   = sentinel(-4)  // LP_ECORRUPT
	ErrVersion   = sentinel(-5)  // LP_EVERSION
	ErrNotFound  = sentinel(-6)  // LP_ENOTFOUND
	ErrLimit     = sentinel(-7)  // LP_ELIMIT
	ErrConflict  = sentinel(-8)  // LP_ECONFLICT
	ErrRange     = sentinel(-9)  // LP_ERANGE
	ErrMisuse    = sentinel(-10) // LP_EMISUSE
	ErrBufSize   = sentinel(-11) // LP_EBUFSIZE
	errClosed    = &Error{Code: -10, Message: "handle is closed"}
	errArguments = -1
)

func newError(rc C.int, op string, msg *C.char) error {
	m := ""
	if msg != nil {
		m = C.GoString(msg)
	}
	if m == "" {
		m = C.GoString(C.lp_strerror(rc))
	}
	return &Error{Code: int(rc), Op: op, Message: m}
}

func argError(op, format string, args ...interface{}) error {
	return &Error{Code: errArguments, Op: op, Message: fmt.Sprintf(format, args...)}
}

// Version is the library's version string.
func Version() string { return C.GoString(C.lp_version_string()) }
