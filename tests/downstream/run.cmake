# Installs gpuperf into a scratch prefix, then configures, builds and runs a tiny downstream project
# that finds it with find_package(gpuperf) and loads the installed specs.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
  RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/downstream -B ${WORK_DIR}/build
  -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "downstream configure failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "downstream build failed")
endif()
execute_process(COMMAND ${WORK_DIR}/build/downstream RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "rtx-4090 1008")
  message(FATAL_ERROR "downstream run failed (${rc}): ${out}")
endif()
execute_process(COMMAND ${WORK_DIR}/prefix/bin/gpuperf show gpu rtx-4090 RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "installed gpuperf cannot read its installed specs")
endif()
# Leave-one-out refits read every measurement file the default calibration lists (the survey tables and
# gpuperf-validate's H100 files, installed beside the specs).
execute_process(COMMAND ${WORK_DIR}/prefix/bin/gpuperf table --measurements survey-llama13b-4bit
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "rtx-4090")
  message(FATAL_ERROR "installed gpuperf cannot refit its default calibration (${rc}): ${err}")
endif()
