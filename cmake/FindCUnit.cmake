# FindCUnit: libcunit1-dev ships a .pc on some releases only; find it directly.
# Defines: CUnit_FOUND, imported target CUnit::CUnit.
find_path(CUNIT_INCLUDE_DIR NAMES CUnit/CUnit.h)
find_library(CUNIT_LIBRARY NAMES cunit)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CUnit
  REQUIRED_VARS CUNIT_LIBRARY CUNIT_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "install libcunit1-dev (deploy/setup does)")

if(CUnit_FOUND)
  ff_import_library(CUnit::CUnit LIBRARY "${CUNIT_LIBRARY}" INCLUDE_DIRS "${CUNIT_INCLUDE_DIR}")
endif()
mark_as_advanced(CUNIT_INCLUDE_DIR CUNIT_LIBRARY)
