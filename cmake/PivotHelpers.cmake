# One helper per target kind (as Abseil does).

# pivot_shared_library_abi(TARGET) : for a shared build (BUILD_SHARED_LIBS),
# what a pivot library exports (cmake/pivot.map: namespace pivot and no
# other) and its version; nothing for a static one.
function(pivot_shared_library_abi target)
  if(BUILD_SHARED_LIBS)
    set_target_properties(${target} PROPERTIES VERSION ${PROJECT_VERSION}
                                               SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
    target_link_options(${target} PRIVATE "LINKER:--version-script=${PROJECT_SOURCE_DIR}/cmake/pivot.map"
                                          "LINKER:--no-undefined" "LINKER:--exclude-libs,ALL")
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/pivot.map)
  endif()
endfunction()

# pivot_link_nats(TARGET [PUBLIC|PRIVATE]) : TARGET may run with a nats://
# transport, so it links the NATS component when that is built.
function(pivot_link_nats target)
  set(scope PRIVATE)
  if(ARGN)
    set(scope ${ARGN})
  endif()
  if(TARGET pivot::nats)
    target_link_libraries(${target} ${scope} pivot::nats)
  endif()
endfunction()

# pivot_test(NAME SOURCES...) : a Google Test binary linked to pivot (and its
# NATS component), its tests discovered at test time so a build never runs them.
function(pivot_test name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE pivot::pivot GTest::gtest GTest::gmock GTest::gtest_main)
  pivot_link_nats(${name})
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
