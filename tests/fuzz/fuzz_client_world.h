// Client-side pieces of the fuzz targets 9 and 10: a Remote whose every answer comes from the
// fuzz input (a hostile server), and one that is always offline.
//
// HostileRemote answers each request with the next "frame" of its input: a ServerMessage built
// from the input (fuzz_messages.h) or raw bytes, put through the real codec exactly as the
// transport receives it (encode -> decodeServerMessage), then unpacked the way WsTransport does
// (a response of the wrong type or an ok Status is kProtocolError; an undecodable frame drops
// the connection: kUnavailable). DatasetChanged frames are delivered to the live-sync listener
// before the answer; a HelloAck frame is a reconnection (onConnected, conditionalPush as it
// says). With the input used up every request fails kUnavailable (the server went away).
// Threading: as the Remote contract says - called on the executor thread, callbacks posted to
// it; the input is only read there.
#pragma once

#include <memory>
#include <string>

#include "fuzz_messages.h"
#include "sync/remote.h"
#include "tether/codec.h"
#include "tether/limits.h"
#include "util/executor.h"

namespace tether::fuzz {

class HostileRemote final : public client::Remote {
 public:
  HostileRemote(std::string bytes, std::shared_ptr<client::Executor> executor, Vocabulary vocab)
      : bytes_(std::move(bytes)),
        in_(reinterpret_cast<const uint8_t*>(bytes_.data()), bytes_.size()),
        executor_(std::move(executor)),
        vocab_(std::move(vocab)) {}

  void authenticate(std::string identityId, LoginsFn logins, bool, Callback<std::string> done) override {
    if (logins) (void)logins();
    // As WsTransport: GetId when no identity, then GetToken, then Authenticate; the identity the
    // server confirms must be a valid identity ID.
    auto afterToken = [this, done](Result<proto::GetTokenResponse> t, std::string asked) mutable {
      if (!t.isOk()) return finish(std::move(done), Result<std::string>(t.status()));
      std::string confirmed = t->identityId.empty() ? asked : t->identityId;
      if (!validateIdentityId(confirmed).isOk())
        return finish(std::move(done), Result<std::string>(Status::protocolError("server returned an invalid identity ID")));
      Result<proto::AuthenticateResponse> a = answer<proto::AuthenticateResponse>();
      if (!a.isOk()) return finish(std::move(done), Result<std::string>(a.status()));
      finish(std::move(done), Result<std::string>(a->identityId.empty() ? confirmed : a->identityId));
    };
    if (identityId.empty()) {
      Result<proto::GetIdResponse> id = answer<proto::GetIdResponse>();
      if (!id.isOk()) return finish(std::move(done), Result<std::string>(id.status()));
      if (!validateIdentityId(id->identityId).isOk())
        return finish(std::move(done), Result<std::string>(Status::protocolError("server returned an invalid identity ID")));
      identityId = id->identityId;
    }
    afterToken(answer<proto::GetTokenResponse>(), identityId);
  }
  void listDatasets(proto::ListDatasetsRequest, Callback<proto::ListDatasetsResponse> done) override {
    finish(std::move(done), answer<proto::ListDatasetsResponse>());
  }
  void listRecords(proto::ListRecordsRequest, Callback<proto::ListRecordsResponse> done) override {
    finish(std::move(done), answer<proto::ListRecordsResponse>());
  }
  void updateRecords(proto::UpdateRecordsRequest, Callback<proto::UpdateRecordsResponse> done) override {
    finish(std::move(done), answer<proto::UpdateRecordsResponse>());
  }
  bool conditionalPush() const override { return conditionalPush_; }
  void deleteDataset(proto::DeleteDatasetRequest, Callback<proto::DeleteDatasetResponse> done) override {
    finish(std::move(done), answer<proto::DeleteDatasetResponse>());
  }
  void subscribe(proto::SubscribeRequest, Callback<proto::SubscribeResponse> done) override {
    finish(std::move(done), answer<proto::SubscribeResponse>());
  }
  void unsubscribe(proto::UnsubscribeRequest, Callback<proto::UnsubscribeResponse> done) override {
    finish(std::move(done), answer<proto::UnsubscribeResponse>());
  }
  void setListener(client::RemoteListener* listener) override {
    executor_->post([this, listener] {
      listener_ = listener;
      if (listener_) listener_->onConnected();
    });
  }

