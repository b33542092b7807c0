# Sanitizer runtime options for a TRL_SANITIZE=address,undefined build (docs/reliability.md).
# Source it before building (gtest discovery runs the test binaries) and before running them:
#   . tests/sanitizers/env.sh && ctest --test-dir build-asan -LE slow
# Every finding stops the process with a non-zero exit (so a test that triggers one fails); the
# suppression files next to this script hold only findings inside third-party code, each with its reason.
trl_sanitizers_dir="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=0:suppressions=$trl_sanitizers_dir/asan.supp"
export LSAN_OPTIONS="suppressions=$trl_sanitizers_dir/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$trl_sanitizers_dir/ubsan.supp"
