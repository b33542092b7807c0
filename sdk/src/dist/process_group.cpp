// The job's process group over c10d: TCPStore rendezvous and ProcessGroupGloo collectives
// (trl/sdk/dist/process_group.h). This is the only file that sees c10d.
//
// Debian's LibTorch is built with Gloo; its headers declare ProcessGroupGloo only under USE_C10D_GLOO,
// which Torch's CMake config passes to its consumers. Defined here too, so this file does not depend on it.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include "trl/sdk/dist/process_group.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <string>
#include <utility>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "trl/sdk/log.h"

namespace trl::dist {

DistributedError::DistributedError(const std::string& what) : Error("distributed: " + what) {}
DistributedError::~DistributedError() = default;

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

namespace {

// c10::Error's what() carries a C++ backtrace; users get the message alone.
std::string message_of(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

std::string seconds_text(std::chrono::milliseconds t) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", static_cast<double>(t.count()) / 1000.0);
  return text;
}

// Runs one c10d call; any failure (a peer gone, a timeout) becomes a DistributedError naming the call.
template <class F>
auto guarded(const ProcessGroup& pg, const char* call, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(pg.rank()) + " of " + std::to_string(pg.world_size()) + ": " +
                           call + " failed: " + message_of(e) + " (a peer process exited, or did not answer within the " +
                           seconds_text(pg.env().timeout) + " timeout)");
  }
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// The network interface Gloo's own connections use. GLOO_SOCKET_IFNAME wins, as in PyTorch; a job on
// loopback stays on loopback; otherwise the interface this host name resolves to.
std::shared_ptr<::gloo::transport::Device> make_device(const DistEnv& env) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0')
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (is_loopback(env.master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname(env.master_addr);
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// Gloo's TCP transport writes to its peers with writev, which raises SIGPIPE when the peer's socket has
// closed (the peer process died): the default action ends this rank at once, exit code 141 and no word,
// where the collective should fail with an error naming the call. Python ignores SIGPIPE from its start,
// so torchrun's workers never see it, and Gloo expects EPIPE from the write: a rank here ignores it too once
// it joins a job. The collective then fails when Gloo sees the peer's connection closed (guarded() reports
// it), or, for a send Gloo had queued, at the timeout (docs/distributed.md, "Failures").
void ignore_sigpipe() { std::signal(SIGPIPE, SIG_IGN); }

void check_cpu(const at::Tensor& t, const char* call) {
  TRL_INTERNAL_ASSERT(t.defined() && t.device().is_cpu(), std::string(call) + ": expects defined CPU tensors");
}

}  // namespace

ProcessGroup::ProcessGroup(DistEnv env, std::unique_ptr<Impl> impl) : env_(std::move(env)), impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() = default;

std::unique_ptr<ProcessGroup> ProcessGroup::connect(const DistEnv& env) {
  ignore_sigpipe();
  auto impl = std::make_unique<Impl>();
  const std::string where = "rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size);
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = env.master_port;
    store_options.isServer = env.rank == 0;
    store_options.numWorkers = static_cast<size_t>(env.world_size);
    store_options.waitWorkers = true;  // rank 0 returns once every rank has connected
    store_options.timeout = env.timeout;
    impl->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);

    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = env.timeout;  // explicit: a dead peer must end the job, never hang it
    options->devices.push_back(make_device(env));
    impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, static_cast<int>(env.rank),
                                                              static_cast<int>(env.world_size), options);
  } catch (const std::exception& e) {
    throw DistributedError(where + ": cannot join the job at MASTER_ADDR=" + env.master_addr + " MASTER_PORT=" +
                           std::to_string(env.master_port) + ": " + message_of(e));
  }
  log::debug("distributed: " + where + " joined " + env.master_addr + ":" + std::to_string(env.master_port));
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(env, std::move(impl)));
}

std::unique_ptr<ProcessGroup> ProcessGroup::from_environment() {
  const std::optional<DistEnv> env = dist_env_from_environment();
  return env ? connect(*env) : nullptr;
}

void ProcessGroup::all_reduce_sum(at::Tensor& tensor) {
  check_cpu(tensor, "all_reduce_sum");
  TRL_INTERNAL_ASSERT(tensor.is_contiguous(), "all_reduce_sum: expects a contiguous tensor");
  guarded(*this, "all_reduce", [&] {
    std::vector<at::Tensor> tensors{tensor};
    impl_->group->allreduce(tensors)->wait();
  });
}

