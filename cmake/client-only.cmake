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
add_executable(knock_client_tests
  tests/catch_main.cc
  tests/common/test_config_names.cc
  tests/common/test_did_you_mean.cc
  tests/common/test_duration.cc
  tests/common/test_key_commands.cc
  tests/common/test_key_encoding.cc
  tests/common/test_knock_sequence.cc
  tests/common/test_port_range.cc
  tests/common/test_private_file_acl.cc
  tests/common/test_x25519_key.cc
  tests/knock/test_client_config.cc
  tests/knock/test_knock_plan.cc
  tests/knock/test_port_probe.cc
  tests/knock/test_user_dirs.cc)
if(WIN32)
  target_sources(knock_client_tests PRIVATE tests/knock/test_relay_windows.cc)
else()
  target_sources(knock_client_tests PRIVATE tests/common/test_key_file.cc
                                           tests/knock/test_relay.cc)
endif()
target_compile_options(knock_client_tests PRIVATE ${KNOCK_WARNINGS})
target_include_directories(knock_client_tests PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_compile_definitions(knock_client_tests PRIVATE
  KNOCK_TEST_DATA_DIR="${CMAKE_SOURCE_DIR}/tests/data"
  KNOCK_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
target_link_libraries(knock_client_tests PRIVATE knock_client ${knock_catch_target})
add_test(NAME knock_client_tests COMMAND knock_client_tests)
