// Rng: a small, fast, portable pseudo-random generator (xoshiro256**, seeded
// through splitmix64) with its own distributions.
//
// The generator promises "same seed, same events" on every machine and
// compiler, which std::uniform_int_distribution and friends do not (their
// algorithms are implementation-defined), so the distributions live here.
//
// Thread-safety: none; one Rng per thread.
#pragma once

#include <cstdint>

namespace eventflow::generator {

class Rng {
 public:
  //! Seeds the four state words from `seed` through splitmix64.
  explicit Rng(uint64_t seed);

  //! Returns the next 64 random bits.
  uint64_t Next();

  //! Returns a uniformly distributed integer in [0, n); n must be > 0.
  uint64_t Uniform(uint64_t n);

  //! Returns a uniformly distributed double in [0, 1).
  double UniformDouble();

  //! Returns true with probability p.
  bool Bernoulli(double p) { return UniformDouble() < p; }

 private:
  uint64_t s_[4];
};

}  // namespace eventflow::generator
