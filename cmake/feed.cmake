# The market-data feed (src/feed), its replay server (src/feed_replay) and their tests.
# Included from the top-level CMakeLists.txt.
add_subdirectory(${PROJECT_SOURCE_DIR}/src/feed ${PROJECT_BINARY_DIR}/src/feed)
add_subdirectory(${PROJECT_SOURCE_DIR}/src/feed_replay ${PROJECT_BINARY_DIR}/src/feed_replay)
if(MATCHD_BUILD_TESTS)
  add_subdirectory(${PROJECT_SOURCE_DIR}/tests/feed ${PROJECT_BINARY_DIR}/tests/feed)
endif()
