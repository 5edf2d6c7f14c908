package libprofile

/*
#include <stdlib.h>
#include <string.h>
#include "shim.h"
*/
import "C"

import (
	"io"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// Normalizers of identifier types.
const (
	NormGeneric     = 0 // trim ASCII white space
	NormGenericFold = 1 // trim and lower-case ASCII
	NormEmail       = 2
	NormEmailGmail  = 3
	NormPhone       = 4 // E.164 with the type's CountryCode
)

// Identity graph option keys.
const (
	IDGraphStoreRaw         = 1
	IDGraphQuarantineAfter  = 2
	IDGraphDefaultBlocklist = 3
)

// TypeDef declares an identifier type.
type TypeDef struct {
	Name        string
	Priority    int32
	Limit       uint32 // 0: the maximum
	Unique      bool
	Normalizer  uint32
	CountryCode uint32
}

// Ident is one identifier: a type id and its raw value.
type Ident struct {
	Type  uint32
	Value string
}

// IDGraphStats are the graph's counters.
type IDGraphStats struct {
	Events, Identifiers, Profiles, Merges, Conflicts uint64
	Quarantined, Blocked, Invalid, Tombstoned        uint64
}

// IdentityGraph resolves identifiers seen together into profiles (lp_idgraph).
type IdentityGraph struct {
	h      *C.lp_idgraph
	notify cgo.Handle
}

// NewIdentityGraph creates an empty graph.
func NewIdentityGraph() (*IdentityGraph, error) {
	var h *C.lp_idgraph
	if rc := C.lp_idgraph_create(nil, &h); rc != 0 {
		return nil, newError(rc, "lp_idgraph_create", nil)
	}
	g := &IdentityGraph{h: h}
	runtime.SetFinalizer(g, (*IdentityGraph).Close)
	return g, nil
}

// Close frees the graph (and releases the OnChange function). Safe twice.
func (g *IdentityGraph) Close() error {
	if g.h != nil {
		C.lp_idgraph_free(g.h)
		g.h = nil
	}
	if g.notify != 0 {
		g.notify.Delete()
		g.notify = 0
	}
	return nil
}

func (g *IdentityGraph) check(rc C.int, op string) error {
	if rc == 0 {
		return nil
	}
	return newError(rc, op, C.lp_idgraph_errmsg(g.h))
}

// cbytes gives C a pointer to s's bytes for the duration of the call.
func cbytes(s string) (*C.char, C.size_t, func()) {
	if len(s) == 0 {
		return nil, 0, func() {}
	}
	p := C.CBytes([]byte(s))
	return (*C.char)(p), C.size_t(len(s)), func() { C.free(p) }
}

// SetKey sets the key of the built-in keyed hash.
func (g *IdentityGraph) SetKey(key []byte) error {
	if g.h == nil {
		return errClosed
	}
	if len(key) == 0 {
		return g.check(C.lp_idgraph_set_key(g.h, nil, 0), "lp_idgraph_set_key")
	}
	defer runtime.KeepAlive(g)
	return g.check(C.lp_idgraph_set_key(g.h, unsafe.Pointer(&key[0]), C.size_t(len(key))), "lp_idgraph_set_key")
}

// SetInt sets an option (IDGraphStoreRaw, ...), only while the graph is empty.
func (g *IdentityGraph) SetInt(key uint32, v int64) error {
	if g.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(g)
	return g.check(C.lp_idgraph_set_int(g.h, C.uint32_t(key), C.int64_t(v)), "lp_idgraph_set_int")
}

// AddType declares an identifier type and returns its id.
func (g *IdentityGraph) AddType(d TypeDef) (uint32, error) {
	if g.h == nil {
		return 0, errClosed
	}
	defer runtime.KeepAlive(g)
	name := C.CString(d.Name)
	defer C.free(unsafe.Pointer(name))
	var def C.lp_idgraph_type_def
	def.struct_size = C.uint32_t(unsafe.Sizeof(def))
	def.name = name
	def.priority = C.int32_t(d.Priority)
	def.limit = C.uint32_t(d.Limit)
	if d.Unique {
		def.unique = 1
	}
	def.normalizer = C.uint32_t(d.Normalizer)
	def.country_code = C.uint32_t(d.CountryCode)
	var id C.uint32_t
	err := g.check(C.lp_idgraph_add_type(g.h, &def, &id), "lp_idgraph_add_type")
	return uint32(id), err
}

// TypeID finds a type by name.
func (g *IdentityGraph) TypeID(name string) (uint32, error) {
	if g.h == nil {
		return 0, errClosed
	}
	defer runtime.KeepAlive(g)
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	var id C.uint32_t
	err := g.check(C.lp_idgraph_find_type(g.h, n, &id), "lp_idgraph_find_type")
	return uint32(id), err
}

// Observe records an event (1..64 identifiers seen together) and returns
// the profile of its highest-priority identifier.
func (g *IdentityGraph) Observe(ids []Ident, ts int64, source string) (uint64, error) {
	if g.h == nil {
		return 0, errClosed
	}
	if len(ids) == 0 || len(ids) > 64 {
		return 0, argError("Observe", "an event has 1..64 identifiers, got %d", len(ids))
	}
	defer runtime.KeepAlive(g)
	// One C block for the identifier array and every value: no Go pointer is
	// stored in C memory.
	total := 0
	for _, id := range ids {
		total += len(id.Value)
	}
	arr := (*[64]C.lp_idgraph_ident)(C.malloc(C.size_t(unsafe.Sizeof(C.lp_idgraph_ident{})) * 64))
	defer C.free(unsafe.Pointer(arr))
	vals := (*C.char)(C.malloc(C.size_t(total + 1)))
	defer C.free(unsafe.Pointer(vals))
	off := 0
	for i, id := range ids {
		p := unsafe.Add(unsafe.Pointer(vals), off)
		if len(id.Value) > 0 {
			b := []byte(id.Value)
			C.memcpy(p, unsafe.Pointer(&b[0]), C.size_t(len(b)))
		}
		arr[i] = C.lp_idgraph_ident{_type: C.uint32_t(id.Type), value: (*C.char)(p), len: C.size_t(len(id.Value))}
		off += len(id.Value)
	}
	src, srcLen, free := cbytes(source)
	defer free()
	var pid C.uint64_t
	err := g.check(C.lp_idgraph_observe(g.h, &arr[0], C.size_t(len(ids)), C.int64_t(ts), src, srcLen, &pid), "lp_idgraph_observe")
	return uint64(pid), err
}

// ProfileOf returns the profile holding an identifier (ErrNotFound when unknown).
func (g *IdentityGraph) ProfileOf(typ uint32, value string) (uint64, error) {
	if g.h == nil {
		return 0, errClosed
	}
	defer runtime.KeepAlive(g)
	v, n, free := cbytes(value)
	defer free()
	var pid C.uint64_t
	err := g.check(C.lp_idgraph_profile_of(g.h, C.uint32_t(typ), v, n, &pid), "lp_idgraph_profile_of")
	return uint64(pid), err
}

// Profiles lists every profile id, ascending.
func (g *IdentityGraph) Profiles() ([]uint64, error) {
	if g.h == nil {
		return nil, errClosed
	}
	defer runtime.KeepAlive(g)
	var need C.size_t
	if err := g.check(C.lp_idgraph_profiles(g.h, nil, 0, &need), "lp_idgraph_profiles"); err != nil {
		return nil, err
	}
	out := make([]uint64, int(need))
	if need == 0 {
		return out, nil
	}
	err := g.check(C.lp_idgraph_profiles(g.h, (*C.uint64_t)(unsafe.Pointer(&out[0])), need, &need), "lp_idgraph_profiles")
	return out, err
}

// Stats returns the graph's counters.
func (g *IdentityGraph) Stats() (IDGraphStats, error) {
	if g.h == nil {
		return IDGraphStats{}, errClosed
	}
	defer runtime.KeepAlive(g)
	var s C.lp_idgraph_stats
	s.struct_size = C.uint32_t(unsafe.Sizeof(s))
	if err := g.check(C.lp_idgraph_get_stats(g.h, &s), "lp_idgraph_get_stats"); err != nil {
		return IDGraphStats{}, err
	}
	return IDGraphStats{uint64(s.events), uint64(s.identifiers), uint64(s.profiles), uint64(s.merges),
		uint64(s.conflicts), uint64(s.quarantined), uint64(s.blocked), uint64(s.invalid), uint64(s.tombstoned)}, nil
}

// Merge adds a shard graph into g (other is unchanged); the result is the
// graph of both shards' events.
func (g *IdentityGraph) Merge(other *IdentityGraph) error {
	if g.h == nil || other == nil || other.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(other)
	defer runtime.KeepAlive(g)
	return g.check(C.lp_idgraph_merge(g.h, other.h), "lp_idgraph_merge")
}

// Change kinds passed to an OnChange function.
const (
	ChangeMerged  = 1
	ChangeSplit   = 2
	ChangeRemoved = 3
)

type notifyState struct {
	fn func(change uint32, oldID, newID uint64)
}

//export lpGoNotify
func lpGoNotify(ud C.uintptr_t, change C.uint32_t, oldID, newID C.uint64_t) {
	cgo.Handle(ud).Value().(*notifyState).fn(uint32(change), uint64(oldID), uint64(newID))
}

// OnChange calls fn after each profile change (nil removes it). fn runs on
// the calling goroutine, inside the graph call, and must not call g.
func (g *IdentityGraph) OnChange(fn func(change uint32, oldID, newID uint64)) error {
	if g.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(g)
	var h cgo.Handle
	if fn != nil {
		h = cgo.NewHandle(&notifyState{fn: fn})
	}
	if err := g.check(C.lp_go_idgraph_set_notify(g.h, C.uintptr_t(h)), "lp_idgraph_set_notify"); err != nil {
		if h != 0 {
			h.Delete()
		}
		return err
	}
	if g.notify != 0 {
		g.notify.Delete()
	}
	g.notify = h // held while the library holds it
	return nil
}

// Save writes the snapshot to w.
func (g *IdentityGraph) Save(w io.Writer) error {
	if g.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(g)
	return withIO(&ioState{w: w}, func(ud C.uintptr_t) error {
		return g.check(C.lp_go_idgraph_save(g.h, ud), "lp_idgraph_save")
	})
}

// Load replaces the graph by a snapshot (types must be declared first, as in C).
func (g *IdentityGraph) Load(r io.Reader) error {
	if g.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(g)
	return withIO(&ioState{r: r}, func(ud C.uintptr_t) error {
		return g.check(C.lp_go_idgraph_load(g.h, ud), "lp_idgraph_load")
	})
}

// MarshalBinary is the snapshot.
func (g *IdentityGraph) MarshalBinary() ([]byte, error) { return marshal(g.Save) }

// UnmarshalBinary loads a snapshot.
func (g *IdentityGraph) UnmarshalBinary(b []byte) error { return g.Load(bytesReader(b)) }
