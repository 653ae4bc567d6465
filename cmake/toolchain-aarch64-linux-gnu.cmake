# Cross-compiling facefleet's device side for arm64 (aarch64) on Debian 12:
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake \
#         -DFF_BUILD_BACKEND=OFF
# deploy/cross-arm64 does it all (packages, build, emulated tests). The
# compiler is Debian's cross gcc (crossbuild-essential-arm64); the libraries
# are the :arm64 multiarch packages under /usr/lib/aarch64-linux-gnu, their
# headers the shared /usr/include. protoc-c and the other build-time tools are
# the host's (find_program searches the host only).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(FF_CROSS_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${FF_CROSS_TRIPLE}-gcc)
set(CMAKE_AR ${FF_CROSS_TRIPLE}-ar CACHE FILEPATH "cross ar")
set(CMAKE_RANLIB ${FF_CROSS_TRIPLE}-ranlib CACHE FILEPATH "cross ranlib")
set(CMAKE_STRIP ${FF_CROSS_TRIPLE}-strip CACHE FILEPATH "cross strip")
set(CMAKE_LIBRARY_ARCHITECTURE ${FF_CROSS_TRIPLE})

# The arm64 libraries that cannot be installed beside the host's (XNNPACK,
# pthreadpool, cpuinfo's -dev: not Multi-Arch) are unpacked by
# deploy/cross-arm64 into FF_ARM64_SYSROOT; they come first. The build tree's
# programs get it as RUNPATH, so that they run under qemu as built.
if(DEFINED ENV{FF_ARM64_SYSROOT})
  set(FF_ARM64_SYSROOT "$ENV{FF_ARM64_SYSROOT}")
else()
  set(FF_ARM64_SYSROOT /opt/facefleet/arm64)
endif()
set(_ff_arm_extra "${FF_ARM64_SYSROOT}/usr/lib/${FF_CROSS_TRIPLE}")

# Libraries only from the arm64 directories; headers from /usr/include
# (multiarch headers are shared); programs from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${FF_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_PATH "${_ff_arm_extra}" /usr/lib/${FF_CROSS_TRIPLE} /lib/${FF_CROSS_TRIPLE})
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)
set(CMAKE_BUILD_RPATH "${_ff_arm_extra}")
# DT_RPATH, not DT_RUNPATH: a runpath serves only the program's own NEEDED
# libraries, and ld's --as-needed leaves libcpuinfo to libXNNPACK, whose own
# lookup would then miss the unpacked sysroot (unless libcpuinfo0:arm64
# happens to be installed).
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--disable-new-dtags")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,--disable-new-dtags")

# pkg-config: the arm64 .pc files, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${FF_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Emulated runs (CTest): qemu-user with "/" as the loader prefix, so that the
# program gets the multiarch loader and libc of libc6:arm64 (which the :arm64
# -dev packages pull in). Not -L /usr/aarch64-linux-gnu: that loader comes
# from libc6-arm64-cross, a different glibc build than the multiarch libc.so.6
# the programs then load, and the pair hangs in pthread_create.
find_program(FF_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(FF_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${FF_QEMU_AARCH64} -L /)
endif()
