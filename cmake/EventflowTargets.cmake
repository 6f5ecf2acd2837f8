# Helpers shared by every module's CMakeLists.txt: warning flags, sanitizers,
# installation, and the one way tests are declared (with CTest labels by module
# and kind).

include(GNUInstallDirs)

set(EVENTFLOW_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Wunused -Woverloaded-virtual)
if(EVENTFLOW_WERROR)
  list(APPEND EVENTFLOW_WARNINGS -Werror)
endif()

if(EVENTFLOW_SANITIZE AND EVENTFLOW_TSAN)
  message(FATAL_ERROR "EVENTFLOW_SANITIZE (ASan+UBSan) and EVENTFLOW_TSAN cannot be combined: "
                      "the sanitizers use incompatible runtimes; build them in separate trees")
endif()
if(EVENTFLOW_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
# ThreadSanitizer instruments our code only: librdkafka, RocksDB and libpq are
# Debian's uninstrumented builds. cmake/tsan/tsan.supp (passed by scripts/test
# --tsan in TSAN_OPTIONS) ignores what TSan would see of them through its
# interceptors, and cmake/tsan/c11_threads.cc, linked into every executable,
# routes librdkafka's C11 threads through the POSIX calls TSan intercepts.
if(EVENTFLOW_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  add_library(eventflow_tsan_c11_threads OBJECT ${CMAKE_CURRENT_LIST_DIR}/tsan/c11_threads.cc)
  target_compile_options(eventflow_tsan_c11_threads PRIVATE ${EVENTFLOW_WARNINGS})
endif()

# Links what every executable of this build needs besides its own dependencies.
function(eventflow_link_build_support name)
  if(EVENTFLOW_TSAN)
    target_link_libraries(${name} PRIVATE eventflow_tsan_c11_threads)
  endif()
endfunction()

# eventflow_library(<name> [INSTALL] SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Declares eventflow_<name> with alias eventflow::<name>; its public headers are
# <dir>/include/eventflow/<name>/*.h and nothing else is visible to dependents.
# INSTALL: part of the installed package (cmake/eventflowConfig.cmake.in):
# `cmake --install` puts the library and its headers in place and exports it as
# eventflow::<name>; test and tool libraries are not installed.
function(eventflow_library name)
  cmake_parse_arguments(ARG "INSTALL" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(eventflow_${name} ${ARG_SOURCES})
  add_library(eventflow::${name} ALIAS eventflow_${name})
  target_include_directories(eventflow_${name}
    PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_compile_options(eventflow_${name} PRIVATE ${EVENTFLOW_WARNINGS})
  target_link_libraries(eventflow_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  if(ARG_INSTALL)
    set_target_properties(eventflow_${name} PROPERTIES EXPORT_NAME ${name})
    install(TARGETS eventflow_${name} EXPORT eventflowTargets
            ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
            LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
    install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
            FILES_MATCHING PATTERN "*.h")
    set_property(GLOBAL APPEND PROPERTY EVENTFLOW_INSTALLED_LIBRARIES ${name})
  endif()
endfunction()

# eventflow_executable(<name> SOURCES ... DEPS ...)
function(eventflow_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${EVENTFLOW_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  eventflow_link_build_support(${name})
  # Every user-facing binary lands in <build>/bin.
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
endfunction()

# eventflow_test(<name> SOURCES ... DEPS ... LABELS <module> <kind> [ENVIRONMENT ...])
# Kinds: unit (no services), kafka (needs the local broker), postgres (needs the
# local PostgreSQL), chaos. `ctest -L unit` runs one kind, `ctest -L core` one module.
# The extra label `threads` marks tests that exercise our own concurrency (stream
# threads, the sink's thread, the HTTP server's thread): scripts/test --tsan runs
# them under ThreadSanitizer. Target tests_<label> builds the tests of a label.
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
  eventflow_link_build_support(${name})
  # Each label is passed as its own "LABELS x" pair: a list value would be split
  # by gtest_discover_tests and keep only the first label (CMake issue 17812).
  set(label_properties "")
  foreach(label IN LISTS ARG_LABELS)
    list(APPEND label_properties LABELS ${label})
    # tests_<label> builds every test executable carrying the label (and, through
    # their dependencies, the binaries they run), so that a run of one label
    # (scripts/test --tsan) need not build the whole tree.
    if(NOT TARGET tests_${label})
      add_custom_target(tests_${label})
    endif()
    add_dependencies(tests_${label} ${name})
  endforeach()
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 60
    PROPERTIES ${label_properties} TIMEOUT ${ARG_TIMEOUT}
               # A skipped test proves nothing: make CTest report it as skipped
               # (not passed), and scripts/test fails the run on any skip.
               SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
endfunction()
