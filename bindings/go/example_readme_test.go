package libprofile_test

import (
	"fmt"

	"libprofile.invalid/go/libprofile"
)

// The README's five-line Go example (bindings/run_tests.py checks that
// README.md shows exactly these lines).
func ExampleIdentityGraph() {
	g, _ := libprofile.NewIdentityGraph() // Close() when done; a finalizer also frees it
	email, _ := g.AddType(libprofile.TypeDef{Name: "email", Normalizer: libprofile.NormEmail})
	ann, _ := g.Observe([]libprofile.Ident{{Type: email, Value: "Ann@Example.org"}}, 1, "web")
	p, _ := g.ProfileOf(email, "ann@example.org")
	fmt.Println(p == ann) // true
	// Output: true
}
