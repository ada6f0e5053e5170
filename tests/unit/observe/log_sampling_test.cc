#include "observe/log_sampling.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "observe/access_log.h"
#include "observe/correlation_id.h"
#include "stdout_capture.h"

namespace flexgate::observe {
namespace {

config::SamplingSpec rates(double success, double error) {
  return config::SamplingSpec{success, error};
}

// Kept IDs out of 100k, for IDs of the form `prefix` + counter.
int kept_of_100k(std::string_view prefix, double rate) {
  int kept = 0;
  std::string id;
  for (int i = 0; i < 100'000; ++i) {
    id.assign(prefix);
    id += std::to_string(i);
    kept += keep_access_line(id, false, rates(rate, 1.0)) ? 1 : 0;
  }
  return kept;
}

TEST(LogSamplingTest, ARateKeepsThatShareOfSequentialIds) {
  // Sequential IDs differ only in their last characters: the hash must still spread them.
  for (const double rate : {0.01, 0.1, 0.5, 0.9}) {
    const int kept = kept_of_100k("req-", rate);
    EXPECT_NEAR(kept, rate * 100'000, 1'000) << "rate " << rate;
  }
}

TEST(LogSamplingTest, ARateKeepsThatShareOfGeneratedIds) {
  int kept = 0;
  std::string id;
  for (int i = 0; i < 100'000; ++i) {
    generate_correlation_id(id);
    kept += keep_access_line(id, false, rates(0.1, 1.0)) ? 1 : 0;
  }
  EXPECT_NEAR(kept, 10'000, 1'000);
}

TEST(LogSamplingTest, TheSameIdGetsTheSameAnswer) {
  for (int i = 0; i < 1000; ++i) {
    const std::string id = "trace-" + std::to_string(i);
    const bool first = keep_access_line(id, false, rates(0.3, 1.0));
    for (int again = 0; again < 3; ++again)
      EXPECT_EQ(keep_access_line(id, false, rates(0.3, 1.0)), first) << id;
    EXPECT_EQ(sampling_hash(id), sampling_hash(std::string(id))) << id;
  }
}

TEST(LogSamplingTest, RatesNestSoAnIdKeptAtALowRateIsKeptAtEveryHigherOne) {
  for (int i = 0; i < 10'000; ++i) {
    const std::string id = "n" + std::to_string(i);
    if (keep_access_line(id, false, rates(0.1, 1.0))) {
      EXPECT_TRUE(keep_access_line(id, false, rates(0.5, 1.0))) << id;
      EXPECT_TRUE(keep_access_line(id, true, rates(0.0, 0.2))) << "an error line of the same trace: " << id;
    }
  }
}

TEST(LogSamplingTest, ZeroKeepsNothingAndOneKeepsEverything) {
  for (int i = 0; i < 1000; ++i) {
    const std::string id = std::to_string(i);
    EXPECT_FALSE(keep_access_line(id, false, rates(0.0, 1.0)));
    EXPECT_TRUE(keep_access_line(id, false, rates(1.0, 0.0)));
    EXPECT_FALSE(keep_access_line(id, true, rates(1.0, 0.0)));
    EXPECT_TRUE(keep_access_line(id, true, rates(0.0, 1.0)));
  }
  EXPECT_TRUE(keep_access_line("", false, config::SamplingSpec{})) << "default rates keep everything";
  EXPECT_TRUE(keep_access_line("", true, config::SamplingSpec{}));
}

TEST(LogSamplingTest, ErrorsAreServerErrorsAndPolicyRefusals) {
  AccessRecord r;
  r.status = 200;
  EXPECT_FALSE(is_error_record(r));
  r.status = 404;
  EXPECT_FALSE(is_error_record(r));
  r.status = 500;
  EXPECT_TRUE(is_error_record(r));
  r.status = 429;
  r.refused = true;
  EXPECT_TRUE(is_error_record(r));
  r.refused = false;
  r.rejected_by = "rate_limit";
  EXPECT_TRUE(is_error_record(r));
}

class AccessSamplingTest : public ::testing::Test {
 protected:
  void TearDown() override { set_access_log_sampling(config::SamplingSpec{}); }
};

TEST_F(AccessSamplingTest, WriteAccessLogLeavesOutSampledLinesAndCountsThem) {
  set_access_log_sampling(rates(0.0, 1.0));
  AccessRecord ok;
  ok.correlation_id = "sampled-ok";
  ok.status = 200;
  AccessRecord failed = ok;
  failed.correlation_id = "sampled-5xx";
  failed.status = 502;
  AccessRecord refused = ok;
  refused.correlation_id = "sampled-refused";
  refused.status = 401;
  refused.rejected_by = "auth";
  const std::uint64_t before = access_lines_sampled_out();
  std::string scratch;
  test::StdoutCapture capture;
  write_access_log(ok, scratch);
  write_access_log(failed, scratch);
  write_access_log(refused, scratch);
  const std::string out = capture.finish();
  EXPECT_EQ(access_lines_sampled_out(), before + 1);
  EXPECT_EQ(out.find("sampled-ok"), std::string::npos) << out;
  EXPECT_NE(out.find("sampled-5xx"), std::string::npos) << out;
  EXPECT_NE(out.find("sampled-refused"), std::string::npos) << out;
}

}  // namespace
}  // namespace flexgate::observe
