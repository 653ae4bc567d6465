# ff_import_library(<target> LIBRARY <file> INCLUDE_DIRS <dir>... [LINK <item>...])
# Wraps a library file found by a Find module in an imported target, once.
# Shared by cmake/Find*.cmake (Debian ships no usable CMake/pkg-config files
# for these libraries).
function(ff_import_library target)
  cmake_parse_arguments(A "" "LIBRARY" "INCLUDE_DIRS;LINK" ${ARGN})
  if(TARGET ${target})
    return()
  endif()
  add_library(${target} UNKNOWN IMPORTED)
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION "${A_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${A_INCLUDE_DIRS}"
    INTERFACE_LINK_LIBRARIES "${A_LINK}")
endfunction()
