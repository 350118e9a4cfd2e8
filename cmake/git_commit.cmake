# Run at every build (target dsignsgd_git_commit): writes OUTPUT, the header that defines
# kGitCommit, only when the checkout's commit changed — so the commit stamped into --version and
# summary.json is the one built, not the one configured, and an unchanged commit rebuilds nothing.
execute_process(COMMAND git rev-parse --short=12 HEAD
                WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET)
if(NOT commit)
  set(commit "unknown")
endif()
file(WRITE ${OUTPUT}.tmp
     "#pragma once\n// Generated at build time by cmake/git_commit.cmake.\nnamespace dsignsgd {\n"
     "inline constexpr const char* kGitCommit = \"${commit}\";\n}  // namespace dsignsgd\n")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
