# FindPahoMQTT: the Eclipse Paho MQTT C asynchronous client with TLS (paho-mqtt3as).
# Debian's CMake config (eclipse-paho-mqtt-cConfig.cmake) references OpenSSL
# targets without finding OpenSSL itself, so OpenSSL must be found first.
# Without the config (other distributions) fall back to find_library.
# Defines: PahoMQTT_FOUND, imported target Paho::MQTTAsync.
find_package(OpenSSL REQUIRED)
find_package(eclipse-paho-mqtt-c QUIET CONFIG)

find_path(PAHO_MQTT_INCLUDE_DIR NAMES MQTTAsync.h)
if(TARGET eclipse-paho-mqtt-c::paho-mqtt3as)
  set(PAHO_MQTT_LIBRARY eclipse-paho-mqtt-c::paho-mqtt3as)
else()
  find_library(PAHO_MQTT_LIBRARY NAMES paho-mqtt3as)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(PahoMQTT
  REQUIRED_VARS PAHO_MQTT_LIBRARY PAHO_MQTT_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "install libpaho-mqtt-dev libssl-dev (deploy/setup does)")

if(PahoMQTT_FOUND AND NOT TARGET Paho::MQTTAsync)
  add_library(Paho::MQTTAsync INTERFACE IMPORTED)
  set_target_properties(Paho::MQTTAsync PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${PAHO_MQTT_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${PAHO_MQTT_LIBRARY};OpenSSL::SSL;OpenSSL::Crypto;Threads::Threads")
endif()
mark_as_advanced(PAHO_MQTT_INCLUDE_DIR PAHO_MQTT_LIBRARY)
