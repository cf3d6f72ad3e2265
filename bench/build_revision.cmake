# Writes OUT (a header defining SPECD_BUILD_COMMIT) from `git describe --always --dirty` in
# SOURCE_DIR, only when the text changes, so that reports name the source their binary was built
# from and an unchanged revision rebuilds nothing. Run at every build by specd_build_revision.
execute_process(COMMAND git describe --always --dirty --abbrev=7 WORKING_DIRECTORY ${SOURCE_DIR}
  OUTPUT_VARIABLE revision OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT revision)
  set(revision unknown)
endif()
set(text "#define SPECD_BUILD_COMMIT \"${revision}\"\n")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()
