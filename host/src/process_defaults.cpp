// Process-start defaults for the OpenMP thread pool and the allocator, applied before any shared
// library initialises. Linked into the trl-host and trl_bench executables only (host/CMakeLists.txt,
// bench/CMakeLists.txt), never into libtrl_sdk or a plugin. Measurements: docs/performance.md,
// "Where the speed comes from".
//
// OpenMP wait policy. By default a libgomp worker spins (about 300k iterations) after every parallel
// region before it sleeps. Where the BLAS runs on a pool of its own (Debian's LibTorch 1.13: OpenBLAS's
// pthreads), a spinning worker holds a core that the sgemm following the region needs, and on a shared
// machine it spins while its partner is descheduled. perf on a DPO step (small preset, 2 threads, loaded
// machine): 43% of the process's CPU samples were libgomp's spin loop, and OMP_WAIT_POLICY=PASSIVE (workers
// sleep at once) cut the step's CPU time 2.2x. Such builds (TRL_OPENMP_PASSIVE=1, set by CMakeLists.txt)
// run with the passive policy.
// Where the BLAS runs on libgomp's pool too (LibTorch 2.x from PyPI: MKL's GNU-threaded layer), there is no
// second pool to take a core from, and a worker that still spins when the next region starts needs no wake-up
// (a sleeping one costs about 65 us on the bench VM, and a decode step hands work over 41 times). Measured
// there (Intel VM, 2 threads, large preset, 2 interleaved rounds, docs/performance.md): libgomp's default
// against PASSIVE took a generate call 2.14 -> 1.54 s, a GRPO step 3.24 -> 2.74 s, a DPO step 2.46 -> 2.14 s.
// Those builds (TRL_OPENMP_PASSIVE=0) keep libgomp's default and re-execute nothing.
//
// How the passive policy is set: libgomp reads the variable once, in its constructor, before main(). An
// entry of the executable's .preinit_array runs before every shared library's constructor (ELF gABI), but
// glibc then resets `environ` to the original block, so a setenv() there is lost: the process re-executes
// itself with the variable added instead. That happens before any constructor ran (LibTorch's operator
// registration included), so it costs only the dynamic loader's work a second time (about 0.1 s), and only
// for the commands that compute. A value the user set (OMP_WAIT_POLICY or GOMP_SPINCOUNT) is kept and
// nothing is re-executed; if /proc/self/exe cannot be executed the process simply goes on.
//
// Allocator. glibc serves blocks above M_MMAP_THRESHOLD (dynamic, at most 32 MB) with fresh mmaps and
// returns heap tops above M_TRIM_THRESHOLD to the kernel, so the step's large temporaries (attention
// scores, lm_head chunks, activations of the larger presets) are page-faulted and zeroed afresh on
// every step (7% of the samples above). Keeping them in the heap lets the next step reuse the pages.
// Blocks of 256 MB and more are still mmapped, so a one-off giant buffer is given back when freed.
// MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ set by the user win.
#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#ifndef TRL_OPENMP_PASSIVE
#error "TRL_OPENMP_PASSIVE (0 or 1) comes from CMakeLists.txt: whether the BLAS has a thread pool of its own"
#endif

namespace {

constexpr int kMmapThresholdBytes = 256 << 20;
constexpr int kTrimThresholdBytes = 512 << 20;
char kPassive[] = "OMP_WAIT_POLICY=PASSIVE";

// getenv() cannot be used yet: glibc sets `environ` only after the preinit entries ran.
bool has_variable(char** envp, const char* prefix) {
  const size_t length = std::strlen(prefix);
  for (; envp != nullptr && *envp != nullptr; ++envp)
    if (std::strncmp(*envp, prefix, length) == 0) return true;
  return false;
}

// Commands that load no model (listing plugins, printing the environment, plotting, --help, --version)
// are not worth a second exec. The first argument that is not an option names the command.
bool computes(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0 || std::strcmp(arg, "--version") == 0)
      return false;
    if (arg[0] == '-') continue;
    return std::strcmp(arg, "plugins") != 0 && std::strcmp(arg, "env") != 0 && std::strcmp(arg, "plot") != 0;
  }
  return false;  // no command: the host prints its usage
}

void set_process_defaults(int argc, char** argv, char** envp) {
  if (!has_variable(envp, "MALLOC_MMAP_THRESHOLD_=")) mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  if (!has_variable(envp, "MALLOC_TRIM_THRESHOLD_=")) mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes);

  if (!TRL_OPENMP_PASSIVE || envp == nullptr || has_variable(envp, "OMP_WAIT_POLICY=") ||
      has_variable(envp, "GOMP_SPINCOUNT=") || !computes(argc, argv))
    return;
  size_t count = 0;
  while (envp[count] != nullptr) ++count;
  char** with_policy = static_cast<char**>(std::malloc((count + 2) * sizeof(char*)));
  if (with_policy == nullptr) return;
  std::memcpy(with_policy, envp, count * sizeof(char*));
  with_policy[count] = kPassive;
  with_policy[count + 1] = nullptr;
  execve("/proc/self/exe", argv, with_policy);  // returns only on failure: go on without the policy
  std::free(with_policy);
}

// Runs before the shared libraries' constructors (libgomp's reads OMP_WAIT_POLICY).
__attribute__((section(".preinit_array"), used)) void (*preinit_process_defaults)(int, char**, char**) =
    &set_process_defaults;

}  // namespace
