// WorkPool: the server's worker threads (a boost::asio::thread_pool) and the strands that
// serialize each identity's work on them. Every front end (native protocol, Cognito HTTP API)
// posts dataset work for an identity to forIdentity(id), so one identity's batches never
// interleave whichever way they arrive, while different identities run in parallel.
//
// Strands are striped (a fixed set, chosen by hash of the identity ID): memory stays constant
// however many identities exist; two identities that share a stripe merely wait for each other.
// Posted work runs under the request ID current when it was posted (common/request_context.h),
// so a request's log lines on the worker carry it too.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <functional>
#include <string>
#include <vector>

#include "common/request_context.h"

namespace tether::server {

class WorkPool {
 public:
  using Strand = boost::asio::strand<boost::asio::thread_pool::executor_type>;

  explicit WorkPool(unsigned threads, size_t stripes = 64) : pool_(threads) {
    strands_.reserve(stripes);
    for (size_t i = 0; i < stripes; ++i) strands_.emplace_back(boost::asio::make_strand(pool_.get_executor()));
  }

  Strand& forIdentity(const std::string& identityId) {
    return strands_[std::hash<std::string>{}(identityId) % strands_.size()];
  }

  // Work that needs no ordering (identity lookups, token checks).
  template <class Fn>
  void post(Fn&& fn) { boost::asio::post(pool_, carryRequestId(std::forward<Fn>(fn))); }
  template <class Fn>
  void postForIdentity(const std::string& identityId, Fn&& fn) {
    boost::asio::post(forIdentity(identityId), carryRequestId(std::forward<Fn>(fn)));
  }

  // Waits for all posted work to finish; no new work should be posted after this.
  void join() { pool_.join(); }

 private:
  boost::asio::thread_pool pool_;
  std::vector<Strand> strands_;
};

}  // namespace tether::server
