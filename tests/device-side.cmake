# The device side's tests: the harness libraries and every test of code that
# runs on a device (lib/ without the store, fleet-device's parts) needing
# neither PostgreSQL nor a broker nor a running program. Included by
# tests/CMakeLists.txt; in a device-only build (FF_BUILD_BACKEND=OFF, the arm64
# cross build of deploy/cross-arm64) they are the whole suite, run under
# qemu-user through CMAKE_CROSSCOMPILING_EMULATOR (the toolchain file sets it).

# ---- harness ----------------------------------------------------------------------------
add_library(ff_test_harness STATIC harness/ff_test_env.c)
target_include_directories(ff_test_harness PUBLIC harness)
target_link_libraries(ff_test_harness PUBLIC CUnit::CUnit ff_util)
# FaceCodes as a device sends them: tests, fuzz seeds, chaos simulator, benchmark
add_library(ff_test_faces STATIC harness/test_face_codes.c)
target_include_directories(ff_test_faces PUBLIC harness)
target_link_libraries(ff_test_faces PUBLIC ff_wire ff_codec)
# lib/nn's numpy test vectors (tests/data/nn)
add_library(ff_nn_testvec STATIC runtime/nn_testvec.c)
target_include_directories(ff_nn_testvec PUBLIC runtime)
target_link_libraries(ff_nn_testvec PUBLIC ff_nn ff_test_harness)

# ---- unit_: the library, piece by piece --------------------------------------------------
ff_add_unit_test(NAME unit_util SOURCES unit/test_util.c LIBS ff_util Threads::Threads)
ff_add_unit_test(NAME unit_config SOURCES unit/test_config.c LIBS ff_util)
# secrets from a file (KEY_file, --KEY-file) or the environment (FF_KEY); --version
ff_add_unit_test(NAME unit_config_secrets SOURCES unit/test_config_secrets.c LIBS ff_util)
# every setting from FF_<KEY> (issue 18); the table as roff and as a bash completion
ff_add_unit_test(NAME unit_config_env SOURCES unit/test_config_env.c LIBS ff_util)
ff_add_unit_test(NAME unit_bitpack SOURCES unit/test_bitpack.c LIBS ff_codec)
# the codes' static-table rANS coder (lib/codec/rans.c) and its table files
ff_add_unit_test(NAME unit_entropy SOURCES unit/test_entropy.c LIBS ff_codec ZLIB::ZLIB)
ff_add_unit_test(NAME unit_proto SOURCES unit/test_proto.c LIBS ff_proto ff_codec)
# FaceCodes build (schema 2 and legacy 1) and the receiver checks
ff_add_unit_test(NAME unit_proto_facecodes SOURCES unit/test_facecodes.c LIBS ff_wire)
# the PUBLISH size arithmetic against the bytes Paho really sends (fake broker)
ff_add_unit_test(NAME unit_mqtt_wire SOURCES unit/test_mqtt_wire.c LIBS ff_mqtt)
ff_add_unit_test(NAME unit_nn_loader SOURCES unit/test_nn_loader.c LIBS ff_nn_testvec ff_util)
ff_add_unit_test(NAME unit_vq_codec SOURCES unit/test_vq_codec.c unit/test_vq_common.c
                 LIBS ff_codec ff_vision)
target_include_directories(unit_vq_codec PRIVATE "${PROJECT_SOURCE_DIR}/lib/codec")
ff_add_unit_test(NAME unit_vision_image SOURCES unit/test_vision_image.c LIBS ff_vision PNG::PNG)
ff_add_unit_test(NAME unit_vision_geometry SOURCES unit/test_vision_geometry.c LIBS ff_vision ff_libm)
ff_add_unit_test(NAME unit_vision_mtcnn SOURCES unit/test_vision_mtcnn.c LIBS ff_vision ff_libm)
target_include_directories(unit_vision_mtcnn PRIVATE "${PROJECT_SOURCE_DIR}/lib/vision")

# ---- runtime_: lib/nn's ops on numpy test vectors ----------------------------------------
ff_add_unit_test(NAME runtime_ops LABELS runtime SOURCES runtime/test_nn_ops.c
                 LIBS ff_nn_testvec ff_util)

# ---- models_: the fetched and the committed models (skip, 77, without them) -------------
ff_add_unit_test(NAME models_nn_real LABELS models TIMEOUT 300 SOURCES runtime/test_nn_models.c
                 LIBS ff_nn_testvec ff_util JPEG::JPEG)
ff_add_unit_test(NAME models_vision_detect SOURCES unit/test_vision_models.c
                 LIBS ff_vision ff_libm LABELS models TIMEOUT 300)
# C embeddings vs the PyTorch reference of the same file (tests/data/nn/make_parity_golden.py)
ff_add_unit_test(NAME models_mobilefacenet_parity SOURCES runtime/test_mobilefacenet_parity.c
                 LIBS ff_vision LABELS models TIMEOUT 300)
ff_add_unit_test(NAME models_vq_golden SOURCES unit/test_vq_models.c unit/test_vq_common.c
                 LIBS ff_codec ff_vision LABELS models)
if(CMAKE_CROSSCOMPILING)   # under qemu-user (deploy/cross-arm64): 1-2 minutes, more under load
  set_tests_properties(models_vq_golden PROPERTIES TIMEOUT 600)
endif()
# int8 nets (ff_nn_options.int8, models/vq/vq2.*.q8): the ranges reader, and int8 near float
ff_add_unit_test(NAME models_nn_int8 SOURCES unit/test_nn_int8.c unit/test_vq_common.c
                 LIBS ff_codec ff_vision ZLIB::ZLIB LABELS models)

# ---- device_: fleet-device's parts without a broker ---------------------------------------
# The outbox on its own (no broker): crash leftovers, corruption, bounds, seq.
ff_add_unit_test(NAME device_outbox SOURCES device/test_device_outbox.c
                 LIBS ff_device_core)
# Face tracks, their send policy and the quality score (no models, no broker).
ff_add_unit_test(NAME device_track SOURCES device/test_device_track.c
                 LIBS ff_device_core)
# Where the detector looks in video frames: whole every N, near known faces in
# between; a face entering is found at most N-1 frames late (skips without models).
ff_add_unit_test(NAME device_scan SOURCES device/test_device_scan.c
                 LIBS ff_device_core LABELS models TIMEOUT 120)
