# Writes OUTPUT, the man page of the CLI: help2man reads `CLI --help` for the synopsis and options,
# and a COMMANDS section holds every subcommand's own --help (names read from the top-level help),
# so the page says what the binary says. Run at build time (cmake/install.cmake).
execute_process(COMMAND ${CLI} --help OUTPUT_VARIABLE top RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${CLI} --help failed (${status})")
endif()
string(REGEX REPLACE ".*\nSubcommands:\n" "" listing "${top}")
string(REPLACE "\n" ";" lines "${listing}")
set(include_text "[COMMANDS]\nEach command's flags, as `dsignsgd COMMAND --help` prints them.\n")
foreach(line IN LISTS lines)
  if(NOT line MATCHES "^  ([a-z0-9-]+) ")
    continue()
  endif()
  set(command ${CMAKE_MATCH_1})
  execute_process(COMMAND ${CLI} ${command} --help OUTPUT_VARIABLE help RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${CLI} ${command} --help failed (${status})")
  endif()
  # roff: backslashes escaped, and no line may start with a control character.
  string(REPLACE "\\" "\\e" help "${help}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
  string(APPEND include_text ".SS ${command}\n.nf\n${help}.fi\n")
endforeach()
get_filename_component(out_dir ${OUTPUT} DIRECTORY)
file(MAKE_DIRECTORY ${out_dir})
file(WRITE ${OUTPUT}.include "${include_text}")
execute_process(COMMAND ${HELP2MAN} --no-info --no-discard-stderr --locale=C.UTF-8
                        --version-string=${VERSION}
                        --name=${NAME} --include=${OUTPUT}.include --output=${OUTPUT}.tmp ${CLI}
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "help2man failed (${status})")
endif()
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
