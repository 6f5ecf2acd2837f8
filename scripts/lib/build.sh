# Sourced by scripts/run and scripts/test: the one CMake configuration of the
# plain build in build/, so that whichever script runs first, the other finds
# the same cache and builds only what is missing (a differing option would
# reconfigure, and a differing flag would recompile everything).
#
# eventflow_configure_build: configures build/ (RelWithDebInfo, tests and
# benchmarks on; -DEVENTFLOW_WERROR=ON when CI=true; ccache when installed).
eventflow_plain_cmake_args() {
  local args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
              -DEVENTFLOW_BUILD_TESTS=ON -DEVENTFLOW_BUILD_BENCH=ON)
  if [ "${CI:-}" = "true" ]; then args+=(-DEVENTFLOW_WERROR=ON); else args+=(-DEVENTFLOW_WERROR=OFF); fi
  if command -v ccache >/dev/null; then
    args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  else
    args+=(-UCMAKE_CXX_COMPILER_LAUNCHER -UCMAKE_C_COMPILER_LAUNCHER)
  fi
  printf '%s\n' "${args[@]}"
}

eventflow_configure_build() {
  local args
  mapfile -t args < <(eventflow_plain_cmake_args)
  cmake -S . -B build "${args[@]}" >/dev/null
}
