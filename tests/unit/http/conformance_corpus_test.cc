// Replays tests/conformance/http1_cases.json through the codec the way the proxy drives it: parse a
// head, skip a Content-Length body or decode a chunked one, repeat for pipelined requests, stop at
// the first fault or after a request that ends the connection. Each case asserts the verdict, the
// status the client gets, and how many complete requests came before the fault.

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "http/chunked.h"
#include "http/parser.h"

namespace flexgate::http {
namespace {

struct CorpusCase {
  std::string id;
  std::string title;
  std::string bytes;
  bool accept = false;
  int status = 0;
  int forwarded = 0;
};

std::string corpus_path() {
  return std::string(FLEXGATE_SOURCE_DIR) + "/tests/conformance/http1_cases.json";
}

std::string from_hex(const std::string& hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::vector<CorpusCase> load_corpus() {
  std::ifstream in(corpus_path());
  if (!in) return {};
  const nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  std::vector<CorpusCase> cases;
  if (!doc.is_array()) return cases;
  for (const auto& c : doc) {
    CorpusCase k;
    k.id = c.value("id", "");
    k.title = c.value("title", "");
    k.bytes = from_hex(c.value("hex", ""));
    k.accept = c.value("verdict", "") == "accept";
    k.status = c.value("status", 0);
    k.forwarded = c.value("forwarded_requests", -1);
    cases.push_back(std::move(k));
  }
  return cases;
}

const std::vector<CorpusCase>& corpus() {
  static const std::vector<CorpusCase> cases = load_corpus();
  return cases;
}

// What a proxy does with one client byte stream.
struct Replay {
  ParseError error = ParseError::kNone;
  int complete_requests = 0;
  bool truncated = false;  // the stream ended inside a message: the case is not self-contained
};

bool only_empty_lines(std::string_view rest) {
  while (rest.size() >= 2 && rest.substr(0, 2) == "\r\n") rest.remove_prefix(2);
  return rest.empty();
}

Replay replay(std::string_view stream) {
  Replay r;
  auto head = std::make_unique<RequestHead>();
  const Limits limits;
  while (!stream.empty() && !only_empty_lines(stream)) {
    const ParseOutcome out = parse_request_head(stream, limits, *head);
    if (out.status == ParseStatus::kError) {
      r.error = out.error;
      return r;
    }
    if (out.status == ParseStatus::kPartial) {
      r.truncated = true;
      return r;
    }
    stream.remove_prefix(out.consumed);
    switch (head->framing) {
      case BodyFraming::kNone:
      case BodyFraming::kUntilClose:  // never produced for requests
        break;
      case BodyFraming::kContentLength:
        if (stream.size() < head->content_length) {
          r.truncated = true;
          return r;
        }
        stream.remove_prefix(static_cast<std::size_t>(head->content_length));
        break;
      case BodyFraming::kChunked: {
        ChunkedDecoder decoder;
        for (;;) {
          const ChunkedDecoder::Step step = decoder.next(stream);
          stream.remove_prefix(step.consumed);
          if (step.kind == ChunkedDecoder::Kind::kError) {
            r.error = step.error;
            return r;
          }
          if (step.kind == ChunkedDecoder::Kind::kDone) break;
          if (step.kind == ChunkedDecoder::Kind::kNeedMore) {
            r.truncated = true;
            return r;
          }
        }
        break;
      }
    }
    ++r.complete_requests;
    if (!head->keep_alive) break;  // Connection: close / HTTP/1.0: nothing after it is read
  }
  return r;
}

class ConformanceCorpus : public ::testing::TestWithParam<std::size_t> {};

TEST_P(ConformanceCorpus, Case) {
  const CorpusCase& c = corpus()[GetParam()];
  SCOPED_TRACE(c.id + ": " + c.title);
  const Replay r = replay(c.bytes);
  ASSERT_FALSE(r.truncated) << "the case ends inside a message";
  if (c.accept) {
    EXPECT_EQ(r.error, ParseError::kNone) << to_string(r.error);
  } else {
    ASSERT_NE(r.error, ParseError::kNone) << "accepted a case that must be rejected";
    EXPECT_EQ(status_for(r.error), c.status) << to_string(r.error);
  }
  EXPECT_EQ(r.complete_requests, c.forwarded);
}

std::vector<std::size_t> case_indices() {
  std::vector<std::size_t> v(corpus().size());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = i;
  return v;
}

INSTANTIATE_TEST_SUITE_P(Http1, ConformanceCorpus, ::testing::ValuesIn(case_indices()),
                         [](const ::testing::TestParamInfo<std::size_t>& info) {
                           return corpus()[info.param].id;
                         });

TEST(ConformanceCorpusFile, WellFormed) {
  ASSERT_GE(corpus().size(), 100u) << corpus_path();
  std::set<std::string> ids;
  for (const CorpusCase& c : corpus()) {
    EXPECT_TRUE(ids.insert(c.id).second) << "duplicate id " << c.id;
    EXPECT_FALSE(c.bytes.empty()) << c.id;
    EXPECT_GE(c.forwarded, 0) << c.id;
    if (!c.accept) {
      EXPECT_TRUE(c.status == 400 || c.status == 413 || c.status == 414 || c.status == 431 ||
                  c.status == 501 || c.status == 505)
          << c.id;
    }
  }
}

// Every shared example is in the corpus with the same bytes.
TEST(ConformanceCorpusFile, ContainsSharedExamples) {
  std::ifstream in(std::string(FLEXGATE_SHARED_DIR) + "/conformance/http1_framing_examples.json");
  if (!in) GTEST_SKIP() << "shared examples not available";
  const nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(doc.contains("cases"));
  for (const auto& s : doc["cases"]) {
    const std::string id = s.value("id", "");
    bool found = false;
    for (const CorpusCase& c : corpus()) {
      if (c.id != id) continue;
      found = true;
      EXPECT_EQ(c.bytes, from_hex(s.value("hex", ""))) << id;
    }
    EXPECT_TRUE(found) << id;
  }
}

}  // namespace
}  // namespace flexgate::http
