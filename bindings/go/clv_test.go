package libprofile_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"libprofile.invalid/go/libprofile"
)

func bgnbdData(n int) libprofile.CLVData {
	rng := rand.New(rand.NewSource(5))
	d := libprofile.CLVData{}
	for i := 0; i < n; i++ {
		T := float64(30 + rng.Intn(10))
		x, tx := 0.0, 0.0
		lam := rng.ExpFloat64() * 0.1
		for t := rng.ExpFloat64() / lam; t <= T; t += rng.ExpFloat64() / lam {
			x++
			tx = math.Floor(t)
			if rng.Float64() < 0.3 {
				break
			}
		}
		d.Frequency, d.Recency, d.T = append(d.Frequency, x), append(d.Recency, tx), append(d.T, T)
	}
	return d
}

func TestCLVFitPredictSave(t *testing.T) {
	d := bgnbdData(1500)
	c, _ := libprofile.NewCLV()
	defer c.Close()
	if _, err := c.Params(libprofile.ModelBGNBD); !errors.Is(err, libprofile.ErrNotFound) {
		t.Fatalf("params before fit: %v", err)
	}
	if err := c.Fit(libprofile.ModelBGNBD, d); err != nil {
		t.Fatal(err)
	}
	p, err := c.Params(libprofile.ModelBGNBD)
	if err != nil || len(p) != 4 {
		t.Fatal(err, p)
	}
	alive, err := c.Predict(libprofile.PredPAlive, d, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, alpha, a, b := p[0], p[1], p[2], p[3]
	for i := range alive { // the closed form (Fader, Hardie, Lee 2005)
		x, tx, T := d.Frequency[i], d.Recency[i], d.T[i]
		want := 1.0
		if x > 0 {
			want = 1 / (1 + a/(b+x-1)*math.Pow((alpha+T)/(alpha+tx), r+x))
		}
		if math.Abs(alive[i]-want) > 1e-9*want {
			t.Fatalf("row %d: P(alive) %v, closed form %v", i, alive[i], want)
		}
	}
	var buf bytes.Buffer
	if err := c.Save(&buf); err != nil {
		t.Fatal(err)
	}
	c2, _ := libprofile.NewCLV()
	defer c2.Close()
	if err := c2.Load(&buf); err != nil {
		t.Fatal(err)
	}
	p2, _ := c2.Params(libprofile.ModelBGNBD)
	if fmt.Sprint(p) != fmt.Sprint(p2) {
		t.Fatal("round trip changed the parameters")
	}
	bad := d
	bad.Recency = bad.Recency[:10]
	if err := c.Fit(libprofile.ModelBGNBD, bad); !errors.Is(err, libprofile.ErrInvalid) {
		t.Fatal(err)
	}
	neg := libprofile.CLVData{Frequency: []float64{-1}, Recency: []float64{0}, T: []float64{1}}
	if err := c.Fit(libprofile.ModelBGNBD, neg); !errors.Is(err, libprofile.ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := c.Predict(libprofile.PredAvgValue, d, 0); !errors.Is(err, libprofile.ErrMisuse) {
		t.Fatalf("spend prediction without a spend model: %v", err)
	}
}
