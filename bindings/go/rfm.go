package libprofile

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"io"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// RFM option keys (SetInt, GetInt, IntBounds).
const (
	RFMPeriodSeconds        = 1
	RFMOneTimeActiveSeconds = 2
	RFMOneTimeAtRiskSeconds = 3
	RFMOneTimeDormantSecs   = 4
	RFMRepeatActivePercent  = 5
	RFMRepeatAtRiskPercent  = 6
	RFMRepeatDormantPercent = 7
	// RFMSegmentOthers is the segment of a row no rule matched.
	RFMSegmentOthers = 0xFFFFFFFF
)

// Transaction is one purchase line; OrderID groups lines of one order when HasOrder.
type Transaction struct {
	ProfileID uint64
	TS        int64 // seconds since the epoch, UTC
	Amount    int64 // minor units; negative for refunds
	OrderID   uint64
	HasOrder  bool
}

// Profile holds the aggregates of one profile (lp_rfm_profile).
type Profile struct {
	ProfileID, Transactions, Orders, Periods uint64
	FirstTS, LastTS, PrevTS                  int64
	Monetary, FirstPeriodValue, RepeatValue  int64
}

// ScoreRow is one scored profile (lp_rfm_row).
type ScoreRow struct {
	ProfileID                    uint64
	Recency, Frequency, Monetary int64
	R, F, M, Segment             uint32
	Stage                        string
}

// ScoreOptions are the settings of Score; zero Bins means 5, zero RecencyUnit one day.
type ScoreOptions struct {
	AsOf        int64
	Bins        uint32
	RecencyUnit int64
	// Segments: "rf10", "rfm11" or "" for none.
	Segments string
}

// RFM is a state of per-profile purchase aggregates (lp_rfm).
type RFM struct{ h *C.lp_rfm }

// NewRFM creates an empty state.
func NewRFM() (*RFM, error) {
	var h *C.lp_rfm
	if rc := C.lp_rfm_create(nil, &h); rc != 0 {
		return nil, newError(rc, "lp_rfm_create", nil)
	}
	r := &RFM{h: h}
	runtime.SetFinalizer(r, (*RFM).Close)
	return r, nil
}

// Close frees the state; further calls return ErrMisuse. Safe to call twice.
func (r *RFM) Close() error {
	if r.h != nil {
		C.lp_rfm_free(r.h)
		r.h = nil
	}
	return nil
}

func (r *RFM) check(rc C.int, op string) error {
	if rc == 0 {
		return nil
	}
	return newError(rc, op, C.lp_rfm_errmsg(r.h))
}

// SetInt sets an option (RFMPeriodSeconds, ...).
func (r *RFM) SetInt(key uint32, v int64) error {
	if r.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(r)
	return r.check(C.lp_rfm_set_int(r.h, C.uint32_t(key), C.int64_t(v)), "lp_rfm_set_int")
}

// GetInt reads an option.
func (r *RFM) GetInt(key uint32) (int64, error) {
	if r.h == nil {
		return 0, errClosed
	}
	defer runtime.KeepAlive(r)
	var v C.int64_t
	err := r.check(C.lp_rfm_get_int(r.h, C.uint32_t(key), &v), "lp_rfm_get_int")
	return int64(v), err
}

// Add ingests transactions, all or nothing.
func (r *RFM) Add(txns []Transaction) error {
	if r.h == nil {
		return errClosed
	}
	if len(txns) == 0 {
		return nil
	}
	buf := make([]C.lp_rfm_txn, len(txns))
	for i, t := range txns {
		b := &buf[i]
		b.struct_size = C.uint32_t(unsafe.Sizeof(*b))
		b.profile_id = C.uint64_t(t.ProfileID)
		b.ts = C.int64_t(t.TS)
		b.amount = C.int64_t(t.Amount)
		if t.HasOrder {
			b.flags = 1
			b.order_id = C.uint64_t(t.OrderID)
		}
	}
	defer runtime.KeepAlive(r)
	return r.check(C.lp_rfm_add(r.h, &buf[0], C.size_t(len(buf))), "lp_rfm_add")
}

// AddProfile registers a profile without a transaction.
func (r *RFM) AddProfile(id uint64) error {
	if r.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(r)
	return r.check(C.lp_rfm_add_profile(r.h, C.uint64_t(id)), "lp_rfm_add_profile")
}

// Len is the number of profiles.
func (r *RFM) Len() int {
	if r.h == nil {
		return 0
	}
	defer runtime.KeepAlive(r)
	return int(C.lp_rfm_count(r.h))
}

// Get returns one profile's aggregates (ErrNotFound when unknown).
func (r *RFM) Get(id uint64) (Profile, error) {
	if r.h == nil {
		return Profile{}, errClosed
	}
	defer runtime.KeepAlive(r)
	var p C.lp_rfm_profile
	p.struct_size = C.uint32_t(unsafe.Sizeof(p))
	if err := r.check(C.lp_rfm_get(r.h, C.uint64_t(id), &p), "lp_rfm_get"); err != nil {
		return Profile{}, err
	}
	return Profile{ProfileID: uint64(p.profile_id), Transactions: uint64(p.transactions),
		Orders: uint64(p.orders), Periods: uint64(p.periods), FirstTS: int64(p.first_ts),
		LastTS: int64(p.last_ts), PrevTS: int64(p.prev_ts), Monetary: int64(p.monetary),
		FirstPeriodValue: int64(p.first_period_value), RepeatValue: int64(p.repeat_value)}, nil
}

