// See openssl_util.h.
#include "auth/openssl_util.h"

namespace tether::server {
namespace {
void freeOpensslBytes(unsigned char* p) { OPENSSL_free(p); }  // OPENSSL_free is a macro
using OpensslBytes = std::unique_ptr<unsigned char, OpensslFree<freeOpensslBytes>>;
}  // namespace

std::string es256RawToDer(std::string_view raw) {
  if (raw.size() != kEs256RawSigBytes) return {};
  const auto* in = reinterpret_cast<const unsigned char*>(raw.data());
  BignumPtr r(BN_bin2bn(in, kEs256CoordBytes, nullptr));
  BignumPtr s(BN_bin2bn(in + kEs256CoordBytes, kEs256CoordBytes, nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return {};
  r.release();  // owned by sig now
  s.release();
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return {};
  OpensslBytes owner(der);
  return std::string(reinterpret_cast<char*>(der), static_cast<size_t>(len));
}

std::string es256DerToRaw(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return {};
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(kEs256RawSigBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kEs256CoordBytes) != static_cast<int>(kEs256CoordBytes) ||
      BN_bn2binpad(s, out + kEs256CoordBytes, kEs256CoordBytes) != static_cast<int>(kEs256CoordBytes))
    return {};
  return raw;
}

}  // namespace tether::server