void ProcessGroup::all_reduce_gradients_mean(const std::vector<at::Tensor>& parameters, int64_t bucket_bytes) {
  // Which parameters take part: the same on every rank, since every rank holds the same model.
  std::vector<at::Tensor> params;
  for (const at::Tensor& p : parameters)
    if (p.requires_grad()) params.push_back(p);
  if (params.empty()) return;

  // Buckets of consecutive parameters of one dtype, about bucket_bytes each (DDP's bucket_cap_mb idea:
  // few large messages instead of one per tensor, without one copy of the whole model).
  struct Bucket {
    std::vector<size_t> members;
    at::Tensor flat;  // (sum of numels,) the packed gradients
  };
  std::vector<Bucket> buckets;
  int64_t bytes = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const int64_t size = params[i].numel() * static_cast<int64_t>(params[i].element_size());
    if (buckets.empty() || bytes + size > bucket_bytes ||
        params[buckets.back().members.front()].scalar_type() != params[i].scalar_type()) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().members.push_back(i);
    bytes += size;
  }
  // has_grad[i] counts the ranks where parameter i has a gradient, so "undefined everywhere" stays undefined.
  at::Tensor has_grad = at::zeros({static_cast<int64_t>(params.size())}, at::kFloat);  // (P,)
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].grad().defined()) has_grad[static_cast<int64_t>(i)] = 1.0f;

  guarded(*this, "all_reduce of the gradients", [&] {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (Bucket& bucket : buckets) {
      std::vector<at::Tensor> pieces;
      for (size_t i : bucket.members) {
        const at::Tensor& g = params[i].grad();
        pieces.push_back(g.defined() ? g.detach().reshape({-1}) : at::zeros({params[i].numel()}, params[i].options()));
      }
      bucket.flat = at::cat(pieces);
      std::vector<at::Tensor> one{bucket.flat};
      works.push_back(impl_->group->allreduce(one));
    }
    std::vector<at::Tensor> flags{has_grad};
    works.push_back(impl_->group->allreduce(flags));
    for (auto& work : works) work->wait();
  });

  const double inverse_world = 1.0 / static_cast<double>(env_.world_size);
  at::NoGradGuard no_grad;
  for (Bucket& bucket : buckets) {
    bucket.flat.mul_(inverse_world);
    int64_t offset = 0;
    for (size_t i : bucket.members) {
      at::Tensor& p = params[i];
      const at::Tensor mean = bucket.flat.narrow(0, offset, p.numel()).view(p.sizes());
      offset += p.numel();
      if (has_grad[static_cast<int64_t>(i)].item<float>() == 0.0f) continue;
      if (p.grad().defined())
        p.mutable_grad().copy_(mean);
      else
        p.mutable_grad() = mean.clone();
    }
  }
}

void ProcessGroup::broadcast(const std::vector<at::Tensor>& tensors, int64_t root) {
  for (const at::Tensor& t : tensors) check_cpu(t, "broadcast");
  TRL_INTERNAL_ASSERT(root >= 0 && root < env_.world_size, "broadcast: root out of range");
  guarded(*this, "broadcast", [&] {
    std::vector<at::Tensor> buffers;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    c10d::BroadcastOptions options;
    options.rootRank = root;
    for (const at::Tensor& t : tensors) {
      buffers.push_back(t.is_contiguous() ? t.detach() : t.detach().contiguous());
      std::vector<at::Tensor> one{buffers.back()};
      works.push_back(impl_->group->broadcast(one, options));
    }
    for (auto& work : works) work->wait();
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < tensors.size(); ++i)
      if (!tensors[i].is_contiguous()) tensors[i].detach().copy_(buffers[i]);
  });
}

std::vector<at::Tensor> ProcessGroup::all_gather(const at::Tensor& tensor) {
  check_cpu(tensor, "all_gather");
  return guarded(*this, "all_gather", [&] {
    std::vector<at::Tensor> input{tensor.detach().contiguous()};
    std::vector<std::vector<at::Tensor>> output(1);
    for (int64_t r = 0; r < env_.world_size; ++r) output[0].push_back(at::empty_like(input[0]));
    impl_->group->allgather(output, input)->wait();
    return output[0];
  });
}

std::vector<at::Tensor> ProcessGroup::all_gather_rows(const at::Tensor& tensor) {
  check_cpu(tensor, "all_gather_rows");
  TRL_INTERNAL_ASSERT(tensor.dim() >= 1, "all_gather_rows: expects a tensor with a row dimension");
  const std::vector<at::Tensor> counts = all_gather(at::tensor({tensor.size(0)}, at::kLong));  // each (1,)
  int64_t longest = 0;
  for (const at::Tensor& c : counts) longest = std::max(longest, c.item<int64_t>());
  // Gloo's allgather needs equal shapes: every rank sends `longest` rows, the tail being zeros.
  std::vector<int64_t> padded_shape = tensor.sizes().vec();
  padded_shape[0] = longest;
  at::Tensor padded = at::zeros(padded_shape, tensor.options());
  if (tensor.size(0) > 0) padded.narrow(0, 0, tensor.size(0)).copy_(tensor.detach());
  std::vector<at::Tensor> all = all_gather(padded);
  for (size_t r = 0; r < all.size(); ++r) all[r] = all[r].narrow(0, 0, counts[r].item<int64_t>());
  return all;
}

std::vector<std::string> ProcessGroup::all_gather_bytes(const std::string& bytes) {
  const at::Tensor local = at::empty({static_cast<int64_t>(bytes.size())}, at::kByte);  // (n,) uint8
  if (!bytes.empty()) std::memcpy(local.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  std::vector<std::string> out;
  for (const at::Tensor& t : all_gather_rows(local)) {
    const at::Tensor c = t.contiguous();
    out.emplace_back(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
  }
  return out;
}

void ProcessGroup::barrier() {
  guarded(*this, "barrier", [&] { impl_->group->barrier()->wait(); });
}

}  // namespace trl::dist
