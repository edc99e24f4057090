# One helper per target kind (as Abseil does).

# pivot_test(NAME SOURCES...) : a Google Test binary linked to pivot, its tests
# discovered at test time so a build never runs them.
function(pivot_test name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE pivot::pivot GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE PIVOT_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST)
endfunction()

# pivot_bench(NAME SOURCES...) : a Google Benchmark binary; every one also runs
# the baselines in bench/baseline.cc (empty loop, empty noinline call).
function(pivot_bench name)
  add_executable(${name} ${ARGN} ${PROJECT_SOURCE_DIR}/bench/baseline.cc)
  target_link_libraries(${name} PRIVATE pivot::pivot benchmark::benchmark benchmark::benchmark_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src)
endfunction()

# pivot_fuzzer(NAME SOURCES...) : a libFuzzer target (clang -fsanitize=fuzzer).
function(pivot_fuzzer name)
  add_executable(${name} ${ARGN})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${name} PRIVATE pivot::pivot)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src)
endfunction()
