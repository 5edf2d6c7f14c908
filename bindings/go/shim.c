#include "shim.h"
#include "_cgo_export.h"

static int go_writer(void *ud, const void *buf, size_t len) {
  return lpGoWrite((uintptr_t)ud, (void *)buf, len);
}

static int go_reader(void *ud, void *buf, size_t cap, size_t *got) {
  return lpGoRead((uintptr_t)ud, buf, cap, got);
}

#define LP_GO_IO(mod)                                                   \
  int lp_go_##mod##_save(const lp_##mod *h, uintptr_t ud) {             \
    return lp_##mod##_save(h, go_writer, (void *)ud);                   \
  }                                                                     \
  int lp_go_##mod##_load(lp_##mod *h, uintptr_t ud) {                   \
    return lp_##mod##_load(h, go_reader, (void *)ud);                   \
  }

LP_GO_IO(idgraph)
LP_GO_IO(rfm)
LP_GO_IO(kmeans)
LP_GO_IO(clv)
LP_GO_IO(tags)

static void go_notify(void *ud, uint32_t change, uint64_t old_id, uint64_t new_id) {
  lpGoNotify((uintptr_t)ud, change, old_id, new_id);
}

int lp_go_idgraph_set_notify(lp_idgraph *h, uintptr_t ud) {
  return lp_idgraph_set_notify(h, ud ? go_notify : NULL, (void *)ud);
}

static void go_transition(void *ud, uint64_t id, uint32_t from, uint32_t to) {
  lpGoTransition((uintptr_t)ud, id, from, to);
}

int lp_go_rfm_update_stages(lp_rfm *h, int64_t as_of, uintptr_t ud, size_t *changed) {
  return lp_rfm_update_stages(h, as_of, ud ? go_transition : NULL, (void *)ud, changed);
}

static lp_clv_data go_clv_data(size_t n, const double *frequency, const double *recency,
                               const double *T, const double *monetary,
                               const double *weights) {
  lp_clv_data d = LP_CLV_DATA_INIT;
  d.n = n;
  d.frequency = frequency;
  d.recency = recency;
  d.T = T;
  d.monetary = monetary;
  d.weights = weights;
  return d;
}

int lp_go_clv_fit(lp_clv *h, uint32_t model, size_t n, const double *frequency,
                  const double *recency, const double *T, const double *monetary,
                  const double *weights) {
  lp_clv_data d = go_clv_data(n, frequency, recency, T, monetary, weights);
  return lp_clv_fit(h, model, &d, NULL);
}

int lp_go_clv_predict(const lp_clv *h, uint32_t what, size_t n, const double *frequency,
                      const double *recency, const double *T, const double *monetary,
                      double t, double *out) {
  lp_clv_data d = go_clv_data(n, frequency, recency, T, monetary, NULL);
  size_t needed = 0;
  return lp_clv_predict(h, what, &d, t, out, n, &needed);
}
