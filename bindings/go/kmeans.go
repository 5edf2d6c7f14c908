package libprofile

/*
#include "shim.h"
*/
import "C"

import (
	"io"
	"runtime"
	"unsafe"
)

// k-means option keys (SetInt) and values.
const (
	KMeansK             = 1
	KMeansMaxIter       = 2
	KMeansNInit         = 3
	KMeansAlgorithm     = 4
	KMeansInit          = 5
	KMeansSeed          = 6
	KMeansBatchSize     = 7
	KMeansScale         = 8
	KMeansExactSums     = 11
	KMeansAlgoAuto      = 0
	KMeansAlgoLloyd     = 1
	KMeansAlgoHamerly   = 2
	KMeansAlgoMiniBatch = 3
	KMeansAlgoYinyang   = 4
	KMeansInitKMeansPP  = 0
	KMeansInitRandom    = 1
)

// KMeans is a k-means model (lp_kmeans). Data is row-major: n rows of d
// float64 values in one slice of length n*d.
type KMeans struct{ h *C.lp_kmeans }

// NewKMeans creates a handle with k clusters and the library's defaults.
func NewKMeans(k int) (*KMeans, error) {
	var h *C.lp_kmeans
	if rc := C.lp_kmeans_create(nil, &h); rc != 0 {
		return nil, newError(rc, "lp_kmeans_create", nil)
	}
	m := &KMeans{h: h}
	runtime.SetFinalizer(m, (*KMeans).Close)
	if err := m.SetInt(KMeansK, int64(k)); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Close frees the model. Safe to call twice.
func (m *KMeans) Close() error {
	if m.h != nil {
		C.lp_kmeans_free(m.h)
		m.h = nil
	}
	return nil
}

func (m *KMeans) check(rc C.int, op string) error {
	if rc == 0 {
		return nil
	}
	return newError(rc, op, C.lp_kmeans_errmsg(m.h))
}

func f64(s []float64) *C.double {
	if len(s) == 0 {
		return nil
	}
	return (*C.double)(unsafe.Pointer(&s[0]))
}

// SetInt sets an integer option (KMeansK, KMeansSeed, ...).
func (m *KMeans) SetInt(key uint32, v int64) error {
	if m.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(m)
	return m.check(C.lp_kmeans_set_int(m.h, C.uint32_t(key), C.int64_t(v)), "lp_kmeans_set_int")
}

// SetTol sets the tolerance (relative to the mean column variance).
func (m *KMeans) SetTol(tol float64) error {
	if m.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(m)
	return m.check(C.lp_kmeans_set_double(m.h, 100, C.double(tol)), "lp_kmeans_set_double")
}

// SetInitCentroids gives the starting centroids (k x d, row-major).
func (m *KMeans) SetInitCentroids(c []float64, k, d int) error {
	if m.h == nil {
		return errClosed
	}
	if k <= 0 || d <= 0 || len(c) != k*d {
		return argError("SetInitCentroids", "%d values for %d x %d centroids", len(c), k, d)
	}
	defer runtime.KeepAlive(m)
	return m.check(C.lp_kmeans_set_init_centroids(m.h, f64(c), C.size_t(k), C.size_t(d)), "lp_kmeans_set_init_centroids")
}

// Fit fits on x (n x d); weights is nil or n values.
func (m *KMeans) Fit(x []float64, d int, weights []float64) error {
	if m.h == nil {
		return errClosed
	}
	if d <= 0 || len(x)%d != 0 {
		return argError("Fit", "%d values are not rows of %d columns", len(x), d)
	}
	n := len(x) / d
	if weights != nil && len(weights) != n {
		return argError("Fit", "%d weights for %d rows", len(weights), n)
	}
	defer runtime.KeepAlive(m)
	return m.check(C.lp_kmeans_fit(m.h, f64(x), C.size_t(n), C.size_t(d), f64(weights)), "lp_kmeans_fit")
}

// K and Dim are the model's shape (0 without a model).
func (m *KMeans) K() int   { defer runtime.KeepAlive(m); return int(C.lp_kmeans_k(m.h)) }
func (m *KMeans) Dim() int { defer runtime.KeepAlive(m); return int(C.lp_kmeans_dim(m.h)) }

// Inertia is the training rows' weighted squared distance sum.
func (m *KMeans) Inertia() float64 {
	defer runtime.KeepAlive(m)
	return float64(C.lp_kmeans_inertia(m.h))
}

// NIter is the iterations of the best restart.
func (m *KMeans) NIter() int { defer runtime.KeepAlive(m); return int(C.lp_kmeans_n_iter(m.h)) }

// Centroids returns k x d centroids in the input units.
func (m *KMeans) Centroids() ([]float64, error) {
	if m.h == nil {
		return nil, errClosed
	}
	defer runtime.KeepAlive(m)
	out := make([]float64, int(C.lp_kmeans_centroids_bound(m.h)))
	var need C.size_t
	err := m.check(C.lp_kmeans_centroids(m.h, 1, f64(out), C.size_t(len(out)), &need), "lp_kmeans_centroids")
	return out[:int(need)], err
}

// Labels returns the training labels.
func (m *KMeans) Labels() ([]uint32, error) {
	if m.h == nil {
		return nil, errClosed
	}
	defer runtime.KeepAlive(m)
	out := make([]uint32, int(C.lp_kmeans_labels_bound(m.h))+1)
	var need C.size_t
	err := m.check(C.lp_kmeans_labels(m.h, (*C.uint32_t)(unsafe.Pointer(&out[0])), C.size_t(len(out)), &need), "lp_kmeans_labels")
	return out[:int(need)], err
}

// Predict returns the nearest centroid of each row of x (n x Dim()).
func (m *KMeans) Predict(x []float64) ([]uint32, error) {
	if m.h == nil {
		return nil, errClosed
	}
	defer runtime.KeepAlive(m)
	d := m.Dim()
	if d == 0 {
		return nil, &Error{Code: -10, Op: "Predict", Message: "no model: call Fit first"}
	}
	if len(x)%d != 0 {
		return nil, argError("Predict", "%d values are not rows of %d columns", len(x), d)
	}
	n := len(x) / d
	out := make([]uint32, n+1)
	err := m.check(C.lp_kmeans_predict(m.h, f64(x), C.size_t(n), C.size_t(d), (*C.uint32_t)(unsafe.Pointer(&out[0])), nil), "lp_kmeans_predict")
	return out[:n], err
}

// Save writes the model's snapshot to w.
func (m *KMeans) Save(w io.Writer) error {
	if m.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(m)
	return withIO(&ioState{w: w}, func(ud C.uintptr_t) error {
		return m.check(C.lp_go_kmeans_save(m.h, ud), "lp_kmeans_save")
	})
}

// Load replaces the model by a snapshot.
func (m *KMeans) Load(r io.Reader) error {
	if m.h == nil {
		return errClosed
	}
	defer runtime.KeepAlive(m)
	return withIO(&ioState{r: r}, func(ud C.uintptr_t) error {
		return m.check(C.lp_go_kmeans_load(m.h, ud), "lp_kmeans_load")
	})
}

// MarshalBinary is the snapshot.
func (m *KMeans) MarshalBinary() ([]byte, error) { return marshal(m.Save) }

// UnmarshalBinary loads a snapshot.
func (m *KMeans) UnmarshalBinary(b []byte) error { return m.Load(bytesReader(b)) }
