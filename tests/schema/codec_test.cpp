// Round trips of every native-protocol message through the codec, and decoding of hostile input.
#include "tether/codec.h"

#include <gtest/gtest.h>

#include <random>

#include "tether/limits.h"

namespace tether {
namespace {

using namespace proto;

Record liveRecord() {
  return Record{"k\xc3\xa9y", std::string("v\0al", 4), 7, 1700000000123, "dev-1", 1700000000000};
}

TEST(CodecTest, RequestsRoundTrip) {
  std::vector<RequestBody> bodies = {
      GetIdRequest{"local:1234-abcd", {Login{"accounts.example.com", "tok"}}},
      GetTokenRequest{"local:ab-cd", {}},
      AuthenticateRequest{"jwt.jwt.jwt"},
      ListDatasetsRequest{64, "next"},
      DescribeDatasetRequest{"prefs"},
      ListRecordsRequest{"prefs", 42, 100, "cursor"},
      UpdateRecordsRequest{"prefs", "session", "device-1",
                           {RecordPatch{PatchOp::kReplace, "a", "1", 0, 5},
                            RecordPatch{PatchOp::kRemove, "b", "", 3, 6},
                            RecordPatch{PatchOp::kReplace, "c", "", 2, 7}}},
      DeleteDatasetRequest{"prefs"},
      DescribeIdentityUsageRequest{},
      SubscribeRequest{{"prefs", "game"}, "device-1"},
      UnsubscribeRequest{{"prefs"}},
  };
  uint64_t id = 1;
  for (const auto& body : bodies) {
    Request req{id++, body};
    std::string frame = codec::encode(ClientMessage{req});
    auto decoded = codec::decodeClientMessage(frame);
    ASSERT_TRUE(decoded.isOk()) << decoded.status();
    const auto* got = std::get_if<Request>(&*decoded);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->id, req.id);
    EXPECT_EQ(got->body.index(), req.body.index());
    EXPECT_EQ(codec::encode(ClientMessage{*got}), frame);  // field-for-field equal
  }
}

TEST(CodecTest, UpdatePatchesKeepOpsAndValues) {
  UpdateRecordsRequest u{"d", "t", "dev", {RecordPatch{PatchOp::kRemove, "x", "", 9, 1},
                                           RecordPatch{PatchOp::kReplace, "y", "", 0, 2}}};
  auto decoded = codec::decodeClientMessage(codec::encode(ClientMessage{Request{5, u}}));
  ASSERT_TRUE(decoded.isOk());
  const auto& got = std::get<UpdateRecordsRequest>(std::get<Request>(*decoded).body);
  EXPECT_EQ(got.patches, u.patches);
}

TEST(CodecTest, AlignedAndUnalignedFramesDecodeAlike) {
  // An aligned frame is parsed in place, an unaligned one through a copy: same result either
  // way, and a frame that is bad stays bad at any alignment.
  UpdateRecordsRequest u{"prefs", "s", "d", {RecordPatch{PatchOp::kReplace, "k", std::string(3000, 'v'), 0, 1}}};
  std::string frame = codec::encode(ClientMessage{Request{11, u}});
  for (size_t shift = 0; shift < 8; ++shift) {
    std::string holder(shift, '\0');
    holder += frame;
    std::string_view view(holder.data() + shift, frame.size());
    auto d = codec::decodeClientMessage(view);
    ASSERT_TRUE(d.isOk()) << "shift " << shift << ": " << d.status().toString();
    auto& req = std::get<Request>(*d);
    EXPECT_EQ(req.id, 11u);
    auto& got = std::get<UpdateRecordsRequest>(req.body);
    ASSERT_EQ(got.patches.size(), 1u);
    EXPECT_EQ(got.patches[0].value, std::string(3000, 'v'));
    EXPECT_EQ(codec::decodeClientMessage(view.substr(0, view.size() - 8)).status().code(),
              StatusCode::kProtocolError) << "shift " << shift;
  }
}

TEST(CodecTest, ResponsesRoundTrip) {
  Record tomb{"gone", std::nullopt, 8, 1, "dev-2", 2};
  ListRecordsResponse lr{{liveRecord(), tomb}, "nt", 8, "dev-2", {"prefs.local:ab"}, true, true, "sess"};
  auto decoded = codec::decodeServerMessage(codec::encode(ServerMessage{Response{9, lr}}));
  ASSERT_TRUE(decoded.isOk()) << decoded.status();
  const auto& resp = std::get<Response>(*decoded);
  EXPECT_EQ(resp.id, 9u);
  const auto& got = std::get<ListRecordsResponse>(resp.body);
  ASSERT_EQ(got.records.size(), 2u);
  EXPECT_EQ(got.records[0], liveRecord());
  EXPECT_EQ(got.records[1], tomb);
  EXPECT_TRUE(got.records[1].isDeleted());
  EXPECT_EQ(got.mergedDatasetNames, lr.mergedDatasetNames);
  EXPECT_TRUE(got.datasetExists);
  EXPECT_TRUE(got.datasetDeletedAfterRequestedSyncCount);
  EXPECT_EQ(got.syncSessionToken, "sess");
  EXPECT_EQ(got.datasetSyncCount, 8);
}

TEST(CodecTest, HeadroomFrameIsTheSameFrameAfterScratchBytes) {
  // A 1 MB reply spans several Cap'n Proto segments: the frame written straight from them, after
  // the sender's scratch bytes, is byte for byte the plain frame and decodes to the same reply.
  ListRecordsResponse lr;
  for (int i = 0; i < 1000; ++i)
    lr.records.push_back(Record{"key-" + std::to_string(i), std::string(1024, static_cast<char>('a' + i % 26)), i + 1,
                                1700000000000 + i, "dev", 1700000000000});
  lr.datasetSyncCount = 1000;
  ServerMessage msg{Response{77, lr}};
  const std::string plain = codec::encode(msg);
  ASSERT_GT(plain.size(), 1000u * 1024u);
  for (size_t headroom : {size_t{0}, size_t{16}, size_t{24}}) {
    std::string framed = codec::encodeWithHeadroom(msg, headroom);
    ASSERT_EQ(framed.size(), headroom + plain.size()) << headroom;
    EXPECT_EQ(framed.substr(0, headroom), std::string(headroom, '\0'));
    EXPECT_TRUE(framed.compare(headroom, std::string::npos, plain) == 0) << headroom;
    auto d = codec::decodeServerMessage(std::string_view(framed).substr(headroom));
    ASSERT_TRUE(d.isOk()) << d.status().toString();
    const auto& got = std::get<ListRecordsResponse>(std::get<Response>(*d).body);
    ASSERT_EQ(got.records.size(), 1000u);
    EXPECT_EQ(got.records[999], lr.records[999]);
  }
}

TEST(CodecTest, ErrorsKeepTheirCode) {
  for (Status s : {Status::conflict("Current SyncCount for: k is: 2 not: 1"),
                   Status::limitExceeded("too big"), Status::invalidArgument("bad"),
                   Status::notFound("nope"), Status::unauthenticated("who"),
                   Status::tooManyRequests("slow"), Status::internal("oops"),
                   Status::protocolError("unsupported protocol version 9")}) {
    auto decoded = codec::decodeServerMessage(codec::encode(ServerMessage{Response{3, s}}));
    ASSERT_TRUE(decoded.isOk());
    const auto& got = std::get<Status>(std::get<Response>(*decoded).body);
    EXPECT_EQ(got.code(), s.code());
    EXPECT_EQ(got.message(), s.message());
  }
}

TEST(CodecTest, SubscribeResponseRoundTrip) {
  SubscribeResponse sr{{SubscriptionState{"prefs", 4, true}, SubscriptionState{"new", 0, false}}};
  auto d = codec::decodeServerMessage(codec::encode(ServerMessage{Response{2, sr}}));
  ASSERT_TRUE(d.isOk());
  const auto& got = std::get<SubscribeResponse>(std::get<Response>(*d).body);
  ASSERT_EQ(got.datasets.size(), 2u);
  EXPECT_EQ(got.datasets[0].syncCount, 4);
  EXPECT_TRUE(got.datasets[0].exists);
  EXPECT_EQ(got.datasets[1].datasetName, "new");
  EXPECT_FALSE(got.datasets[1].exists);
}

TEST(CodecTest, ServerPushAndHello) {
  auto d = codec::decodeServerMessage(codec::encode(ServerMessage{DatasetChanged{"p:1", "i:2", "prefs", 12}}));
  ASSERT_TRUE(d.isOk());
  EXPECT_EQ(std::get<DatasetChanged>(*d).syncCount, 12);
  auto h = codec::decodeClientMessage(codec::encode(ClientMessage{Hello{1, "test"}}));
  ASSERT_TRUE(h.isOk());
  EXPECT_EQ(std::get<Hello>(*h).clientName, "test");
}

TEST(CodecTest, HostileFramesAreProtocolErrors) {
  EXPECT_EQ(codec::decodeClientMessage("").status().code(), StatusCode::kProtocolError);
  EXPECT_EQ(codec::decodeClientMessage("abc").status().code(), StatusCode::kProtocolError);
  EXPECT_EQ(codec::decodeClientMessage(std::string(16, '\xff')).status().code(), StatusCode::kProtocolError);
  std::string frame = codec::encode(ClientMessage{Request{1, ListRecordsRequest{"prefs", 0, 0, ""}}});
  // Every truncation to whole words is either rejected or decodes to something sane.
  for (size_t n = 8; n < frame.size(); n += 8) {
    auto r = codec::decodeClientMessage(std::string_view(frame).substr(0, n));
    EXPECT_FALSE(r.isOk()) << "truncated at " << n;
  }
  // Random garbage never crashes.
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::string g(8 * (1 + rng() % 16), '\0');
    for (auto& c : g) c = static_cast<char>(rng());
    (void)codec::decodeClientMessage(g);
    (void)codec::decodeServerMessage(g);
  }
  // Flipping bytes of a valid frame never crashes either.
  for (size_t i = 0; i < frame.size(); ++i) {
    std::string f = frame;
    f[i] = static_cast<char>(f[i] ^ 0x5a);
    (void)codec::decodeClientMessage(f);
  }
}

TEST(CodecTest, OversizedFrameRejected) {
  std::string big(kMaxFrameBytes + 8, '\0');
  EXPECT_EQ(codec::decodeClientMessage(big).status().code(), StatusCode::kProtocolError);
}

TEST(CodecTest, PeekRequestIdReadsTheId) {
  std::string frame = codec::encode(ClientMessage{Request{77, DescribeDatasetRequest{"x"}}});
  EXPECT_EQ(codec::peekRequestId(frame), std::optional<uint64_t>(77));
  EXPECT_EQ(codec::peekRequestId("garbage!"), std::nullopt);
}

TEST(CodecTest, CognitoNames) {
  EXPECT_EQ(cognitoErrorName(StatusCode::kConflict), "ResourceConflictException");
  EXPECT_EQ(cognitoErrorName(StatusCode::kUnauthenticated), "NotAuthorizedException");
  EXPECT_EQ(cognitoErrorName(StatusCode::kLimitExceeded), "LimitExceededException");
  EXPECT_EQ(cognitoErrorName(StatusCode::kIOError), "InternalErrorException");
}

}  // namespace
}  // namespace tether
