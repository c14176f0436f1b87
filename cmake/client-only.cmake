# The client-only build (Windows, macOS, the BSDs; see README): knock, the
# client's and common's unit tests in one binary, and on Windows the zip
# knock-VERSION-win64.zip with knock.exe, a README and an example config.

if(WIN32)
  install(TARGETS knock DESTINATION .)
  install(FILES ${CMAKE_SOURCE_DIR}/conf/knock.toml DESTINATION .
          RENAME knock.toml.example)
  install(FILES ${CMAKE_SOURCE_DIR}/conf/windows/README.txt DESTINATION .)
  set(CPACK_GENERATOR ZIP)
  set(CPACK_PACKAGE_NAME knock)
  set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
  set(CPACK_PACKAGE_FILE_NAME knock-${PROJECT_VERSION}-win64)
  set(CPACK_INCLUDE_TOPLEVEL_DIRECTORY ON)
  set(CPACK_STRIP_FILES ON)
  include(CPack)
else()
  install(TARGETS knock DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES ${CMAKE_SOURCE_DIR}/man/knock.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

include(CTest)
if(NOT BUILD_TESTING)
  return()
endif()
if(WIN32)
  set(knock_catch_target "")  # Catch2 comes with KNOCK_WINDOWS_DEPS' headers
else()
  find_package(Catch2 2 REQUIRED)
  set(knock_catch_target Catch2::Catch2)
endif()
# The unit tests that hold on every system; the rest need Linux (fork,
# namespaces, socketpairs) and run in the Linux build.
include(${CMAKE_SOURCE_DIR}/cmake/client_unit_tests.cmake)
set(knock_client_test_sources ${KNOCK_PORTABLE_COMMON_TESTS}
                              ${KNOCK_PORTABLE_KNOCK_TESTS})
if(WIN32)
  list(APPEND knock_client_test_sources knock/test_relay_windows.cc)
else()
  list(APPEND knock_client_test_sources ${KNOCK_POSIX_COMMON_TESTS}
                                        ${KNOCK_POSIX_KNOCK_TESTS})
endif()
list(TRANSFORM knock_client_test_sources PREPEND tests/)
add_executable(knock_client_tests tests/catch_main.cc ${knock_client_test_sources})
target_compile_options(knock_client_tests PRIVATE ${KNOCK_WARNINGS})
target_include_directories(knock_client_tests PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_compile_definitions(knock_client_tests PRIVATE
  KNOCK_TEST_DATA_DIR="${CMAKE_SOURCE_DIR}/tests/data"
  KNOCK_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
target_link_libraries(knock_client_tests PRIVATE knock_client ${knock_catch_target})
add_test(NAME knock_client_tests COMMAND knock_client_tests)
