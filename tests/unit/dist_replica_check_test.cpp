// The ranks' end-of-run weight check (dist/data_parallel.h): two ranks of one Gloo job, as two threads of this
// process over 127.0.0.1, compare a CRC-32C of every tensor's bytes. Swapped elements keep every sum and sum
// of squares (what the check compared before) and must still be caught.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dist/data_parallel.h"
#include "trl/sdk/dist/dist_env.h"
#include "trl/sdk/dist/process_group.h"

namespace {

// A TCP port nobody listens on now (the kernel's pick for port 0), for rank 0's rendezvous store.
uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Runs check_replicas_identical on two ranks holding rank0_weights and rank1_weights; each rank's result
// is "" or the DistributedError's message.
std::vector<std::string> check_on_two_ranks(const std::vector<at::Tensor>& rank0_weights,
                                            const std::vector<at::Tensor>& rank1_weights) {
  const uint16_t port = free_port();
  auto rank = [port](int64_t r, std::vector<at::Tensor> weights) -> std::string {
    trl::dist::DistEnv env;
    env.rank = r;
    env.world_size = 2;
    env.master_addr = "127.0.0.1";
    env.master_port = port;
    env.timeout = std::chrono::seconds(30);
    const std::unique_ptr<trl::dist::ProcessGroup> pg = trl::dist::ProcessGroup::connect(env);
    try {
      trl::dist::check_replicas_identical(pg.get(), weights, "the policy");
    } catch (const trl::dist::DistributedError& e) {
      return e.what();
    }
    return "";
  };
  std::future<std::string> zero = std::async(std::launch::async, rank, 0, rank0_weights);
  std::future<std::string> one = std::async(std::launch::async, rank, 1, rank1_weights);
  return {zero.get(), one.get()};
}

std::vector<at::Tensor> weights() {
  at::manual_seed(3);
  return {at::randn({4, 3}), at::randn({5})};
}

TEST(ReplicaCheck, IdenticalWeightsPass) {
  const std::vector<std::string> errors = check_on_two_ranks(weights(), weights());
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
}

TEST(ReplicaCheck, SwappedElementsAreCaughtAndTheTensorNamed) {
  std::vector<at::Tensor> swapped = weights();
  const at::Tensor v = swapped[1];
  const float first = v[0].item<float>(), second = v[1].item<float>();
  v[0] = second;
  v[1] = first;  // same sum, same sum of squares, different weights
  const std::vector<std::string> errors = check_on_two_ranks(weights(), swapped);
  for (const std::string& e : errors) {
    EXPECT_NE(e.find("rank 1 holds different weights of the policy than rank 0"), std::string::npos) << e;
    EXPECT_NE(e.find("1 of 2 tensors differ, the first is tensor 1"), std::string::npos) << e;
  }
}

}  // namespace
