# FindFaceCodecs: libwebp and libavif (Debian libwebp-dev, libavif-dev), the
# classical codecs fleet-eval measures the VQ codes against. Found directly,
# like the other modules here.
# Defines: FaceCodecs_FOUND, imported targets WebP::WebP and AVIF::AVIF.
find_path(WEBP_INCLUDE_DIR NAMES webp/encode.h)
find_library(WEBP_LIBRARY NAMES webp)
find_path(AVIF_INCLUDE_DIR NAMES avif/avif.h)
find_library(AVIF_LIBRARY NAMES avif)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(FaceCodecs
  REQUIRED_VARS WEBP_LIBRARY WEBP_INCLUDE_DIR AVIF_LIBRARY AVIF_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "install libwebp-dev and libavif-dev (deploy/setup does)")

if(FaceCodecs_FOUND)
  ff_import_library(WebP::WebP LIBRARY "${WEBP_LIBRARY}" INCLUDE_DIRS "${WEBP_INCLUDE_DIR}")
  ff_import_library(AVIF::AVIF LIBRARY "${AVIF_LIBRARY}" INCLUDE_DIRS "${AVIF_INCLUDE_DIR}")
endif()
mark_as_advanced(WEBP_INCLUDE_DIR WEBP_LIBRARY AVIF_INCLUDE_DIR AVIF_LIBRARY)
