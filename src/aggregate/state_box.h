// StateBox: the state of an aggregate that needs more than AggState's count
// and value: HIST and LHIST's buckets (Dist), QUANTILE's sketch, COUNT
// (DISTINCT)'s hashes. It copies deeply, so AggState stays a plain
// aggregate that copies like a value, and it is null until the first value:
// other aggregates pay one pointer.
//
//   StateBox b;
//   b.make<Dist>().add_bucket(3, 1);
//   b.get<Dist>()->total();            // 1
//   b.get<QuantileSketch>();           // null: the box holds a Dist
//
// An aggregate's box only ever holds its own kind (the partial's shape says
// which); make<T>() on a box holding another kind replaces it.
//
// Thread safety: none, as the AggState it is in.
#pragma once

#include <memory>
#include <variant>

#include "aggregate/distinct_count.h"
#include "aggregate/distribution.h"
#include "aggregate/quantile_sketch.h"

namespace pivot::aggregate {

class StateBox {
 public:
  StateBox() = default;
  StateBox(const StateBox& o) : p_(o.p_ ? std::make_unique<State>(*o.p_) : nullptr) {}
  StateBox(StateBox&&) noexcept = default;
  StateBox& operator=(const StateBox& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<State>(*o.p_) : nullptr;
    return *this;
  }
  StateBox& operator=(StateBox&&) noexcept = default;

  template <class T>
  T* get() const {
    return p_ ? std::get_if<T>(p_.get()) : nullptr;
  }
  template <class T>
  T& make() {
    if (!p_) {
      p_ = std::make_unique<State>(std::in_place_type<T>);
    } else if (!std::holds_alternative<T>(*p_)) {
      p_->emplace<T>();
    }
    return std::get<T>(*p_);
  }

 private:
  using State = std::variant<Dist, QuantileSketch, DistinctCount>;
  std::unique_ptr<State> p_;
};

}  // namespace pivot::aggregate
