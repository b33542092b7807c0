// trl/sdk/dist/dist_env.h: where this process stands in a data-parallel job, read from the environment
// variables torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), so `trl-host launch`,
// torchrun-style schedulers and a hand-written script all start ranks the same way.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace trl::dist {

/// One process's place in the job; world_size >= 1, 0 <= rank < world_size.
struct DistEnv {
  int64_t rank = 0;                   ///< global rank (RANK); 0 writes every output
  int64_t world_size = 1;             ///< number of processes in the job (WORLD_SIZE)
  int64_t local_rank = 0;             ///< rank on this machine (LOCAL_RANK; defaults to RANK when unset)
  std::string master_addr;            ///< host of rank 0's rendezvous store (MASTER_ADDR)
  uint16_t master_port = 0;           ///< its TCP port (MASTER_PORT, 1..65535)
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  ///< collective and rendezvous timeout (TRL_DIST_TIMEOUT, s)
};

/// Default seconds a collective or the rendezvous may wait before the job fails (TRL_DIST_TIMEOUT overrides).
inline constexpr double kDefaultTimeoutSeconds = 60.0;

/// Reads the variables through `getenv` (nullptr = unset). None of RANK, WORLD_SIZE, MASTER_ADDR,
/// MASTER_PORT set: nullopt (a single process, no process group). Otherwise all four are required, and
/// a missing or malformed one throws ConfigError naming the variable, what was expected and what was found.
std::optional<DistEnv> parse_dist_env(const std::function<const char*(const char*)>& getenv);

/// parse_dist_env over the process environment.
std::optional<DistEnv> dist_env_from_environment();

}  // namespace trl::dist
