// Statistics used by calibration and validation: the medians and quantiles people get wrong.
#include <gtest/gtest.h>

#include <cmath>

#include "gpuperf/statistics.hpp"

using namespace gpuperf::stats;

TEST(Statistics, MedianOfEvenCountIsMeanOfMiddlePair) { EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5); }
TEST(Statistics, MedianOfOddCountIsMiddle) { EXPECT_DOUBLE_EQ(median({5, 1, 3}), 3.0); }
TEST(Statistics, MedianOfOneIsIt) { EXPECT_DOUBLE_EQ(median({7}), 7.0); }
TEST(Statistics, EmptyInputsGiveNaNNotACrash) {
  EXPECT_TRUE(std::isnan(median({})));
  EXPECT_TRUE(std::isnan(mean({})));
  EXPECT_TRUE(std::isnan(sample_stddev(std::vector<double>{1.0})));
}
TEST(Statistics, QuantileInterpolatesLinearly) {
  EXPECT_DOUBLE_EQ(quantile({0, 10}, 0.25), 2.5);
  EXPECT_DOUBLE_EQ(quantile({3, 1, 2}, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile({3, 1, 2}, 1.0), 3.0);
}
TEST(Statistics, SampleStddevUsesNMinusOne) {
  std::vector<double> xs{2, 4, 4, 4, 5, 5, 7, 9};
  EXPECT_NEAR(sample_stddev(xs), std::sqrt(32.0 / 7.0), 1e-12);
}
TEST(Statistics, MapeIsMeanAbsolutePercent) {
  std::vector<double> p{110, 90}, m{100, 100};
  EXPECT_DOUBLE_EQ(mape_pct(p, m), 10.0);
}
TEST(Statistics, StudentTCriticalMatchesTables) {
  EXPECT_NEAR(student_t_critical(0.95, 10), 2.228, 1e-3);
  EXPECT_NEAR(student_t_critical(0.95, 1e6), 1.960, 1e-3);
  EXPECT_TRUE(std::isnan(student_t_critical(0.95, 0)));
}
