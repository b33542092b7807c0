# trl_add_gtest_suites(<target> [ENVIRONMENT var=value ...]): registers one ctest per GoogleTest suite of
# <target> (ctest name = suite name, run as --gtest_filter=<suite>.*), discovered after each build like
# gtest_discover_tests does.
#
# Why not one ctest per test (gtest_discover_tests): every LibTorch test process spends ~1 s of CPU in
# static initialisation (operator registration) before its first test; at ~700 tests that alone was
# ~6 minutes of CI on 2 cores. A failing suite still names its failing tests in the output.
# Suites whose name contains "Slow" get the ctest label `slow`.
set(_TRL_GTEST_SUITES_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/GTestSuitesDiscover.cmake")

function(trl_add_gtest_suites target)
  cmake_parse_arguments(ARG "" "" "ENVIRONMENT" ${ARGN})
  set(_ctest_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_suites.cmake")
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND "${CMAKE_COMMAND}" -D "TEST_EXECUTABLE=$<TARGET_FILE:${target}>" -D "CTEST_FILE=${_ctest_file}"
            -D "TEST_ENVIRONMENT=${ARG_ENVIRONMENT}" -P "${_TRL_GTEST_SUITES_SCRIPT}"
    BYPRODUCTS "${_ctest_file}"
    VERBATIM)
  # Until the first build, ctest reports the target as not built instead of failing to include the list.
  set(_include_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_include.cmake")
  file(WRITE "${_include_file}"
    "if(EXISTS \"${_ctest_file}\")\n  include(\"${_ctest_file}\")\n"
    "else()\n  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${_include_file}")
endfunction()
