package libprofile

/*
#include "shim.h"
*/
import "C"

import (
	"io"
	"runtime"
)

// CLV models.
const (
	ModelBGNBD  = 1 // BG/NBD: r, alpha, a, b
	ModelPNBD   = 2 // Pareto/NBD: r, alpha, s, beta
	ModelMBGNBD = 3 // MBG/NBD: r, alpha, a, b
	ModelBGBB   = 4 // BG/BB: alpha, beta, gamma, delta
	ModelGG     = 5 // Gamma-Gamma: p, q, v
)

// CLV predictions (Predict's what).
const (
	PredConditional = 1 // expected purchases in (T, T+t]
	PredPAlive      = 2 // P(alive) at T+t
	PredAvgValue    = 3 // Gamma-Gamma mean spend
	PredCLV         = 4 // discounted lifetime value over t
)

// CLVData are per-customer columns of equal length (Monetary and Weights may be nil).
type CLVData struct {
	Frequency, Recency, T, Monetary, Weights []float64
}

// CLV holds fitted lifetime-value models (lp_clv): one purchase model and
// one spend model at most.
type CLV struct{ h *C.lp_clv }

// NewCLV creates an empty handle.
func NewCLV() (*CLV, error) {
	var h *C.lp_clv
	if rc := C.lp_clv_create(nil, &h); rc != 0 {
		return nil, newError(rc, "lp_clv_create", nil)
	}
	c := &CLV{h: h}
	runtime.SetFinalizer(c, (*CLV).Close)
	return c, nil
}

// Close frees the handle. Safe to call twice.
func (c *CLV) Close() error {
	if c.h != nil {
		C.lp_clv_free(c.h)
		c.h = nil
	}
	return nil
}

func (c *CLV) check(rc C.int, op string) error {
	if rc == 0 {
		return nil
	}
	return newError(rc, op, C.lp_clv_errmsg(c.h))
}

// checkData checks that the columns have one length.
func checkData(op string, d CLVData) error {
	n := len(d.Frequency)
	if n == 0 || len(d.Recency) != n || len(d.T) != n ||
		(d.Monetary != nil && len(d.Monetary) != n) || (d.Weights != nil && len(d.Weights) != n) {
		return argError(op, "columns of different lengths or empty (frequency %d, recency %d, T %d)",
			n, len(d.Recency), len(d.T))
	}
	return nil
}

// Fit fits a model by maximum likelihood (deterministic BFGS).
func (c *CLV) Fit(model uint32, d CLVData) error {
	if c.h == nil {
		return errClosed
	}
	if err := checkData("Fit", d); err != nil {
		return err
	}
	defer runtime.KeepAlive(c)
	return c.check(C.lp_go_clv_fit(c.h, C.uint32_t(model), C.size_t(len(d.Frequency)), f64(d.Frequency),
		f64(d.Recency), f64(d.T), f64(d.Monetary), f64(d.Weights)), "lp_clv_fit")
}

// Params returns a fitted model's parameters.
func (c *CLV) Params(model uint32) ([]float64, error) {
	if c.h == nil {
		return nil, errClosed
	}
	defer runtime.KeepAlive(c)
	out := make([]float64, 4)
	var need C.size_t
	err := c.check(C.lp_clv_params(c.h, C.uint32_t(model), 0, f64(out), 4, &need), "lp_clv_params")
	return out[:int(need)], err
}

// Predict computes one value per customer (PredConditional, ...).
func (c *CLV) Predict(what uint32, d CLVData, t float64) ([]float64, error) {
	if c.h == nil {
		return nil, errClosed
	}
	if err := checkData("Predict", d); err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(c)
	out := make([]float64, len(d.Frequency))
	err := c.check(C.lp_go_clv_predict(c.h, C.uint32_t(what), C.size_t(len(out)), f64(d.Frequency),
		f64(d.Recency), f64(d.T), f64(d.Monetary), C.double(t), f64(out)), "lp_clv_predict")
	return out, err
}

// Save writes the snapshot to w.
func (c *CLV) Save(w io.Writer) error {
	if c.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(c)
	return withIO(&ioState{w: w}, func(ud C.uintptr_t) error {
		return c.check(C.lp_go_clv_save(c.h, ud), "lp_clv_save")
	})
}

// Load replaces the models by a snapshot.
func (c *CLV) Load(r io.Reader) error {
	if c.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(c)
	return withIO(&ioState{r: r}, func(ud C.uintptr_t) error {
		return c.check(C.lp_go_clv_load(c.h, ud), "lp_clv_load")
	})
}
