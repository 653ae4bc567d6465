# Test registration helpers, included before any subdirectory so that every
# folder (lib/nn, lib/vision, device, backend...) can register its own tests.
#
#   ff_add_unit_test(NAME unit_bitpack SOURCES test_bitpack.c LIBS ff_codec
#                    [TIMEOUT s] [LABELS l...] [ENVIRONMENT K=V...])
#     A CUnit executable named NAME whose source lists its suites with
#     FF_TEST_SUITES (tests/harness/ff_test.h); tests/harness/cunit_main.c is
#     its main() and exits non-zero when any assertion fails. NAME is the full
#     CTest name and starts with its area (unit_, runtime_, models_, ...).
#
#   ff_add_integration_test(NAME backend_migrations SOURCES ... LIBS ... [...])
#     The same, but needs the private stack (Mosquitto + PostgreSQL): it joins
#     the ff_stack fixture (CTest runs stack_start before and stack_stop after)
#     and the ff_stack resource lock. ff_test_env_get("FF_MQTT_URL") etc. read
#     the endpoints from the env file the stack writes (FF_STACK_ENV).
#
# Every test gets FF_SOURCE_DIR, FF_BUILD_DIR, FF_MODELS_DIR (models/cache),
# FF_TEST_DATA_DIR (tests/data) and FF_STACK_ENV in its environment. A test
# that cannot run (say, model files absent) calls ff_test_skip() -> exit 77,
# which CTest reports as skipped, not passed.
set(FF_TEST_HARNESS_DIR "${CMAKE_CURRENT_LIST_DIR}/../tests/harness")
get_filename_component(FF_TEST_HARNESS_DIR "${FF_TEST_HARNESS_DIR}" ABSOLUTE)
set(FF_STACK_DIR "${CMAKE_BINARY_DIR}/stack" CACHE PATH "Run folder of this build tree's private stack")

function(_ff_add_cunit_test kind)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;ENVIRONMENT" ${ARGN})
  if(NOT FF_BUILD_TESTS)
    return()
  endif()
  if(NOT T_NAME OR NOT T_SOURCES)
    message(FATAL_ERROR "ff_add_${kind}_test: NAME and SOURCES are required")
  endif()
  # A test whose source is not there yet (a colleague's work in progress in a
  # shared checkout) is left out loudly instead of breaking everyone's configure.
  foreach(_src IN LISTS T_SOURCES)
    get_filename_component(_abs "${_src}" ABSOLUTE)
    if(NOT EXISTS "${_abs}")
      message(WARNING "ff_add_${kind}_test(${T_NAME}): ${_src} does not exist; test NOT registered")
      return()
    endif()
  endforeach()
  if(NOT T_TIMEOUT)
    if(kind STREQUAL "integration")
      set(T_TIMEOUT 180)
    else()
      set(T_TIMEOUT 120)
    endif()
  endif()
  add_executable(${T_NAME} ${T_SOURCES} "${FF_TEST_HARNESS_DIR}/cunit_main.c")
  target_link_libraries(${T_NAME} PRIVATE ff_test_harness ${T_LIBS})
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set(_env
    "FF_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
    "FF_BUILD_DIR=${CMAKE_BINARY_DIR}"
    "FF_MODELS_DIR=${FF_MODELS_DIR}"
    "FF_TEST_DATA_DIR=${PROJECT_SOURCE_DIR}/tests/data"
    "FF_STACK_ENV=${FF_STACK_DIR}/stack.env"
    ${T_ENVIRONMENT})
  if(FF_SANITIZE)
    list(APPEND _env "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1"
                     "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  endif()
  set_tests_properties(${T_NAME} PROPERTIES
    ENVIRONMENT "${_env}"
    TIMEOUT ${T_TIMEOUT}
    SKIP_RETURN_CODE 77
    LABELS "${kind};${T_LABELS}")
  if(kind STREQUAL "integration")
    set_tests_properties(${T_NAME} PROPERTIES
      FIXTURES_REQUIRED ff_stack
      RESOURCE_LOCK ff_stack)
  endif()
endfunction()

function(ff_add_unit_test)
  _ff_add_cunit_test(unit ${ARGN})
endfunction()

function(ff_add_integration_test)
  _ff_add_cunit_test(integration ${ARGN})
endfunction()
