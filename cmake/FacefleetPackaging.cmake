# Install rules and Debian packages (CPack DEB), included last from the
# top-level CMakeLists.txt, once every program target exists.
#
#   cmake --install build [--prefix P] [--component common|device|backend]
#   deploy/package     (a separate build with -DFF_INSTALL_LAYOUT=ON
#                       -DCMAKE_INSTALL_PREFIX=/usr, then cpack: three .deb)
#
# Installed layout (prefix /usr, GNUInstallDirs; "full" paths below):
#   /usr/bin/fleet-device               -> ../libexec/facefleet/fleet-device
#   /usr/libexec/facefleet/             fleet-device + fleet-device-video.so (the
#                                       agent loads the module from beside itself)
#   /usr/bin/fleet-backend, /usr/bin/fleetctl
#   /usr/share/facefleet/models/ffn/    pnet, rnet, onet (MTCNN), mobilefacenet
#                                       (fetched by deploy/setup into models/cache/ffn)
#   /usr/share/facefleet/models/vq/     DEFAULT and <id>.codes.ent (common), <id>.enc.ffn (device), <id>.dec.ffn
#                                       and <id>.emb.ffp (backend): every committed model,
#                                       so older codes stay decodable (docs/UPGRADE.md)
#   /usr/share/facefleet/migrations/    NNN_name.sql (lib/store/migrations)
#   /usr/share/facefleet/broker-config/ mosquitto.conf, ACL.md, make-certs, dynsec-seed
#   /usr/share/facefleet/console/       the web console's static files (fleet-backend's
#                                       http_console_dir default)
#   /etc/facefleet/*.conf.example       fleet-device, fleet-backend, migrate (conffiles)
#   /lib/systemd/system/                fleet-device@, fleet-backend@, fleet-migrate
#   /usr/lib/sysusers.d/facefleet.conf  the service user
#   /usr/share/doc/facefleet/           README, docs/*.md, the model card
#   /usr/share/man/man1/                fleet-device.1, fleet-backend.1, fleetctl.1 (generated)
#   /usr/share/bash-completion/completions/  fleet-device, fleet-backend, fleetctl (generated)
#
# Components = packages: common (facefleet-common: the user, MTCNN, DEFAULT,
# docs; both others depend on it because fleetctl and the device share the
# MTCNN files), device (facefleet-device), backend (facefleet-backend).
#
# FF_INSTALL_LAYOUT=ON compiles the installed paths in as the programs'
# defaults (models, migrations); OFF (the default) keeps the source tree's,
# which the tests and deploy/demo use.
include(GNUInstallDirs)

option(FF_INSTALL_LAYOUT "Compile the installed paths (models, migrations) in as defaults" OFF)

