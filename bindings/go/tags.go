package libprofile

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"io"
	"runtime"
	"unsafe"
)

// Tag and attribute value types.
const (
	TagFlag    = 1
	TagInt     = 2
	TagDecimal = 3 // int64 scaled by 10^scale
	TagString  = 4
	TagTime    = 5
)

// TagDef defines a tag; zero Merge means "or", empty strings mean none.
type TagDef struct {
	Name, Category, Purpose, ConsentFor string
	Type, Merge, Scale                  uint32
	DefaultTTL                          int64
}

// Tags is a tag taxonomy with per-profile values and audiences (lp_tags).
type Tags struct{ h *C.lp_tags }

// NewTags creates an empty taxonomy.
func NewTags() (*Tags, error) {
	var h *C.lp_tags
	if rc := C.lp_tags_create(nil, &h); rc != 0 {
		return nil, newError(rc, "lp_tags_create", nil)
	}
	t := &Tags{h: h}
	runtime.SetFinalizer(t, (*Tags).Close)
	return t, nil
}

// Close frees the handle. Safe to call twice.
func (t *Tags) Close() error {
	if t.h != nil {
		C.lp_tags_free(t.h)
		t.h = nil
	}
	return nil
}

func (t *Tags) check(rc C.int, op string) error {
	if rc == 0 {
		return nil
	}
	return newError(rc, op, C.lp_tags_errmsg(t.h))
}

// cstr is a C copy of s (NULL for ""); free releases it.
func cstr(s string) (*C.char, func()) {
	if s == "" {
		return nil, func() {}
	}
	p := C.CString(s)
	return p, func() { C.free(unsafe.Pointer(p)) }
}

// Define adds a tag and returns its id.
func (t *Tags) Define(d TagDef) (uint32, error) {
	if t.h == nil {
		return 0, errClosed
	}
	defer runtime.KeepAlive(t)
	var def C.lp_tags_def
	def.struct_size = C.uint32_t(unsafe.Sizeof(def))
	def._type, def.merge, def.scale = C.uint32_t(d.Type), C.uint32_t(d.Merge), C.uint32_t(d.Scale)
	if d.Type == 0 {
		def._type = TagFlag
	}
	if d.Merge == 0 {
		def.merge = 1
	}
	def.default_ttl = C.int64_t(d.DefaultTTL)
	var frees []func()
	defer func() {
		for _, f := range frees {
			f()
		}
	}()
	for _, f := range []struct {
		dst **C.char
		s   string
	}{{&def.name, d.Name}, {&def.category, d.Category}, {&def.purpose, d.Purpose}, {&def.consent_for, d.ConsentFor}} {
		p, free := cstr(f.s)
		*f.dst = p
		frees = append(frees, free)
	}
	var id C.uint32_t
	err := t.check(C.lp_tags_define(t.h, &def, &id), "lp_tags_define")
	return uint32(id), err
}

// SetRule makes a tag rule-computed ("" makes it host-set again).
func (t *Tags) SetRule(tag uint32, rule string) error {
	if t.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(t)
	r, free := cstr(rule)
	defer free()
	return t.check(C.lp_tags_set_rule(t.h, C.uint32_t(tag), r), "lp_tags_set_rule")
}

// DefineAttr adds a profile attribute (TagInt, TagDecimal, TagString, TagTime).
func (t *Tags) DefineAttr(name string, typ, scale uint32) (uint32, error) {
	if t.h == nil {
		return 0, errClosed
	}
	defer runtime.KeepAlive(t)
	n, free := cstr(name)
	defer free()
	var id C.uint32_t
	err := t.check(C.lp_tags_define_attr(t.h, n, C.uint32_t(typ), C.uint32_t(scale), &id), "lp_tags_define_attr")
	return uint32(id), err
}

// SetAttrInt sets an INT, DECIMAL (scaled) or TIME attribute of a profile.
func (t *Tags) SetAttrInt(profile uint64, attr uint32, v int64) error {
	if t.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(t)
	return t.check(C.lp_tags_set_attr_int(t.h, C.uint64_t(profile), C.uint32_t(attr), C.int64_t(v)), "lp_tags_set_attr_int")
}

// Set sets a host-set tag of a profile: num for INT/DECIMAL/TIME (ignored
// for flags), live while asOf < expiresAt (0: the tag's default).
func (t *Tags) Set(profile uint64, tag uint32, num, setAt, expiresAt int64) error {
	if t.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(t)
	var v C.lp_tags_value
	v.struct_size = C.uint32_t(unsafe.Sizeof(v))
	v.num, v.set_at = C.int64_t(num), C.int64_t(setAt)
	v.expires_at = C.int64_t(expiresAt)
	if expiresAt == 0 {
		v.expires_at = C.int64_t(-1 << 63) // LP_TAGS_EXPIRES_DEFAULT
	}
	return t.check(C.lp_tags_set(t.h, C.uint64_t(profile), C.uint32_t(tag), &v), "lp_tags_set")
}

// Evaluate recomputes the rule-computed tags at asOf.
func (t *Tags) Evaluate(asOf int64) error {
	if t.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(t)
	return t.check(C.lp_tags_evaluate(t.h, C.int64_t(asOf)), "lp_tags_evaluate")
}

func (t *Tags) query(text, purpose string, asOf int64) (C.lp_tags_query, func()) {
	var q C.lp_tags_query
	q.struct_size = C.uint32_t(unsafe.Sizeof(q))
	q.as_of = C.int64_t(asOf)
	tx, f1 := cstr(text)
	pu, f2 := cstr(purpose)
	q.text, q.purpose = tx, pu
	return q, func() { f1(); f2() }
}

// Count is the size of the audience of a query ("" purpose: none).
func (t *Tags) Count(query, purpose string, asOf int64) (uint64, error) {
	if t.h == nil {
		return 0, errClosed
	}
	defer runtime.KeepAlive(t)
	q, free := t.query(query, purpose, asOf)
	defer free()
	var n C.uint64_t
	err := t.check(C.lp_tags_count(t.h, &q, &n), "lp_tags_count")
	return uint64(n), err
}

// Audience returns the ids of a query's audience, ascending.
func (t *Tags) Audience(query, purpose string, asOf int64) ([]uint64, error) {
	if t.h == nil {
		return nil, errClosed
	}
	defer runtime.KeepAlive(t)
	q, free := t.query(query, purpose, asOf)
	defer free()
	var a *C.lp_tags_audience
	if err := t.check(C.lp_tags_audience_create(t.h, &q, &a), "lp_tags_audience_create"); err != nil {
		return nil, err
	}
	defer C.lp_tags_audience_free(a)
	out := make([]uint64, int(C.lp_tags_audience_size(a))+1)
	var got C.size_t
	if rc := C.lp_tags_audience_next(a, (*C.uint64_t)(unsafe.Pointer(&out[0])), C.size_t(len(out)), &got); rc != 0 {
		return nil, newError(rc, "lp_tags_audience_next", C.lp_tags_audience_errmsg(a))
	}
	return out[:int(got)], nil
}

// Save writes the snapshot to w.
func (t *Tags) Save(w io.Writer) error {
	if t.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(t)
	return withIO(&ioState{w: w}, func(ud C.uintptr_t) error {
		return t.check(C.lp_go_tags_save(t.h, ud), "lp_tags_save")
	})
}

// Load replaces the state by a snapshot.
func (t *Tags) Load(r io.Reader) error {
	if t.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(t)
	return withIO(&ioState{r: r}, func(ud C.uintptr_t) error {
		return t.check(C.lp_go_tags_load(t.h, ud), "lp_tags_load")
	})
}
