/* C side of the cgo binding: the library's callbacks call back into Go
 * through these trampolines; the Go value travels as a runtime/cgo.Handle
 * in the callback's ud (a uintptr_t, never a Go pointer). */
#ifndef LIBPROFILE_GO_SHIM_H
#define LIBPROFILE_GO_SHIM_H
#include <stdint.h>
#include <libprofile.h>

int lp_go_idgraph_save(const lp_idgraph *h, uintptr_t ud);
int lp_go_idgraph_load(lp_idgraph *h, uintptr_t ud);
int lp_go_rfm_save(const lp_rfm *h, uintptr_t ud);
int lp_go_rfm_load(lp_rfm *h, uintptr_t ud);
int lp_go_kmeans_save(const lp_kmeans *h, uintptr_t ud);
int lp_go_kmeans_load(lp_kmeans *h, uintptr_t ud);
int lp_go_idgraph_set_notify(lp_idgraph *h, uintptr_t ud);
int lp_go_rfm_update_stages(lp_rfm *h, int64_t as_of, uintptr_t ud, size_t *changed);
#endif
