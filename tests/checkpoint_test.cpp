// Checkpoints: an interrupted and resumed job equals an uninterrupted one; damaged or mismatched
// checkpoints are refused with a message saying what is wrong.
#include <filesystem>
#include <fstream>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/callbacks.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = testing::scratch_path("ckpt_" + name);
  fs::remove_all(dir);
  return dir;
}

TrainOptions options_for(const std::string& method, const std::string& compressor) {
  TrainOptions o;
  o.method = method;
  o.compressor = compressor;
  o.problem.dim = 33;
  o.problem.hessian = "linspace:0.5:2";
  o.lr = 0.02;
  o.steps = 400;
  o.runs = 3;
  o.log_every = 25;
  o.seed = testing::test_seed(91);
  return o;
}

/// Interrupts at `stop_at` (every run), then resumes; returns the resumed metrics.
std::string interrupted_then_resumed(TrainOptions o, const fs::path& dir, std::int64_t stop_at) {
  o.checkpoint_dir = dir.string();
  StopWhen stop([stop_at](std::int64_t k) { return k == stop_at; });
  EXPECT_THROW(train(o, {&stop}), Interrupted);
  o.resume = dir.string();
  return metrics_csv(train(o));
}

class Resume : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(Resume, GivesExactlyTheUninterruptedTrajectory) {
  const auto& [method, compressor] = GetParam();
  const TrainOptions o = options_for(method, compressor);
  const std::string uninterrupted = metrics_csv(train(o));
  const fs::path dir = fresh_dir(method);
  EXPECT_EQ(interrupted_then_resumed(o, dir, 137), uninterrupted) << method;
  // Periodic checkpoints do not change the trajectory either.
  TrainOptions periodic = o;
  periodic.checkpoint_dir = (dir / "periodic").string();
  periodic.checkpoint_every = 50;
  EXPECT_EQ(metrics_csv(train(periodic)), uninterrupted);
  // A job that completes leaves no checkpoint behind: neither the periodic ones nor those it
  // resumed from in its own directory.
  EXPECT_FALSE(fs::exists(dir / "periodic"));
  EXPECT_FALSE(fs::exists(dir / "run-000000.rank-0000.ckpt"));
  fs::remove_all(dir);
}

TEST(Checkpoints, AreOnlyWrittenWhereAsked) {
  TrainOptions o = options_for("signum", "sign");
  // A stop without a checkpoint directory interrupts the job and writes nothing anywhere.
  const fs::path cwd = fs::current_path();
  const fs::path sandbox = fresh_dir("nowhere");
  fs::create_directories(sandbox);
  fs::current_path(sandbox);
  StopWhen stop([](std::int64_t k) { return k == 50; });
  EXPECT_THROW(train(o, {&stop}), Interrupted);
  o.checkpoint_every = 0;
  train(o);
  fs::current_path(cwd);
  EXPECT_TRUE(fs::is_empty(sandbox)) << "a run without --checkpoint-dir wrote into the working "
                                        "directory";
  fs::remove_all(sandbox);
  // Periodic checkpoints need a directory.
  o.checkpoint_every = 10;
  try {
    train(o);
    ADD_FAILURE() << "--checkpoint-every without a directory was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.option(), "checkpoint-every");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Methods, Resume,
    ::testing::Values(std::pair{"dsgd", "identity"}, std::pair{"dcsgd", "randk:0.3"},
                      std::pair{"signum", "sign"}, std::pair{"ef-signsgd", "scaled-sign"},
                      std::pair{"majority", "sign"}),
    [](const auto& info) { return info.param.first == "ef-signsgd" ? "ef" : info.param.first; });

class DamagedCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = options_for("signum", "sign");
    dir_ = fresh_dir(std::string("damaged_") +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    options_.checkpoint_dir = dir_.string();
    StopWhen stop([](std::int64_t k) { return k == 100; });
    EXPECT_THROW(train(options_, {&stop}), Interrupted);
    file_ = dir_ / "run-000000.rank-0000.ckpt";
    ASSERT_TRUE(fs::exists(file_));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string refusal(TrainOptions o) {
    o.resume = dir_.string();
    o.checkpoint_dir.clear();
    try {
      train(o);
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.option(), "resume");
      return e.what();
    }
    ADD_FAILURE() << "the checkpoint was accepted";
    return "";
  }

  TrainOptions options_;
  fs::path dir_;
  fs::path file_;
};

TEST_F(DamagedCheckpoint, CorruptedBytesAreRefused) {
  std::fstream f(file_, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(40);
  f.put('\x5A');
  f.close();
  EXPECT_NE(refusal(options_).find("corrupted"), std::string::npos);
}

TEST_F(DamagedCheckpoint, TruncatedFilesAreRefused) {
  fs::resize_file(file_, fs::file_size(file_) - 17);
  EXPECT_NE(refusal(options_).find("truncated"), std::string::npos);
}

TEST_F(DamagedCheckpoint, ADifferentConfigurationIsRefusedNamingTheDifference) {
  TrainOptions other = options_;
  other.lr = 0.03;
  const std::string message = refusal(other);
  EXPECT_NE(message.find("different configuration"), std::string::npos) << message;
  EXPECT_NE(message.find("lr: 0.02 → 0.03"), std::string::npos) << message;
}

TEST_F(DamagedCheckpoint, ADifferentRankCountIsRefused) {
  fs::copy_file(file_, dir_ / "run-000000.rank-0003.ckpt");
  EXPECT_NE(refusal(options_).find("rank 3"), std::string::npos);
}

TEST_F(DamagedCheckpoint, SomethingElseIsRefused) {
  std::ofstream(file_, std::ios::trunc) << "not a checkpoint at all, but long enough to look";
  EXPECT_NE(refusal(options_).find("wrong magic"), std::string::npos);
}

}  // namespace
}  // namespace dsignsgd