// Merge adds a whole shard state into r (other is unchanged).
func (r *RFM) Merge(other *RFM) error {
	if r.h == nil || other == nil || other.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(other)
	defer runtime.KeepAlive(r)
	return r.check(C.lp_rfm_merge(r.h, other.h), "lp_rfm_merge")
}

// MergeProfiles moves every aggregate of from into into.
func (r *RFM) MergeProfiles(into, from uint64) error {
	if r.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(r)
	return r.check(C.lp_rfm_merge_profiles(r.h, C.uint64_t(into), C.uint64_t(from)), "lp_rfm_merge_profiles")
}

// StageName is the name of a lifecycle stage code.
func StageName(stage uint32) string { return C.GoString(C.lp_rfm_stage_name(C.uint32_t(stage))) }

// Score scores every profile with a transaction, sorted by profile id.
func (r *RFM) Score(o ScoreOptions) ([]ScoreRow, error) {
	if r.h == nil {
		return nil, errClosed
	}
	defer runtime.KeepAlive(r)
	var opts C.lp_rfm_score_options
	opts.struct_size = C.uint32_t(unsafe.Sizeof(opts))
	opts.bins, opts.recency_unit, opts.as_of = 5, 86400, C.int64_t(o.AsOf)
	if o.Bins != 0 {
		opts.bins = C.uint32_t(o.Bins)
	}
	if o.RecencyUnit != 0 {
		opts.recency_unit = C.int64_t(o.RecencyUnit)
	}
	var seg *C.lp_rfm_segmap
	switch o.Segments {
	case "":
	case "rf10", "rfm11":
		which := C.uint32_t(1)
		if o.Segments == "rfm11" {
			which = 2
		}
		if rc := C.lp_rfm_segmap_builtin(nil, which, &seg); rc != 0 {
			return nil, newError(rc, "lp_rfm_segmap_builtin", nil)
		}
		defer C.lp_rfm_segmap_free(seg)
	default:
		return nil, argError("Score", "unknown segment map %q; allowed: rf10, rfm11, \"\"", o.Segments)
	}
	var need C.size_t
	if err := r.check(C.lp_rfm_score(r.h, &opts, seg, nil, 0, &need), "lp_rfm_score"); err != nil {
		return nil, err
	}
	if need == 0 {
		return []ScoreRow{}, nil
	}
	rows := make([]C.lp_rfm_row, int(need))
	if err := r.check(C.lp_rfm_score(r.h, &opts, seg, &rows[0], need, &need), "lp_rfm_score"); err != nil {
		return nil, err
	}
	out := make([]ScoreRow, len(rows))
	for i, w := range rows {
		out[i] = ScoreRow{ProfileID: uint64(w.profile_id), Recency: int64(w.recency),
			Frequency: int64(w.frequency), Monetary: int64(w.monetary), R: uint32(w.r),
			F: uint32(w.f), M: uint32(w.m), Segment: uint32(w.segment), Stage: StageName(uint32(w.stage))}
	}
	return out, nil
}

type transitionState struct {
	fn func(id uint64, from, to string)
}

//export lpGoTransition
func lpGoTransition(ud C.uintptr_t, id C.uint64_t, from, to C.uint32_t) {
	st := cgo.Handle(ud).Value().(*transitionState)
	st.fn(uint64(id), StageName(uint32(from)), StageName(uint32(to)))
}

// UpdateStages re-evaluates every stage at asOf and calls fn (may be nil)
// for each change; fn must not call r (that is ErrMisuse). Returns the count.
func (r *RFM) UpdateStages(asOf int64, fn func(id uint64, from, to string)) (int, error) {
	if r.h == nil {
		return 0, errClosed
	}
	defer runtime.KeepAlive(r)
	var ud C.uintptr_t
	if fn != nil {
		h := cgo.NewHandle(&transitionState{fn: fn})
		defer h.Delete()
		ud = C.uintptr_t(h)
	}
	var changed C.size_t
	err := r.check(C.lp_go_rfm_update_stages(r.h, C.int64_t(asOf), ud, &changed), "lp_rfm_update_stages")
	return int(changed), err
}

// Save writes the snapshot to w through the library's writer callback.
func (r *RFM) Save(w io.Writer) error {
	if r.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(r)
	return withIO(&ioState{w: w}, func(ud C.uintptr_t) error {
		return r.check(C.lp_go_rfm_save(r.h, ud), "lp_rfm_save")
	})
}

// Load replaces the state by a snapshot read from rd (unchanged on failure).
func (r *RFM) Load(rd io.Reader) error {
	if r.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(r)
	return withIO(&ioState{r: rd}, func(ud C.uintptr_t) error {
		return r.check(C.lp_go_rfm_load(r.h, ud), "lp_rfm_load")
	})
}

// MarshalBinary is the snapshot (encoding.BinaryMarshaler).
func (r *RFM) MarshalBinary() ([]byte, error) { return marshal(r.Save) }

// UnmarshalBinary loads a snapshot (encoding.BinaryUnmarshaler).
func (r *RFM) UnmarshalBinary(b []byte) error { return r.Load(bytesReader(b)) }
