# FindProtobufC: protobuf-c runtime and the protoc-c generator. CMake's own
# FindProtobuf targets C++; for C we find the pieces and run protoc-c in a
# custom command (see ff_protobuf_c_generate and proto/CMakeLists.txt).
# Defines: ProtobufC_FOUND, FF_PROTOC_C, imported target protobuf-c::protobuf-c,
#          function ff_protobuf_c_generate(OUT_SRCS OUT_HDRS PROTO_DIR proto...).
find_program(FF_PROTOC_C NAMES protoc-c)
find_path(PROTOBUF_C_INCLUDE_DIR NAMES protobuf-c/protobuf-c.h)
find_library(PROTOBUF_C_LIBRARY NAMES protobuf-c)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(ProtobufC
  REQUIRED_VARS FF_PROTOC_C PROTOBUF_C_LIBRARY PROTOBUF_C_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "install libprotobuf-c-dev protobuf-c-compiler (deploy/setup does)")

if(ProtobufC_FOUND)
  ff_import_library(protobuf-c::protobuf-c LIBRARY "${PROTOBUF_C_LIBRARY}"
                    INCLUDE_DIRS "${PROTOBUF_C_INCLUDE_DIR}")
endif()
mark_as_advanced(FF_PROTOC_C PROTOBUF_C_INCLUDE_DIR PROTOBUF_C_LIBRARY)

# Generates <name>.pb-c.c/.h for each .proto (paths relative to PROTO_DIR)
# into CMAKE_CURRENT_BINARY_DIR; returns the lists in OUT_SRCS and OUT_HDRS.
function(ff_protobuf_c_generate out_srcs out_hdrs proto_dir)
  set(_srcs)
  set(_hdrs)
  foreach(_proto IN LISTS ARGN)
    get_filename_component(_we "${_proto}" NAME_WE)
    set(_c "${CMAKE_CURRENT_BINARY_DIR}/${_we}.pb-c.c")
    set(_h "${CMAKE_CURRENT_BINARY_DIR}/${_we}.pb-c.h")
    add_custom_command(
      OUTPUT "${_c}" "${_h}"
      COMMAND "${FF_PROTOC_C}" "--proto_path=${proto_dir}" "--c_out=${CMAKE_CURRENT_BINARY_DIR}" "${proto_dir}/${_proto}"
      DEPENDS "${proto_dir}/${_proto}"
      COMMENT "protoc-c ${_proto}"
      VERBATIM)
    list(APPEND _srcs "${_c}")
    list(APPEND _hdrs "${_h}")
  endforeach()
  set(${out_srcs} ${_srcs} PARENT_SCOPE)
  set(${out_hdrs} ${_hdrs} PARENT_SCOPE)
endfunction()
