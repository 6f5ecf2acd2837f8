#!/usr/bin/env bash
# install_package: EventFlow as another C++ project sees it. Installs the build
# tree into a fresh prefix, then builds examples/word-count (a project outside
# the tree) twice — with find_package(eventflow CONFIG) and with pkg-config —
# and runs each binary's self-test (word counts against a plain recount).
#
# Usage: install_package_test.sh <build dir> <source dir> <work dir>
set -euo pipefail
build="$1" src="$2" work="$3"
rm -rf "$work" && mkdir -p "$work"
prefix="$work/prefix"

echo "== cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in lib/cmake/eventflow/eventflowConfig.cmake lib/cmake/eventflow/eventflowTargets.cmake \
         lib/pkgconfig/eventflow.pc include/eventflow/streams/streams_builder.h \
         include/eventflow/streams/internal/kstream_processors.h lib/libeventflow_streams.a; do
  if [ ! -e "$prefix/$f" ]; then
    echo "FAIL: $f was not installed"; exit 1
  fi
done
# Nothing of the source or build tree may leak into the installed package.
if grep -rl -e "$src" -e "$build" "$prefix/lib/cmake" "$prefix/lib/pkgconfig"; then
  echo "FAIL: the installed package refers to the source or build tree (files above)"; exit 1
fi

echo "== examples/word-count with find_package(eventflow CONFIG)"
cmake -S "$src/examples/word-count" -B "$work/cmake-build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log"
cmake --build "$work/cmake-build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$work/cmake-build/word-count" --self-test

echo "== examples/word-count with pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
read -r -a cflags <<<"$(pkg-config --cflags eventflow)"
read -r -a libs <<<"$(pkg-config --libs eventflow)"
c++ -O1 "${cflags[@]}" "$src/examples/word-count/word_count.cc" -o "$work/word-count-pc" "${libs[@]}"
"$work/word-count-pc" --self-test
echo "PASS"
