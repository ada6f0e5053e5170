// The regex form of `rewrite`: RE2 compiled once, $N groups checked against the expression,
// first match replaced, unclean results refused.

#include <gtest/gtest.h>

#include <string>

#include "policy/headers/path_rewrite.h"

namespace flexgate::policy {
namespace {

std::shared_ptr<const PathRewrite> compile(const std::string& regex, const std::string& replace, std::string* error = nullptr) {
  config::RegexRewriteSpec spec;
  spec.regex = regex;
  spec.replace = replace;
  std::string message;
  auto rewrite = PathRewrite::compile(spec, message);
  if (error != nullptr) *error = message;
  return rewrite;
}

TEST(PathRewrite, ReplacesTheMatchWithGroups) {
  auto rewrite = compile("^/old/(.*)$", "/new/$1");
  ASSERT_TRUE(rewrite);
  std::string out;
  EXPECT_EQ(rewrite->apply("/old/users/42", out), RewriteResult::kRewritten);
  EXPECT_EQ(out, "/new/users/42");
  EXPECT_EQ(rewrite->apply("/other/x", out), RewriteResult::kNoMatch);
}

TEST(PathRewrite, ReordersGroupsAndKeepsTextAroundAnUnanchoredMatch) {
  auto rewrite = compile("/v1/([a-z]+)/([0-9]+)", "/v2/$2/$1$$");
  ASSERT_TRUE(rewrite);
  std::string out;
  EXPECT_EQ(rewrite->apply("/api/v1/users/7/tail", out), RewriteResult::kRewritten);
  EXPECT_EQ(out, "/api/v2/7/users$/tail");
}

TEST(PathRewrite, CompileErrorsNameTheProblem) {
  std::string error;
  EXPECT_FALSE(compile("^/(unclosed", "/x", &error));
  EXPECT_NE(error.find("invalid RE2"), std::string::npos) << error;
  EXPECT_FALSE(compile("^/(a)$", "/$2", &error));
  EXPECT_NE(error.find("$2"), std::string::npos) << error;
  // Backreferences need backtracking: RE2 does not have them.
  EXPECT_FALSE(compile("^/(a)\\1$", "/x", &error));
}

TEST(PathRewrite, AnUncleanResultIsRefused) {
  std::string out;
  EXPECT_EQ(compile("^/a/(.*)$", "$1")->apply("/a/b", out), RewriteResult::kInvalid);      // no leading '/'
  EXPECT_EQ(compile("^/a/(.*)$", "/x/../$1")->apply("/a/b", out), RewriteResult::kInvalid);  // dot segment
  EXPECT_EQ(compile("^/a/(.*)$", "/$1")->apply("/a/b", out), RewriteResult::kRewritten);
  EXPECT_EQ(out, "/b");
}

TEST(PathRewrite, LinearTimeOnAPathologicalInput) {
  // (a+)+$ is the classic catastrophic-backtracking expression; RE2 matches it in linear time.
  auto rewrite = compile("^/(a+)+$", "/ok");
  ASSERT_TRUE(rewrite);
  std::string path = "/" + std::string(5000, 'a') + "!";
  std::string out;
  EXPECT_EQ(rewrite->apply(path, out), RewriteResult::kNoMatch);
}

}  // namespace
}  // namespace flexgate::policy
