# The unit tests of common/ and knock/ that the client-only build runs too,
# listed once: tests/CMakeLists.txt puts them in common_tests and
# knock_tests, cmake/client-only.cmake in knock_client_tests. A new test of
# the client's or common's code that needs no Linux goes here, not there.
# Paths are relative to tests/.

# Hold on every system, Windows included.
set(KNOCK_PORTABLE_COMMON_TESTS
  common/test_config_names.cc
  common/test_did_you_mean.cc
  common/test_duration.cc
  common/test_key_commands.cc
  common/test_key_encoding.cc
  common/test_knock_sequence.cc
  common/test_port_range.cc
  common/test_private_file_acl.cc
  common/test_x25519_key.cc)
set(KNOCK_PORTABLE_KNOCK_TESTS
  knock/test_client_config.cc
  knock/test_knock_plan.cc
  knock/test_port_probe.cc
  knock/test_user_dirs.cc)
# Need POSIX files or descriptors: every client-only build but Windows.
set(KNOCK_POSIX_COMMON_TESTS common/test_key_file.cc)
set(KNOCK_POSIX_KNOCK_TESTS knock/test_relay.cc)