set(FF_INSTALL_SHARE_DIR "${CMAKE_INSTALL_DATADIR}/facefleet")
set(FF_INSTALL_FULL_SHARE_DIR "${CMAKE_INSTALL_FULL_DATADIR}/facefleet")
set(FF_INSTALL_PRIVATE_DIR "${CMAKE_INSTALL_LIBEXECDIR}/facefleet")
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(_ff_unit_dir_default "/lib/systemd/system")   # Debian 12's systemd unit folder
else()
  set(_ff_unit_dir_default "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
set(FF_SYSTEMD_UNIT_DIR "${_ff_unit_dir_default}" CACHE PATH "Where the systemd units are installed")
set(FF_SYSUSERS_DIR "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d" CACHE PATH "Where the sysusers.d file is installed")
set(FF_CONF_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/facefleet")   # /etc/facefleet with prefix /usr

# ---- compiled-in defaults of an installed build ----------------------------------------
# Replaces (or adds) the definition MACRO="VALUE" of a target's own compile
# definitions, so that a macro set in the program's CMakeLists.txt for the
# source tree points at the installed file instead.
function(_ff_default_path target macro value)
  if(NOT TARGET ${target})
    message(FATAL_ERROR "FF_INSTALL_LAYOUT: no target ${target}")
  endif()
  get_target_property(_defs ${target} COMPILE_DEFINITIONS)
  if(NOT _defs)
    set(_defs "")
  endif()
  list(FILTER _defs EXCLUDE REGEX "^${macro}=")
  list(APPEND _defs "${macro}=\"${value}\"")
  set_property(TARGET ${target} PROPERTY COMPILE_DEFINITIONS "${_defs}")
endfunction()

if(FF_INSTALL_LAYOUT)
  set(_m "${FF_INSTALL_FULL_SHARE_DIR}/models")
  _ff_default_path(ff_store FF_DEFAULT_MIGRATIONS_DIR "${FF_INSTALL_FULL_SHARE_DIR}/migrations")
  _ff_default_path(fleetctl FC_DEFAULT_MODELS_DIR "${_m}/ffn")
  _ff_default_path(ff_backend FF_BACKEND_DEFAULT_VQ_DIR "${_m}/vq")
  _ff_default_path(ff_backend FF_BACKEND_DEFAULT_EMBED_MODEL "${_m}/ffn/mobilefacenet.ffn")
  _ff_default_path(ff_backend FF_BACKEND_DEFAULT_CONSOLE_DIR "${FF_INSTALL_FULL_SHARE_DIR}/console")
  _ff_default_path(ff_device_core FF_DEVICE_DEFAULT_VQ_DIR "${_m}/vq")
  _ff_default_path(ff_device_core FF_DEVICE_DEFAULT_MODELS_DIR "${_m}")
  message(STATUS "facefleet: installed layout: models ${_m}, migrations ${FF_INSTALL_FULL_SHARE_DIR}/migrations")
endif()

# ---- programs -----------------------------------------------------------------------------
# fleet-device loads fleet-device-video.so from its own folder (/proc/self/exe,
# device/video_load.c): both live in a private folder, /usr/bin has a link.
install(TARGETS fleet-device RUNTIME DESTINATION "${FF_INSTALL_PRIVATE_DIR}" COMPONENT device)
install(TARGETS fleet-device-video LIBRARY DESTINATION "${FF_INSTALL_PRIVATE_DIR}" COMPONENT device)
file(RELATIVE_PATH _ff_dev_link "/${CMAKE_INSTALL_BINDIR}" "/${FF_INSTALL_PRIVATE_DIR}/fleet-device")
file(MAKE_DIRECTORY "${CMAKE_BINARY_DIR}/install-links")
file(CREATE_LINK "${_ff_dev_link}" "${CMAKE_BINARY_DIR}/install-links/fleet-device" SYMBOLIC)
install(FILES "${CMAKE_BINARY_DIR}/install-links/fleet-device" DESTINATION "${CMAKE_INSTALL_BINDIR}"
        COMPONENT device)
install(TARGETS fleet-backend fleetctl RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT backend)

# ---- models -------------------------------------------------------------------------------
# The fetched ones (deploy/setup: models/fetch + models/convert). Missing at
# configure time: left out with a warning (deploy/package refuses to package then).
set(_ff_cache "${FF_MODELS_DIR}/ffn")
set(FF_PACKAGED_MODELS_MISSING "")
foreach(_n pnet rnet onet mobilefacenet)
  if(NOT EXISTS "${_ff_cache}/${_n}.ffn")
    list(APPEND FF_PACKAGED_MODELS_MISSING "${_ff_cache}/${_n}.ffn")
  endif()
endforeach()
if(FF_PACKAGED_MODELS_MISSING)
  message(WARNING "facefleet install: fetched models missing (run deploy/setup): ${FF_PACKAGED_MODELS_MISSING}")
endif()
foreach(_n pnet rnet onet)
  if(EXISTS "${_ff_cache}/${_n}.ffn")
    install(FILES "${_ff_cache}/${_n}.ffn" DESTINATION "${FF_INSTALL_SHARE_DIR}/models/ffn" COMPONENT common)
  endif()
endforeach()
if(EXISTS "${_ff_cache}/mobilefacenet.ffn")
  install(FILES "${_ff_cache}/mobilefacenet.ffn" DESTINATION "${FF_INSTALL_SHARE_DIR}/models/ffn"
          COMPONENT backend)
endif()
# The committed VQ models: every one (a site moving devices from one model to
# another needs the older decoders until the last device has moved).
set(_ff_vq "${PROJECT_SOURCE_DIR}/models/vq")
file(GLOB _ff_vq_enc CONFIGURE_DEPENDS "${_ff_vq}/*.enc.ffn")
file(GLOB _ff_vq_dec CONFIGURE_DEPENDS "${_ff_vq}/*.dec.ffn" "${_ff_vq}/*.emb.ffp")
# rANS tables (<id>.codes.ent): the device codes with them, the backend decodes (a model
# packed past 128 B, vq5 to vq8, is sent coded only), so both packages need them
file(GLOB _ff_vq_ent CONFIGURE_DEPENDS "${_ff_vq}/*.codes.ent")
install(FILES "${_ff_vq}/DEFAULT" ${_ff_vq_ent} DESTINATION "${FF_INSTALL_SHARE_DIR}/models/vq"
        COMPONENT common)
install(FILES ${_ff_vq_enc} DESTINATION "${FF_INSTALL_SHARE_DIR}/models/vq" COMPONENT device)
install(FILES ${_ff_vq_dec} DESTINATION "${FF_INSTALL_SHARE_DIR}/models/vq" COMPONENT backend)

# ---- schema, broker templates, configuration examples ----------------------------------------
install(DIRECTORY "${PROJECT_SOURCE_DIR}/lib/store/migrations/" DESTINATION "${FF_INSTALL_SHARE_DIR}/migrations"
        COMPONENT backend FILES_MATCHING PATTERN "*.sql")
install(FILES "${PROJECT_SOURCE_DIR}/broker-config/mosquitto.conf" "${PROJECT_SOURCE_DIR}/broker-config/ACL.md"
        DESTINATION "${FF_INSTALL_SHARE_DIR}/broker-config" COMPONENT backend)
install(PROGRAMS "${PROJECT_SOURCE_DIR}/broker-config/make-certs" "${PROJECT_SOURCE_DIR}/broker-config/dynsec-seed"
        DESTINATION "${FF_INSTALL_SHARE_DIR}/broker-config" COMPONENT backend)
# the web console, served by fleet-backend (http_console_dir)
install(DIRECTORY "${PROJECT_SOURCE_DIR}/console/" DESTINATION "${FF_INSTALL_SHARE_DIR}/console"
        COMPONENT backend FILES_MATCHING PATTERN "*.html" PATTERN "*.css" PATTERN "*.js" PATTERN "LICENSE*")
install(FILES "${PROJECT_SOURCE_DIR}/device/fleet-device.conf.example" DESTINATION "${FF_CONF_DIR}"
        COMPONENT device)
install(FILES "${PROJECT_SOURCE_DIR}/backend/fleet-backend.conf.example"
              "${PROJECT_SOURCE_DIR}/deploy/systemd/migrate.conf.example"
              "${PROJECT_SOURCE_DIR}/deploy/systemd/fleetctl.conf.example"
        DESTINATION "${FF_CONF_DIR}" COMPONENT backend)

# /etc/facefleet itself belongs to facefleet-common (root:facefleet 0751, its postinst)
install(DIRECTORY DESTINATION "${FF_CONF_DIR}" COMPONENT common)

# ---- services ----------------------------------------------------------------------------------
install(FILES "${PROJECT_SOURCE_DIR}/deploy/systemd/fleet-device@.service"
        DESTINATION "${FF_SYSTEMD_UNIT_DIR}" COMPONENT device)
install(FILES "${PROJECT_SOURCE_DIR}/deploy/systemd/fleet-backend@.service"
              "${PROJECT_SOURCE_DIR}/deploy/systemd/fleet-migrate.service"
        DESTINATION "${FF_SYSTEMD_UNIT_DIR}" COMPONENT backend)
install(FILES "${PROJECT_SOURCE_DIR}/deploy/systemd/facefleet.sysusers" RENAME facefleet.conf
        DESTINATION "${FF_SYSUSERS_DIR}" COMPONENT common)

# ---- documentation ---------------------------------------------------------------------------------
file(GLOB _ff_docs CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/docs/*.md")
install(FILES "${PROJECT_SOURCE_DIR}/README.md" ${_ff_docs} "${PROJECT_SOURCE_DIR}/models/MODEL_CARD.md"
              "${PROJECT_SOURCE_DIR}/device/README.md" "${PROJECT_SOURCE_DIR}/device/OUTBOX.md"
              "${PROJECT_SOURCE_DIR}/backend/THRESHOLD.md"
        DESTINATION "${CMAKE_INSTALL_DOCDIR}" COMPONENT common)

# ---- man pages and bash completions (generated from the option tables, top-level CMakeLists.txt) ----
set(_ff_doc_component_fleet-device device)
set(_ff_doc_component_fleet-backend backend)
set(_ff_doc_component_fleetctl backend)
if(FF_GENERATED_DOCS)
  foreach(_p IN LISTS FF_DOC_PROGRAMS)
    install(FILES "${CMAKE_BINARY_DIR}/man/${_p}.1" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1"
            COMPONENT ${_ff_doc_component_${_p}})
    install(FILES "${CMAKE_BINARY_DIR}/man/completions/${_p}"
            DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions" COMPONENT ${_ff_doc_component_${_p}})
  endforeach()
endif()

# ---- Debian packages (cpack -G DEB in a build configured by deploy/package) -------------------------
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "facefleet")
set(CPACK_PACKAGE_VENDOR "facefleet")
set(CPACK_PACKAGE_CONTACT "facefleet maintainers <facefleet@localhost>")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
# absolute destinations (/etc, /lib/systemd) need DESTDIR installs
set(CPACK_SET_DESTDIR ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL common device backend)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Depends: from the ELF files' libraries (dpkg-shlibdeps, package dpkg-dev)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(_ff_same "facefleet-common (= ${PROJECT_VERSION}-1)")
set(_ff_deb "${PROJECT_SOURCE_DIR}/deploy/debian")

set(CPACK_DEBIAN_COMMON_PACKAGE_NAME "facefleet-common")
set(CPACK_DEBIAN_COMMON_PACKAGE_ARCHITECTURE "all")
set(CPACK_DEBIAN_COMMON_PACKAGE_DEPENDS "adduser")
# first line: the summary; the rest is wrapped and indented by CPack
set(CPACK_DEBIAN_COMMON_DESCRIPTION "facefleet shared files: service user, face detector, documentation
The facefleet service user (sysusers.d), the MTCNN face detector models used by the device agent and by fleetctl's enrolment, the default VQ model id and the documentation of the MQTT face-recognition fleet.")
set(CPACK_DEBIAN_COMMON_PACKAGE_CONTROL_EXTRA "${_ff_deb}/common/postinst")

set(CPACK_DEBIAN_DEVICE_PACKAGE_NAME "facefleet-device")
set(CPACK_DEBIAN_DEVICE_PACKAGE_DEPENDS "${_ff_same}")
# V4L2 cameras: libavdevice, which the video module loads only when asked
# (dlopen, so dpkg-shlibdeps cannot see it)
set(CPACK_DEBIAN_DEVICE_PACKAGE_RECOMMENDS "libavdevice59")
set(CPACK_DEBIAN_DEVICE_DESCRIPTION "facefleet device agent (fleet-device)
Finds faces in a camera, a stream, files or raw frames, encodes each one into at most 128 bytes of VQ codes and sends them over MQTT v5 to the facefleet backend, with a store-and-forward outbox. Includes the VQ encoders and the fleet-device@.service unit.")
set(CPACK_DEBIAN_DEVICE_PACKAGE_CONTROL_EXTRA "${_ff_deb}/device/postinst;${_ff_deb}/device/postrm;${_ff_deb}/device/conffiles")

set(CPACK_DEBIAN_BACKEND_PACKAGE_NAME "facefleet-backend")
set(CPACK_DEBIAN_BACKEND_PACKAGE_DEPENDS "${_ff_same}, postgresql-client")
set(CPACK_DEBIAN_BACKEND_PACKAGE_RECOMMENDS "mosquitto, postgresql, python3, openssl")
set(CPACK_DEBIAN_BACKEND_DESCRIPTION "facefleet backend (fleet-backend) and operator tool (fleetctl)
Decodes the devices' VQ codes, embeds the reconstructed faces with MobileFaceNet, matches the enrolled gallery and records events and an audit log in PostgreSQL. fleetctl provisions devices, enrols people, queries events and backs up and restores an installation. Includes the database migrations, the Mosquitto configuration templates and the fleet-backend@.service and fleet-migrate.service units.")
set(CPACK_DEBIAN_BACKEND_PACKAGE_CONTROL_EXTRA "${_ff_deb}/backend/postinst;${_ff_deb}/backend/postrm;${_ff_deb}/backend/conffiles")

include(CPack)
