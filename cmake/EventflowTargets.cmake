# Helpers shared by every module's CMakeLists.txt: warning flags, sanitizers and
# the one way tests are declared (with CTest labels by module and kind).

set(EVENTFLOW_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Wunused -Woverloaded-virtual)
if(EVENTFLOW_WERROR)
  list(APPEND EVENTFLOW_WARNINGS -Werror)
endif()

if(EVENTFLOW_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# eventflow_library(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Declares eventflow_<name> with alias eventflow::<name>; its public headers are
# <dir>/include/eventflow/<name>/*.h and nothing else is visible to dependents.
function(eventflow_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(eventflow_${name} ${ARG_SOURCES})
  add_library(eventflow::${name} ALIAS eventflow_${name})
  target_include_directories(eventflow_${name}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_compile_options(eventflow_${name} PRIVATE ${EVENTFLOW_WARNINGS})
  target_link_libraries(eventflow_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# eventflow_executable(<name> SOURCES ... DEPS ...)
function(eventflow_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${EVENTFLOW_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  # Every user-facing binary lands in <build>/bin.
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
endfunction()

# eventflow_test(<name> SOURCES ... DEPS ... LABELS <module> <kind> [ENVIRONMENT ...])
# Kinds: unit (no services), kafka (needs the local broker), postgres (needs the
# local PostgreSQL), chaos. `ctest -L unit` runs one kind, `ctest -L core` one module.
function(eventflow_test name)
  if(NOT EVENTFLOW_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${EVENTFLOW_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  # Each label is passed as its own "LABELS x" pair: a list value would be split
  # by gtest_discover_tests and keep only the first label (CMake issue 17812).
  set(label_properties "")
  foreach(label IN LISTS ARG_LABELS)
    list(APPEND label_properties LABELS ${label})
  endforeach()
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 60
    PROPERTIES ${label_properties} TIMEOUT ${ARG_TIMEOUT}
               # A skipped test proves nothing: make CTest report it as skipped
               # (not passed), and scripts/test fails the run on any skip.
               SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
endfunction()
