package libprofile_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"runtime"
	"testing"

	"libprofile.invalid/go/libprofile"
)

type failWriter struct{}

var errDisk = errors.New("disk full")

func (failWriter) Write(p []byte) (int, error) { return 0, errDisk }

func TestVersionAndSentinels(t *testing.T) {
	if libprofile.Version() != "1.2.0" {
		t.Fatalf("version %q", libprofile.Version())
	}
	if errors.Is(libprofile.ErrNotFound, libprofile.ErrInvalid) {
		t.Fatal("sentinels of different codes match")
	}
}

func txns(n int, seed int64) []libprofile.Transaction {
	rng := rand.New(rand.NewSource(seed))
	out := make([]libprofile.Transaction, n)
	for i := range out {
		out[i] = libprofile.Transaction{ProfileID: uint64(rng.Intn(500)), TS: int64(rng.Intn(100 * 86400)),
			Amount: int64(rng.Intn(10000) - 500), OrderID: uint64(rng.Intn(800)), HasOrder: i%3 != 0}
	}
	return out
}

func TestRFMShardsAndSnapshots(t *testing.T) {
	all := txns(5000, 1)
	single, _ := libprofile.NewRFM()
	defer single.Close()
	if err := single.Add(all); err != nil {
		t.Fatal(err)
	}
	merged, _ := libprofile.NewRFM()
	defer merged.Close()
	for s := 0; s < 3; s++ {
		shard, _ := libprofile.NewRFM()
		var part []libprofile.Transaction
		for _, tx := range all {
			if tx.ProfileID%3 == uint64(s) {
				part = append(part, tx)
			}
		}
		if err := shard.Add(part); err != nil {
			t.Fatal(err)
		}
		if err := merged.Merge(shard); err != nil {
			t.Fatal(err)
		}
		shard.Close()
	}
	a, _ := single.MarshalBinary()
	b, _ := merged.MarshalBinary()
	if !bytes.Equal(a, b) {
		t.Fatal("merged shards differ from the single state")
	}
	again, _ := libprofile.NewRFM()
	defer again.Close()
	if err := again.UnmarshalBinary(a); err != nil {
		t.Fatal(err)
	}
	if again.Len() != single.Len() {
		t.Fatal("round trip lost profiles")
	}
	rows, err := single.Score(libprofile.ScoreOptions{AsOf: 101 * 86400, Segments: "rf10"})
	if err != nil || len(rows) != single.Len() {
		t.Fatal(err, len(rows))
	}
	for i := 1; i < len(rows); i++ {
		if rows[i-1].ProfileID >= rows[i].ProfileID {
			t.Fatal("rows not sorted by id")
		}
	}
	// errors
	if err := single.Save(failWriter{}); !errors.Is(err, errDisk) {
		t.Fatalf("writer error not returned: %v", err)
	}
	bad := append([]byte(nil), a...)
	bad[len(bad)/2] ^= 0xff
	if err := again.UnmarshalBinary(bad); !errors.Is(err, libprofile.ErrCorrupt) {
		t.Fatalf("corrupt snapshot: %v", err)
	}
	if _, err := single.Score(libprofile.ScoreOptions{AsOf: 0}); !errors.Is(err, libprofile.ErrRange) {
		t.Fatalf("as_of before a transaction: %v", err)
	}
	if _, err := single.Score(libprofile.ScoreOptions{AsOf: 101 * 86400, Segments: "x"}); !errors.Is(err, libprofile.ErrInvalid) {
		t.Fatalf("bad segment map: %v", err)
	}
	if err := single.Add([]libprofile.Transaction{{ProfileID: 1, Amount: -1 << 63}}); !errors.Is(err, libprofile.ErrRange) {
		t.Fatalf("INT64_MIN amount: %v", err)
	}
	if err := single.MergeProfiles(1, 1); !errors.Is(err, libprofile.ErrInvalid) {
		t.Fatalf("merge into itself: %v", err)
	}
	other, _ := libprofile.NewRFM()
	defer other.Close()
	_ = other.SetInt(libprofile.RFMPeriodSeconds, 3600)
	if v, _ := other.GetInt(libprofile.RFMPeriodSeconds); v != 3600 {
		t.Fatal("option not kept")
	}
	if err := single.Merge(other); !errors.Is(err, libprofile.ErrConflict) {
		t.Fatalf("different periods: %v", err)
	}
	if err := other.SetInt(999, 1); !errors.Is(err, libprofile.ErrInvalid) {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestRFMStagesCallbackAndReentry(t *testing.T) {
	r, _ := libprofile.NewRFM()
	defer r.Close()
	_ = r.Add([]libprofile.Transaction{{ProfileID: 1, TS: 0, Amount: 5}, {ProfileID: 2, TS: 0, Amount: 5}})
	var seen []string
	var inner error
	n, err := r.UpdateStages(86400, func(id uint64, from, to string) {
		seen = append(seen, fmt.Sprint(id, from, to))
		inner = r.AddProfile(99)
	})
	if err != nil || n != 2 || len(seen) != 2 {
		t.Fatal(err, n, seen)
	}
	if !errors.Is(inner, libprofile.ErrMisuse) {
		t.Fatalf("re-entry from the callback: %v", inner)
	}
	if _, err := r.Get(99); !errors.Is(err, libprofile.ErrNotFound) {
		t.Fatal("the refused call changed the state")
	}
}

func TestClosedHandles(t *testing.T) {
	r, _ := libprofile.NewRFM()
	r.Close()
	r.Close()
	if err := r.AddProfile(1); !errors.Is(err, libprofile.ErrMisuse) {
		t.Fatal(err)
	}
	g, _ := libprofile.NewIdentityGraph()
	g.Close()
	if _, err := g.Profiles(); !errors.Is(err, libprofile.ErrMisuse) {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ { // finalizers free what is not closed
		k, _ := libprofile.NewKMeans(2)
		_ = k
	}
	runtime.GC()
}

func newGraph(t *testing.T) (*libprofile.IdentityGraph, uint32, uint32) {
	g, err := libprofile.NewIdentityGraph()
	if err != nil {
		t.Fatal(err)
	}
	_ = g.SetKey([]byte("go test key"))
	email, err := g.AddType(libprofile.TypeDef{Name: "email", Normalizer: libprofile.NormEmail, Priority: 10})
	if err != nil {
		t.Fatal(err)
	}
	cookie, _ := g.AddType(libprofile.TypeDef{Name: "cookie"})
	return g, email, cookie
}

func TestIdentityShardsMergeToOneGraph(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	type event struct {
		ids []libprofile.Ident
		ts  int64
	}
	single, email, cookie := newGraph(t)
	defer single.Close()
	shards := make([]*libprofile.IdentityGraph, 3)
	for i := range shards {
		shards[i], _, _ = newGraph(t)
		defer shards[i].Close()
	}
	for i := 0; i < 2000; i++ {
		ids := []libprofile.Ident{{Type: cookie, Value: fmt.Sprint("c", rng.Intn(2000))}}
		if rng.Intn(2) == 0 {
			ids = append(ids, libprofile.Ident{Type: email, Value: fmt.Sprintf("u%d@x.org", rng.Intn(800))})
		}
		if _, err := single.Observe(ids, int64(i), "web"); err != nil {
			t.Fatal(err)
		}
		if _, err := shards[rng.Intn(3)].Observe(ids, int64(i), "web"); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range shards[1:] {
		if err := shards[0].Merge(s); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := single.MarshalBinary()
	b, _ := shards[0].MarshalBinary()
	if !bytes.Equal(a, b) {
		t.Fatal("merged graph differs from the single graph")
	}
	st, _ := single.Stats()
	ps, _ := single.Profiles()
	if int(st.Profiles) != len(ps) || st.Events != 2000 {
		t.Fatal(st, len(ps))
	}
	fresh, _, _ := newGraph(t)
	defer fresh.Close()
	if err := fresh.Load(bytes.NewReader(a)); err != nil {
		t.Fatal(err)
	}
	if id, err := fresh.TypeID("cookie"); err != nil || id != cookie {
		t.Fatal(err)
	}
}

func TestIdentityErrorsAndNotify(t *testing.T) {
	g, email, cookie := newGraph(t)
	defer g.Close()
	if _, err := g.Observe(nil, 0, ""); !errors.Is(err, libprofile.ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := g.Observe([]libprofile.Ident{{Type: 99, Value: "x"}}, 0, ""); err == nil {
		t.Fatal("unknown type accepted")
	}
	if _, err := g.ProfileOf(email, "nobody@x.org"); !errors.Is(err, libprofile.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := g.TypeID("fax"); !errors.Is(err, libprofile.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := g.AddType(libprofile.TypeDef{Name: "email"}); !errors.Is(err, libprofile.ErrInvalid) {
		t.Fatal(err)
	}
	var changes []uint32
	var inner error
	if err := g.OnChange(func(change uint32, oldID, newID uint64) {
		changes = append(changes, change)
		_, inner = g.Stats()
	}); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	_, _ = g.Observe([]libprofile.Ident{{Type: cookie, Value: "1"}}, 1, "a")
	_, _ = g.Observe([]libprofile.Ident{{Type: cookie, Value: "2"}}, 2, "a")
	_, _ = g.Observe([]libprofile.Ident{{Type: cookie, Value: "1"}, {Type: cookie, Value: "2"}}, 3, "a")
	if len(changes) != 1 || changes[0] != libprofile.ChangeMerged {
		t.Fatal(changes)
	}
	if !errors.Is(inner, libprofile.ErrMisuse) {
		t.Fatalf("re-entry from notify: %v", inner)
	}
	if err := g.OnChange(nil); err != nil {
		t.Fatal(err)
	}
	if err := g.SetInt(libprofile.IDGraphStoreRaw, 1); err == nil {
		t.Fatal("option change accepted on a non-empty graph")
	}
}

func TestKMeansErrorsAndDeterminism(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	x := make([]float64, 3000)
	for i := range x {
		x[i] = rng.NormFloat64() + float64((i/3)%3)*5
	}
	fit := func() []float64 {
		km, _ := libprofile.NewKMeans(3)
		defer km.Close()
		_ = km.SetInt(libprofile.KMeansSeed, 7)
		if err := km.Fit(x, 3, nil); err != nil {
			t.Fatal(err)
		}
		c, _ := km.Centroids()
		return c
	}
	a, b := fit(), fit()
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different centroids")
		}
	}
	km, _ := libprofile.NewKMeans(3)
	defer km.Close()
	if _, err := km.Predict(x); !errors.Is(err, libprofile.ErrMisuse) {
		t.Fatal(err)
	}
	if err := km.Fit(x[:10], 3, nil); !errors.Is(err, libprofile.ErrInvalid) {
		t.Fatal(err)
	}
	if err := km.Fit(x, 3, []float64{1}); !errors.Is(err, libprofile.ErrInvalid) {
		t.Fatal(err)
	}
	if err := km.SetTol(-1); !errors.Is(err, libprofile.ErrRange) {
		t.Fatal(err)
	}
	if err := km.SetInitCentroids([]float64{1}, 2, 2); !errors.Is(err, libprofile.ErrInvalid) {
		t.Fatal(err)
	}
	_ = km.SetInt(libprofile.KMeansMaxIter, 50)
	if err := km.Fit(x, 3, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := km.Predict(x[:4]); !errors.Is(err, libprofile.ErrInvalid) {
		t.Fatal(err)
	}
	labels, err := km.Predict(x)
	train, _ := km.Labels()
	if err != nil || len(labels) != 1000 || len(train) != 1000 {
		t.Fatal(err)
	}
	for i := range labels {
		if labels[i] != train[i] {
			t.Fatal("predict differs from the training labels")
		}
	}
	if km.K() != 3 || km.Dim() != 3 || km.NIter() < 1 || km.Inertia() <= 0 {
		t.Fatal(km.K(), km.Dim(), km.NIter(), km.Inertia())
	}
}

func TestKMeansExactAlgorithmsAgree(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	x := make([]float64, 6000)
	for i := range x {
		x[i] = rng.NormFloat64() + float64((i/2)%4)*3
	}
	fit := func(algo int64) []float64 {
		km, _ := libprofile.NewKMeans(4)
		defer km.Close()
		_ = km.SetInt(libprofile.KMeansSeed, 11)
		if err := km.SetInt(libprofile.KMeansAlgorithm, algo); err != nil {
			t.Fatal(err)
		}
		if err := km.Fit(x, 2, nil); err != nil {
			t.Fatal(err)
		}
		c, _ := km.Centroids()
		return c
	}
	lloyd := fit(libprofile.KMeansAlgoLloyd)
	for _, algo := range []int64{libprofile.KMeansAlgoHamerly, libprofile.KMeansAlgoYinyang} {
		c := fit(algo)
		for i := range lloyd {
			if c[i] != lloyd[i] {
				t.Fatalf("algorithm %d: centroid %d differs from Lloyd's", algo, i)
			}
		}
	}
}