 private:
  template <class T>
  void finish(Callback<T> done, Result<T> r) {
    executor_->post([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  }

  // The next frame that is a response (notifications and hello acks on the way are delivered).
  template <class Resp>
  Result<Resp> answer() {
    for (int guard = 0; guard < 8; ++guard) {
      if (in_.empty()) return Status::unavailable("the server went away (input used up)");
      std::string frame = in_.range<int>(0, 15) == 0 ? in_.bytes(512) : codec::encode(fuzzServerMessage(in_, vocab_));
      Result<proto::ServerMessage> m = codec::decodeServerMessage(frame);
      if (!m.isOk()) return Status::unavailable("undecodable frame from server: " + m.status().message());
      if (auto* ack = std::get_if<proto::HelloAck>(&*m)) {
        if (ack->protocolVersion != proto::kProtocolVersion) return Status::unavailable("server speaks another version");
        conditionalPush_ = ack->conditionalPush;
        if (listener_) executor_->post([this] { if (listener_) listener_->onConnected(); });
        continue;
      }
      if (auto* changed = std::get_if<proto::DatasetChanged>(&*m)) {
        if (listener_) executor_->post([this, c = *changed] { if (listener_) listener_->onDatasetChanged(c); });
        continue;
      }
      proto::ResponseBody& body = std::get<proto::Response>(*m).body;
      if (auto* err = std::get_if<Status>(&body)) {
        if (err->isOk()) return Status::protocolError("error response with an ok status");
        return *err;
      }
      if (auto* r = std::get_if<Resp>(&body)) return std::move(*r);
      return Status::protocolError("response of the wrong type");
    }
    return Status::unavailable("too many frames without an answer");
  }

  std::string bytes_;
  FuzzInput in_;
  std::shared_ptr<client::Executor> executor_;
  Vocabulary vocab_;
  bool conditionalPush_ = false;
  client::RemoteListener* listener_ = nullptr;
};

// A server that is never reachable: every request fails kUnavailable (the cache-file target).
class OfflineRemote final : public client::Remote {
 public:
  explicit OfflineRemote(std::shared_ptr<client::Executor> executor) : executor_(std::move(executor)) {}
  void authenticate(std::string, LoginsFn, bool, Callback<std::string> done) override { fail(std::move(done)); }
  void listDatasets(proto::ListDatasetsRequest, Callback<proto::ListDatasetsResponse> done) override { fail(std::move(done)); }
  void listRecords(proto::ListRecordsRequest, Callback<proto::ListRecordsResponse> done) override { fail(std::move(done)); }
  void updateRecords(proto::UpdateRecordsRequest, Callback<proto::UpdateRecordsResponse> done) override { fail(std::move(done)); }
  void deleteDataset(proto::DeleteDatasetRequest, Callback<proto::DeleteDatasetResponse> done) override { fail(std::move(done)); }
  void subscribe(proto::SubscribeRequest, Callback<proto::SubscribeResponse> done) override { fail(std::move(done)); }
  void unsubscribe(proto::UnsubscribeRequest, Callback<proto::UnsubscribeResponse> done) override { fail(std::move(done)); }
  void setListener(client::RemoteListener*) override {}

 private:
  template <class T>
  void fail(Callback<T> done) {
    executor_->post([done = std::move(done)] { done(Status::unavailable("offline")); });
  }
  std::shared_ptr<client::Executor> executor_;
};

}  // namespace tether::fuzz
