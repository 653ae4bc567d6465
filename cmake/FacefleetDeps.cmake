# Third-party libraries, all from Debian 12 packages (deploy/packages.txt).
# Each ends as an imported target so consumers only say target_link_libraries.
#   XNNPACK::XNNPACK   libxnnpack-dev (+ libpthreadpool-dev, libcpuinfo-dev)
#   Paho::MQTTAsync    libpaho-mqtt-dev (async client with TLS, libpaho-mqtt3as)
#   protobuf-c::protobuf-c + FF_PROTOC_C (protoc-c program)
#   PostgreSQL::PostgreSQL  libpq-dev
#   CUnit::CUnit       libcunit1-dev
#   cJSON::cJSON       libcjson-dev (every JSON document built or parsed)
#   UUID::UUID         uuid-dev (libuuid: event ids)
#   FFmpeg::FFmpeg     libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
#                      (fleet-device's source=video: files and streams); libavdevice-dev
#                      for its headers (FF_AVDEVICE_INCLUDE_DIRS): the module loads
#                      libavdevice at run time, only for a V4L2 camera
#                      (device/source_video.c)
#   Threads::Threads, OpenSSL::SSL/Crypto, ff_libm
include(FacefleetImport)
find_package(Threads REQUIRED)
find_package(XNNPACK REQUIRED)
find_package(PahoMQTT REQUIRED)
find_package(ProtobufC REQUIRED)
if(FF_BUILD_BACKEND)
  find_package(PostgreSQL REQUIRED)
endif()
find_package(CUnit REQUIRED)

# pkg-config modules as imported targets
find_package(PkgConfig REQUIRED)
pkg_check_modules(FF_CJSON REQUIRED IMPORTED_TARGET libcjson)
add_library(cJSON::cJSON ALIAS PkgConfig::FF_CJSON)
pkg_check_modules(FF_UUID REQUIRED IMPORTED_TARGET uuid)
add_library(UUID::UUID ALIAS PkgConfig::FF_UUID)
if(FF_BUILD_VIDEO)
  pkg_check_modules(FF_FFMPEG REQUIRED IMPORTED_TARGET libavformat libavcodec libswscale libavutil)
  pkg_check_modules(FF_AVDEVICE REQUIRED libavdevice)
  add_library(FFmpeg::FFmpeg ALIAS PkgConfig::FF_FFMPEG)
endif()

find_library(FF_LIBM m)
add_library(ff_libm INTERFACE)
if(FF_LIBM)
  target_link_libraries(ff_libm INTERFACE ${FF_LIBM})
endif()
