// Test helpers for Result<T>: an error fails the test (with its Status) instead of aborting the
// whole test binary, as Result::value() on an error does.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "tether/status.h"

// IDP_ASSERT_OK_AND_ASSIGN(auto x, resultExpr): x = the Result's value, or a fatal failure of
// the test. Only in functions returning void (gtest's ASSERT rule).
#define IDP_ASSERT_OK_AND_ASSIGN(decl, expr) \
  IDP_ASSERT_OK_AND_ASSIGN_IMPL(TETHER_CONCAT(idp_result_, __LINE__), decl, expr)
#define IDP_ASSERT_OK_AND_ASSIGN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                                   \
  ASSERT_TRUE(tmp.isOk()) << tmp.status();             \
  decl = std::move(tmp).value()

namespace tether::server::idp::testing {

// The value of a string Result, or "<error: ...>", so that a comparison fails readably.
inline std::string textOf(const Result<std::string>& r) {
  return r.isOk() ? *r : "<error: " + r.status().toString() + ">";
}

}  // namespace tether::server::idp::testing
