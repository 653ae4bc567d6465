# Compiler flags shared by every facefleet target: warnings are errors, and
# FF_SANITIZE=ON adds AddressSanitizer + UndefinedBehaviorSanitizer that abort
# on the first report (so a sanitizer finding fails the test that hit it).
add_compile_options(-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
                    -Wformat=2 -Wvla -Wpointer-arith)
# -std=c11 hides POSIX; _DEFAULT_SOURCE gives POSIX 2008 + BSD/SVID interfaces
# (clock_gettime, strdup, getline, timegm...). Sources must not #define it again
# (a #define _GNU_SOURCE at the top of a file is fine where a file needs more).
add_compile_definitions(_DEFAULT_SOURCE)

if(FF_SANITIZE)
  set(_ff_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_compile_options(${_ff_san})
  add_link_options(-fsanitize=address,undefined)
  message(STATUS "facefleet: AddressSanitizer + UndefinedBehaviorSanitizer enabled")
endif()

# FF_FUZZ=ON (clang only): coverage instrumentation for libFuzzer on every
# target plus ASan + UBSan; tests/fuzz then builds the fuzz_* binaries
# (deploy/fuzz, the unit_fuzz_*_smoke tests).
option(FF_FUZZ "Build the libFuzzer targets of tests/fuzz (needs clang)" OFF)
if(FF_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FF_FUZZ needs clang: cmake -DCMAKE_C_COMPILER=clang -DFF_FUZZ=ON")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
  message(STATUS "facefleet: libFuzzer instrumentation (FF_FUZZ) + ASan + UBSan")
endif()
