# FindXNNPACK: Debian's libxnnpack-dev ships no .pc file nor CMake config.
# libXNNPACK.so needs libpthreadpool and libcpuinfo at link time too
# (xnnpack.h exposes pthreadpool_t, so a program uses pthreadpool symbols
# directly, and ld refuses indirect DSO symbols). libclog.a (from
# libcpuinfo-dev) is added when present for the logging symbols some builds need.
# Defines: XNNPACK_FOUND, XNNPACK_INCLUDE_DIR, imported target XNNPACK::XNNPACK.
find_path(XNNPACK_INCLUDE_DIR NAMES xnnpack.h)
find_path(PTHREADPOOL_INCLUDE_DIR NAMES pthreadpool.h)
find_library(XNNPACK_LIBRARY NAMES XNNPACK)
find_library(PTHREADPOOL_LIBRARY NAMES pthreadpool)
find_library(CPUINFO_LIBRARY NAMES cpuinfo)
find_library(CLOG_LIBRARY NAMES clog)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(XNNPACK
  REQUIRED_VARS XNNPACK_LIBRARY XNNPACK_INCLUDE_DIR PTHREADPOOL_LIBRARY PTHREADPOOL_INCLUDE_DIR CPUINFO_LIBRARY
  REASON_FAILURE_MESSAGE "install libxnnpack-dev libpthreadpool-dev libcpuinfo-dev (deploy/setup does)")

if(XNNPACK_FOUND)
  set(_ff_xnn_deps ${PTHREADPOOL_LIBRARY} ${CPUINFO_LIBRARY})
  if(CLOG_LIBRARY)
    list(APPEND _ff_xnn_deps ${CLOG_LIBRARY})
  endif()
  ff_import_library(XNNPACK::XNNPACK LIBRARY "${XNNPACK_LIBRARY}"
                    INCLUDE_DIRS ${XNNPACK_INCLUDE_DIR} ${PTHREADPOOL_INCLUDE_DIR}
                    LINK ${_ff_xnn_deps} Threads::Threads m)
endif()
mark_as_advanced(XNNPACK_INCLUDE_DIR PTHREADPOOL_INCLUDE_DIR XNNPACK_LIBRARY PTHREADPOOL_LIBRARY
                 CPUINFO_LIBRARY CLOG_LIBRARY)
