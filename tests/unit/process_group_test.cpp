// The variable-size collectives of ProcessGroup (all_gather_rows, all_gather_bytes), over a real
// 2-rank Gloo group on loopback: two threads of this process, each joining as one rank.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <future>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "trl/sdk/dist/process_group.h"

namespace {

using trl::dist::DistEnv;
using trl::dist::ProcessGroup;

// A TCP port that was free a moment ago (bound to port 0, read back, closed).
uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// Runs `body(rank's group)` on ranks 0 and 1 concurrently and returns both results.
template <class F>
auto on_two_ranks(F body) -> std::vector<decltype(body(std::declval<ProcessGroup&>()))> {
  const uint16_t port = free_port();
  EXPECT_NE(port, 0);
  auto rank = [&](int64_t r) {
    DistEnv env;
    env.rank = r;
    env.world_size = 2;
    env.master_addr = "127.0.0.1";
    env.master_port = port;
    env.timeout = std::chrono::seconds(20);
    std::unique_ptr<ProcessGroup> pg = ProcessGroup::connect(env);
    return body(*pg);
  };
  auto one = std::async(std::launch::async, rank, 1);
  auto zero = rank(0);
  return {zero, one.get()};
}

TEST(ProcessGroupCollectives, AllGatherRowsTakesDifferentRowCountsPerRank) {
  // Rank 0 sends 3 rows, rank 1 none; every rank receives both, in rank order, unpadded.
  const auto results = on_two_ranks([](ProcessGroup& pg) {
    const at::Tensor local = pg.rank() == 0 ? at::arange(6, at::kLong).view({3, 2}) : at::empty({0, 2}, at::kLong);
    return pg.all_gather_rows(local);
  });
  for (const std::vector<at::Tensor>& got : results) {
    ASSERT_EQ(got.size(), 2u);
    EXPECT_TRUE(at::equal(got[0], at::arange(6, at::kLong).view({3, 2})));
    EXPECT_EQ(got[1].sizes(), (std::vector<int64_t>{0, 2}));
  }
}

TEST(ProcessGroupCollectives, AllGatherBytesKeepsEveryByte) {
  const std::string zero("rank 0 \0 with a NUL", 19);
  const auto results = on_two_ranks([&](ProcessGroup& pg) {
    return pg.all_gather_bytes(pg.rank() == 0 ? zero : std::string("r1"));
  });
  for (const std::vector<std::string>& got : results) {
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], zero);
    EXPECT_EQ(got[1], "r1");
  }
}

// A rank whose peer died must fail its collective with an error, not die of SIGPIPE on its next write
// to the peer's closed socket (CI saw rank 0 of a killed job end so, exit 141, with no message). In a
// child process: join a group, then write to a socket whose other end is closed, as Gloo's writev to a
// dead peer does; the write must return EPIPE and the child live on.
TEST(ProcessGroupCollectives, AJoinedRankSurvivesAWriteToAClosedPeer) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // the group's threads; the child re-runs this test alone
  EXPECT_EXIT(
      {
        on_two_ranks([](ProcessGroup& pg) { return pg.rank(); });
        int ends[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, ends) != 0) _exit(2);
        close(ends[1]);
        const char byte = 'x';
        const ssize_t wrote = write(ends[0], &byte, 1);
        _exit(wrote < 0 && errno == EPIPE ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
