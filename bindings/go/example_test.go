package libprofile_test

import (
	"bytes"
	"errors"
	"fmt"

	"libprofile.invalid/go/libprofile"
)

func ExampleRFM() {
	r, _ := libprofile.NewRFM()
	defer r.Close()
	day := int64(86400)
	_ = r.Add([]libprofile.Transaction{
		{ProfileID: 1, TS: 0, Amount: 1250}, {ProfileID: 1, TS: 3 * day, Amount: 990},
		{ProfileID: 2, TS: day, Amount: 4000},
	})
	rows, _ := r.Score(libprofile.ScoreOptions{AsOf: 5 * day, Bins: 2})
	for _, row := range rows {
		fmt.Println(row.ProfileID, row.Frequency, row.Monetary, row.R, row.F, row.M)
	}
	// Output:
	// 1 2 2240 2 2 1
	// 2 1 4000 1 1 2
}

func ExampleRFM_Merge() {
	a, _ := libprofile.NewRFM()
	b, _ := libprofile.NewRFM()
	defer a.Close()
	defer b.Close()
	_ = a.Add([]libprofile.Transaction{{ProfileID: 7, TS: 10, Amount: 5}})
	_ = b.Add([]libprofile.Transaction{{ProfileID: 7, TS: 20, Amount: 6}})
	_ = a.Merge(b)
	p, _ := a.Get(7)
	fmt.Println(p.Transactions, p.Monetary)
	// Output: 2 11
}

func ExampleError() {
	r, _ := libprofile.NewRFM()
	defer r.Close()
	_, err := r.Get(42)
	fmt.Println(errors.Is(err, libprofile.ErrNotFound))
	var e *libprofile.Error
	fmt.Println(errors.As(err, &e) && e.Code == -6)
	// Output:
	// true
	// true
}

func ExampleKMeans() {
	x := []float64{0, 0, 0, 1, 10, 10, 10, 11}
	km, _ := libprofile.NewKMeans(2)
	defer km.Close()
	_ = km.SetInitCentroids([]float64{0, 0, 10, 10}, 2, 2)
	_ = km.Fit(x, 2, nil)
	labels, _ := km.Labels()
	c, _ := km.Centroids()
	fmt.Println(labels, c)
	// Output: [0 0 1 1] [0 0.5 10 10.5]
}

func ExampleKMeans_Save() {
	km, _ := libprofile.NewKMeans(1)
	defer km.Close()
	_ = km.Fit([]float64{1, 2, 3}, 1, nil)
	var buf bytes.Buffer
	_ = km.Save(&buf)
	again, _ := libprofile.NewKMeans(1)
	defer again.Close()
	_ = again.Load(&buf)
	c, _ := again.Centroids()
	fmt.Println(c)
	// Output: [2]
}
