// Encoding and decoding of native-protocol frames: one Cap'n Proto message (flat array,
// unpacked) per WebSocket binary frame. Decoding never throws and never trusts its input:
// malformed, truncated or oversized frames become kProtocolError.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/protocol.h"

namespace tether::codec {

std::string encode(const proto::ClientMessage& msg);
std::string encode(const proto::ServerMessage& msg);
// The same frame after `headroom` zero bytes that the sender may overwrite (the network
// layer writes its WebSocket header there instead of copying the frame to make room).
std::string encodeWithHeadroom(const proto::ServerMessage& msg, size_t headroom);

// `frame` is parsed in place when word-aligned (any std::string buffer); an unaligned view is
// first copied into aligned memory.
Result<proto::ClientMessage> decodeClientMessage(std::string_view frame);
Result<proto::ServerMessage> decodeServerMessage(std::string_view frame);

// The request id of a frame that failed to decode as a ClientMessage but is still a readable
// Request (e.g. an unknown request type from a newer client), so the server can answer that id
// with a typed error. nullopt when even that much cannot be read.
std::optional<uint64_t> peekRequestId(std::string_view frame);

// The native request kinds: the member names of the Request union of sync.capnp ("getId",
// "listDatasets", ...) in ordinal order, read from the compiled schema by Cap'n Proto
// reflection, so a member appended to the schema shows up here without a code change (the
// security matrix test enumerates them). requestKindName: the member a RequestBody encodes to.
std::vector<std::string> requestKindNames();
std::string requestKindName(const proto::RequestBody& body);

}  // namespace tether::codec
