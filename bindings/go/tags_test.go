package libprofile_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"libprofile.invalid/go/libprofile"
)

func TestTagsAudiences(t *testing.T) {
	tg, _ := libprofile.NewTags()
	defer tg.Close()
	vip, err := tg.Define(libprofile.TagDef{Name: "vip"})
	if err != nil {
		t.Fatal(err)
	}
	spend, _ := tg.DefineAttr("spend", libprofile.TagDecimal, 2)
	rich, _ := tg.Define(libprofile.TagDef{Name: "rich"})
	if err := tg.SetRule(rich, "vip and spend >= 100"); err != nil {
		t.Fatal(err)
	}
	for p := uint64(1); p <= 6; p++ {
		_ = tg.SetAttrInt(p, spend, int64(p)*3000) // 30.00 .. 180.00
		if p%2 == 0 {
			_ = tg.Set(p, vip, 0, 0, 0)
		}
	}
	_ = tg.Set(1, vip, 0, 0, 50) // expires at 50
	if err := tg.Evaluate(0); err != nil {
		t.Fatal(err)
	}
	ids, err := tg.Audience("rich", "", 0)
	if err != nil || fmt.Sprint(ids) != "[4 6]" {
		t.Fatal(err, ids)
	}
	if n, _ := tg.Count("vip", "", 10); n != 4 {
		t.Fatal(n)
	}
	if n, _ := tg.Count("vip", "", 60); n != 3 {
		t.Fatal("expiry not applied", n)
	}
	if _, err := tg.Count("vip and", "", 0); !errors.Is(err, libprofile.ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := tg.Define(libprofile.TagDef{Name: "vip"}); err == nil {
		t.Fatal("duplicate name accepted")
	}
	var buf bytes.Buffer
	if err := tg.Save(&buf); err != nil {
		t.Fatal(err)
	}
	again, _ := libprofile.NewTags()
	defer again.Close()
	if err := again.Load(&buf); err != nil {
		t.Fatal(err)
	}
	if n, _ := again.Count("rich", "", 0); n != 2 {
		t.Fatal("round trip", n)
	}
}
