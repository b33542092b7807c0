// The torchrun environment variables (trl/sdk/dist/dist_env.h).
#include "trl/sdk/dist/dist_env.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "trl/sdk/error.h"

namespace trl::dist {
namespace {

// The environment is a config source: errors name the variable like a config key.
constexpr const char* kWhere = "environment";

std::string shown(const char* value) { return value == nullptr ? "nothing (unset)" : "\"" + std::string(value) + "\""; }

int64_t integer_var(const char* name, const char* value, int64_t min, int64_t max) {
  if (value == nullptr || *value == '\0')
    throw ConfigError(kWhere, name, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                                        "], got " + shown(value) + " (a distributed job needs RANK, WORLD_SIZE, "
                                        "MASTER_ADDR and MASTER_PORT)");
  errno = 0;
  char* end = nullptr;
  const long long parsed = std::strtoll(value, &end, 10);
  if (errno != 0 || *end != '\0' || parsed < min || parsed > max)
    throw ConfigError(kWhere, name, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                                        "], got " + shown(value));
  return parsed;
}

}  // namespace

std::optional<DistEnv> parse_dist_env(const std::function<const char*(const char*)>& getenv) {
  auto get = [&](const char* name) -> const char* {
    const char* v = getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
  };
  const char* rank = get("RANK");
  const char* world = get("WORLD_SIZE");
  const char* addr = get("MASTER_ADDR");
  const char* port = get("MASTER_PORT");
  if (rank == nullptr && world == nullptr && addr == nullptr && port == nullptr) return std::nullopt;

  DistEnv env;
  env.world_size = integer_var("WORLD_SIZE", world, 1, 1 << 20);
  env.rank = integer_var("RANK", rank, 0, env.world_size - 1);
  const char* local = get("LOCAL_RANK");
  env.local_rank = local != nullptr ? integer_var("LOCAL_RANK", local, 0, env.world_size - 1) : env.rank;
  if (addr == nullptr)
    throw ConfigError(kWhere, "MASTER_ADDR", "expected the host name or address of rank 0, got " + shown(addr) +
                                                 " (a distributed job needs RANK, WORLD_SIZE, MASTER_ADDR and "
                                                 "MASTER_PORT)");
  env.master_addr = addr;
  env.master_port = static_cast<uint16_t>(integer_var("MASTER_PORT", port, 1, 65535));
  if (const char* timeout = get("TRL_DIST_TIMEOUT")) {
    char* end = nullptr;
    const double seconds = std::strtod(timeout, &end);
    if (*end != '\0' || !std::isfinite(seconds) || seconds <= 0 || seconds > 1e6)
      throw ConfigError(kWhere, "TRL_DIST_TIMEOUT", "expected seconds > 0, got " + shown(timeout));
    env.timeout = std::chrono::milliseconds(static_cast<int64_t>(std::ceil(seconds * 1000.0)));
  } else {
    env.timeout = std::chrono::milliseconds(static_cast<int64_t>(kDefaultTimeoutSeconds * 1000.0));
  }
  return env;
}

std::optional<DistEnv> dist_env_from_environment() {
  return parse_dist_env([](const char* name) { return std::getenv(name); });
}

}  // namespace trl::dist
