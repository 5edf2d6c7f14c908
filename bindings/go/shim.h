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
int lp_go_clv_save(const lp_clv *h, uintptr_t ud);
int lp_go_clv_load(lp_clv *h, uintptr_t ud);
/* lp_clv_data is built on the C side: a Go struct holding slice pointers
 * may not be passed to C, the slices themselves may. */
int lp_go_clv_fit(lp_clv *h, uint32_t model, size_t n, const double *frequency,
                  const double *recency, const double *T, const double *monetary,
                  const double *weights);
int lp_go_clv_predict(const lp_clv *h, uint32_t what, size_t n, const double *frequency,
                      const double *recency, const double *T, const double *monetary,
                      double t, double *out);
int lp_go_tags_save(const lp_tags *h, uintptr_t ud);
int lp_go_tags_load(lp_tags *h, uintptr_t ud);
int lp_go_idgraph_set_notify(lp_idgraph *h, uintptr_t ud);
int lp_go_rfm_update_stages(lp_rfm *h, int64_t as_of, uintptr_t ud, size_t *changed);
#endif
