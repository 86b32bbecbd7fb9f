// Fuzz target 1: native frame decoding (schema/src/codec.cpp), both directions.
//
// Input: first byte = mode.
//   mode even: the rest is a raw frame, given to decodeClientMessage, decodeServerMessage and
//              peekRequestId, word-aligned and at an odd offset (the unaligned copy path).
//   mode odd:  the rest builds a ClientMessage and a ServerMessage (fuzz_messages.h); each is
//              encoded, a few bytes of the encoding are overwritten (positions and values from
//              the input), and the result is decoded.
// Property on every successful decode: encoding the decoded message and decoding that again
// gives the same bytes (the codec neither invents nor loses fields on a round trip).
#include <cstring>
#include <string>

#include "fuzz_input.h"
#include "fuzz_messages.h"
#include "tether/codec.h"

using namespace tether;

namespace {

template <class Msg, class Decode>
void roundTrip(const std::string& frame, Decode decode) {
  Result<Msg> m = decode(frame);
  if (!m.isOk()) {
    TETHER_FUZZ_CHECK(m.status().code() == StatusCode::kProtocolError, m.status().toString());
    return;
  }
  std::string once = codec::encode(*m);
  Result<Msg> again = decode(once);
  TETHER_FUZZ_CHECK(again.isOk(), again.status().toString());
  TETHER_FUZZ_CHECK(codec::encode(*again) == once, "re-encoding differs");
}

void decodeAll(const std::string& frame) {
  roundTrip<proto::ClientMessage>(frame, [](std::string_view f) { return codec::decodeClientMessage(f); });
  roundTrip<proto::ServerMessage>(frame, [](std::string_view f) { return codec::decodeServerMessage(f); });
  (void)codec::peekRequestId(frame);
  // The same bytes at an address that is not 8-byte aligned.
  std::string shifted = " " + frame;
  std::string_view view(shifted.data() + 1, frame.size());
  (void)codec::decodeClientMessage(view);
  (void)codec::decodeServerMessage(view);
  (void)codec::peekRequestId(view);
}

void mutate(std::string& frame, fuzz::FuzzInput& in) {
  int n = in.range<int>(0, 4);
  for (int i = 0; i < n && !frame.empty(); ++i) {
    size_t at = in.integral<uint16_t>() % frame.size();
    frame[at] = static_cast<char>(in.byte());
  }
  if (in.range<int>(0, 7) == 0 && !frame.empty()) frame.resize(in.integral<uint16_t>() % frame.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if ((data[0] & 1) == 0) {
    decodeAll(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
    return 0;
  }
  fuzz::FuzzInput in(data + 1, size - 1);
  fuzz::Vocabulary v;
  v.pools = {"local:11111111-2222-3333-4444-555555555555"};
  v.identities = {"local:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"};
  v.tokens = {"", "tok"};
  std::string client = codec::encode(fuzz::fuzzClientMessage(in, v));
  std::string server = codec::encode(fuzz::fuzzServerMessage(in, v));
  fuzz::dumpSeed(std::string(1, '\0') + client);
  fuzz::dumpSeed(std::string(1, '\0') + server);
  // Built messages decode to themselves unless the build used values the decoder refuses.
  roundTrip<proto::ClientMessage>(client, [](std::string_view f) { return codec::decodeClientMessage(f); });
  roundTrip<proto::ServerMessage>(server, [](std::string_view f) { return codec::decodeServerMessage(f); });
  mutate(client, in);
  mutate(server, in);
  decodeAll(client);
  decodeAll(server);
  return 0;
}
