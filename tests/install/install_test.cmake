# install_consumer: `cmake --install` of this build into a scratch prefix,
# then the consumer project of tests/install built against it and run
# (tests/install/run.sh). Run after a full build: it installs every target.
add_test(NAME install_consumer
         COMMAND ${PROJECT_SOURCE_DIR}/tests/install/run.sh ${PROJECT_BINARY_DIR}
                 ${PROJECT_BINARY_DIR}/tests/install_consumer)
set_tests_properties(install_consumer PROPERTIES LABELS install TIMEOUT 900)
