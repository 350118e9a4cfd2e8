# `cmake --install build --prefix P` (docs/INSTALL.md): the CLI, the core library (shared, with a
# SONAME, when DSIGNSGD_SHARED), its public headers, a CMake package with the exported target
# dsignsgd::dsignsgd, a pkg-config file, the man page, the docs and the Python package.
# Components: runtime (CLI, library), development (headers, CMake package, pkg-config), doc (man
# page, docs), python.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(DSIGNSGD_PYTHON_INSTALL_DIR "lib/python3/dist-packages" CACHE STRING
    "where `cmake --install` puts the Python package, relative to the prefix (Debian's layout)")
set(config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/dsignsgd)

# The CLI finds the library in any prefix, and in a pip-installed package (setup.py:
# dsignsgd/bin/dsignsgd beside dsignsgd/libdsignsgd.so.*).
set_target_properties(dsignsgd_cli PROPERTIES
                      INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR};$ORIGIN/..")
install(TARGETS dsignsgd_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(TARGETS dsignsgd EXPORT dsignsgdTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
                NAMELINK_COMPONENT development
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The public headers of the core library. Not installed: those of the parts that are not
# (dsignsgd_mpi, dsignsgd_torch, dsignsgd_plot) and the headers in src/ (internal).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/dsignsgd
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development
        FILES_MATCHING PATTERN "*.hpp"
        PATTERN "torch" EXCLUDE
        PATTERN "plot" EXCLUDE
        PATTERN "mpi.hpp" EXCLUDE)
install(FILES ${PROJECT_BINARY_DIR}/generated/dsignsgd/version.hpp
              ${PROJECT_BINARY_DIR}/generated/dsignsgd/git_commit.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/dsignsgd COMPONENT development)

install(EXPORT dsignsgdTargets NAMESPACE dsignsgd:: DESTINATION ${config_dir}
        COMPONENT development)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/dsignsgdConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/dsignsgdConfig.cmake
                              INSTALL_DESTINATION ${config_dir})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/dsignsgdConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/dsignsgdConfig.cmake
              ${PROJECT_BINARY_DIR}/dsignsgdConfigVersion.cmake
        DESTINATION ${config_dir} COMPONENT development)
file(RELATIVE_PATH pc_to_prefix /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" pc_to_prefix "${pc_to_prefix}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/dsignsgd.pc.in ${PROJECT_BINARY_DIR}/dsignsgd.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/dsignsgd.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT development)

# The man page, generated from the CLI's own help (cmake/man_page.cmake, Debian's help2man).
find_program(HELP2MAN help2man)
if(HELP2MAN AND NOT DSIGNSGD_SANITIZE AND NOT DSIGNSGD_TSAN)
  add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/man/dsignsgd.1
                     COMMAND ${CMAKE_COMMAND} -DCLI=$<TARGET_FILE:dsignsgd_cli>
                             -DHELP2MAN=${HELP2MAN} -DOUTPUT=${PROJECT_BINARY_DIR}/man/dsignsgd.1
                             -DVERSION=${PROJECT_VERSION}
                             "-DNAME=distributed SGD, compressed SGD and SignSGD, and their SDEs"
                             -P ${PROJECT_SOURCE_DIR}/cmake/man_page.cmake
                     DEPENDS dsignsgd_cli ${PROJECT_SOURCE_DIR}/cmake/man_page.cmake
                     COMMENT "man page (help2man)")
  add_custom_target(dsignsgd_man ALL DEPENDS ${PROJECT_BINARY_DIR}/man/dsignsgd.1)
  install(FILES ${PROJECT_BINARY_DIR}/man/dsignsgd.1
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT doc)
else()
  message(STATUS "dsignsgd: help2man not found (or a sanitizer build): no man page")
endif()
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT doc)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT doc)

# The Python package: its .py files and the extension, which finds the library from there.
if(DSIGNSGD_WITH_PYTHON)
  set(python_package_dir ${DSIGNSGD_PYTHON_INSTALL_DIR}/dsignsgd)
  file(RELATIVE_PATH python_to_lib /${python_package_dir} /${CMAKE_INSTALL_LIBDIR})
  # The prefix's library, or the one beside it in a pip-installed package (setup.py).
  set_target_properties(dsignsgd_python_core PROPERTIES
                        INSTALL_RPATH "$ORIGIN/${python_to_lib};$ORIGIN")
  install(TARGETS dsignsgd_python_core LIBRARY DESTINATION ${python_package_dir}
          COMPONENT python)
  file(GLOB python_files ${PROJECT_SOURCE_DIR}/python/dsignsgd/*.py)
  install(FILES ${python_files} DESTINATION ${python_package_dir} COMPONENT python)
endif()

# `make package`: a Debian package of everything above (CPack DEB), installed under /usr, its
# Depends computed by dpkg-shlibdeps from the binaries' shared libraries (libdsignsgd itself is
# the package's own: found in the build tree).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dsignsgd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "distributed SGD, compressed SGD and SignSGD with real wire formats, and their SDE models")
set(CPACK_PACKAGE_CONTACT "dsignsgd developers")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # dsignsgd_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR}/src)
# The Python package needs NumPy (and torch for dsignsgd.torch), which no binary links.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3-numpy, python3-torch")
include(CPack)
