package libprofile

/*
#include <string.h>
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"errors"
	"io"
	"runtime/cgo"
	"unsafe"
)

// ioState is what the C writer/reader trampolines reach through a cgo.Handle.
type ioState struct {
	w   io.Writer
	r   io.Reader
	err error
}

//export lpGoWrite
func lpGoWrite(ud C.uintptr_t, buf unsafe.Pointer, n C.size_t) C.int {
	st := cgo.Handle(ud).Value().(*ioState)
	if _, err := st.w.Write(C.GoBytes(buf, C.int(n))); err != nil {
		st.err = err
		return -3
	}
	return 0
}

//export lpGoRead
func lpGoRead(ud C.uintptr_t, buf unsafe.Pointer, capacity C.size_t, got *C.size_t) C.int {
	st := cgo.Handle(ud).Value().(*ioState)
	tmp := make([]byte, int(capacity))
	for {
		n, err := st.r.Read(tmp)
		if n > 0 {
			C.memcpy(buf, unsafe.Pointer(&tmp[0]), C.size_t(n))
			*got = C.size_t(n)
			return 0
		}
		if errors.Is(err, io.EOF) {
			*got = 0
			return 0
		}
		if err != nil {
			st.err = err
			return -3
		}
	}
}

// withIO runs a save or load call with a handle to st and returns the Go
// error of the writer/reader when it caused the failure.
func withIO(st *ioState, call func(ud C.uintptr_t) error) error {
	h := cgo.NewHandle(st)
	defer h.Delete()
	err := call(C.uintptr_t(h))
	if err != nil && st.err != nil {
		return st.err
	}
	return err
}

func marshal(save func(io.Writer) error) ([]byte, error) {
	var b bytes.Buffer
	if err := save(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
