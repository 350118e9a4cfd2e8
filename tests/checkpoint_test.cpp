// Checkpoints: an interrupted and resumed job equals an uninterrupted one; damaged or mismatched
// checkpoints are refused with a message saying what is wrong.
#include <atomic>
#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/callbacks.hpp"
#include "dsignsgd/optim/checkpoint.hpp"
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

/// A checkpoint's payload as fields, so that a test can edit one and write the file back with a
/// valid checksum: what a checksum cannot catch, the meaning checks must.
struct EditableCheckpoint {
  std::string fingerprint;
  std::uint64_t ranks, rank, run, step, complete;
  std::vector<double> loss, grad_norm, extra;
  std::uint64_t row;
  double tail_sum;
  std::uint64_t diverged, diverged_at_plus_one;
  double final_loss, tail_loss;
  std::vector<float> x;
  std::vector<std::vector<float>> memories;

  explicit EditableCheckpoint(const fs::path& file) {
    CheckpointReader in(read_checkpoint_file(file));
    fingerprint = in.string();
    ranks = in.u64(), rank = in.u64(), run = in.u64(), step = in.u64(), complete = in.u64();
    loss = in.doubles(), grad_norm = in.doubles(), extra = in.doubles();
    row = in.u64();
    tail_sum = in.f64();
    diverged = in.u64(), diverged_at_plus_one = in.u64();
    final_loss = in.f64(), tail_loss = in.f64();
    x = in.floats();
    memories.resize(in.u64());
    for (auto& memory : memories) memory = in.floats();
  }
  void write(const fs::path& file, std::size_t trailing_bytes = 0) const {
    CheckpointWriter out;
    out.string(fingerprint);
    for (std::uint64_t v : {ranks, rank, run, step, complete}) out.u64(v);
    out.doubles(loss), out.doubles(grad_norm), out.doubles(extra);
    out.u64(row);
    out.f64(tail_sum);
    out.u64(diverged), out.u64(diverged_at_plus_one);
    out.f64(final_loss), out.f64(tail_loss);
    out.floats(x);
    out.u64(memories.size());
    for (const auto& memory : memories) out.floats(memory);
    for (std::size_t i = 0; i < trailing_bytes; i += 8) out.u64(0);
    write_checkpoint_file(file, out.payload());
  }
};

/// Counts the steps a job evaluated (a refusal must come before any).
class CountSteps final : public EnsembleCallback {
 public:
  void before_step(const RunState&, bool) override { ++steps; }
  std::atomic<int> steps{0};
};

class EditedCheckpoint : public DamagedCheckpoint {
 protected:
  /// Edits run `run`'s file, resumes, and returns the refusal (checked: option "resume", the
  /// file named, no step computed).
  std::string refusal_after(const std::function<void(EditableCheckpoint&)>& edit,
                            std::uint32_t run = 0, std::size_t trailing_bytes = 0) {
    // The edit starts from run 0's file each time (run k's file is run 0's state renumbered).
    const fs::path original = checkpoint_path(dir_, 0, 0);
    const fs::path file = checkpoint_path(dir_, run, 0);
    EditableCheckpoint checkpoint(original);
    const std::string saved = testing::read_text(original);
    checkpoint.run = run;
    edit(checkpoint);
    checkpoint.write(file, trailing_bytes);
    struct Restore {
      fs::path file, original;
      const std::string& saved;
      ~Restore() {
        if (file != original) fs::remove(file);
        std::ofstream(original, std::ios::binary | std::ios::trunc) << saved;
      }
    } restore{file, original, saved};
    TrainOptions o = options_;
    o.resume = dir_.string();
    o.checkpoint_dir.clear();
    CountSteps count;
    try {
      train(o, {&count});
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.option(), "resume");
      EXPECT_NE(std::string(e.what()).find(file.filename().string()), std::string::npos) << e.what();
      EXPECT_EQ(count.steps.load(), 0) << "steps were computed before the refusal";
      return e.what();
    }
    ADD_FAILURE() << "the edited checkpoint was accepted";
    return "";
  }
};

TEST_F(EditedCheckpoint, AnUneditedRewriteIsAccepted) {
  // The editor itself round-trips: what the tests below refuse is their edit, nothing else.
  const fs::path file = checkpoint_path(dir_, 0, 0);
  EditableCheckpoint(file).write(file);
  TrainOptions o = options_;
  o.resume = dir_.string();
  o.checkpoint_dir.clear();
  EXPECT_EQ(metrics_csv(train(o)), metrics_csv(train(options_for("signum", "sign"))));
}

TEST_F(EditedCheckpoint, AnEmptyLossTraceIsRefusedNotACrash) {
  const std::string message = refusal_after([](EditableCheckpoint& c) { c.loss.clear(); });
  EXPECT_NE(message.find("17 rows"), std::string::npos) << message;  // 400 / 25 + 1 rows
}

TEST_F(EditedCheckpoint, AnEditedStepIsRefused) {
  const std::string message = refusal_after([](EditableCheckpoint& c) { c.step = 300; });
  EXPECT_NE(message.find("logged rows"), std::string::npos) << message;
  EXPECT_NE(refusal_after([](EditableCheckpoint& c) { c.step = 400; }).find("step 400"),
            std::string::npos);
}

TEST_F(EditedCheckpoint, AnUnfinishedRunMarkedCompleteIsRefused) {
  // Accepted, this gave exit 0 with final_loss_mean 0.0.
  EXPECT_NE(refusal_after([](EditableCheckpoint& c) { c.complete = 1; }).find("finished"),
            std::string::npos);
  EXPECT_NE(refusal_after([](EditableCheckpoint& c) { c.complete = 7; }).find("not 0 or 1"),
            std::string::npos);
}

TEST_F(EditedCheckpoint, InconsistentTraceAndDivergenceFieldsAreRefused) {
  EXPECT_NE(refusal_after([](EditableCheckpoint& c) { c.loss[2] = std::nan(""); })
                .find("not a finite value"),
            std::string::npos);
  EXPECT_NE(refusal_after([](EditableCheckpoint& c) { c.loss[10] = 1.0; }).find("not yet computed"),
            std::string::npos);
  EXPECT_NE(refusal_after([](EditableCheckpoint& c) { c.diverged = 1; }).find("divergence"),
            std::string::npos);
  EXPECT_NE(refusal_after([](EditableCheckpoint& c) { c.tail_sum = 5.0; }).find("tail sum"),
            std::string::npos);
}

TEST_F(EditedCheckpoint, AWrongOrNonFiniteIterateIsRefused) {
  EXPECT_NE(refusal_after([](EditableCheckpoint& c) { c.x.pop_back(); }).find("dimension 32"),
            std::string::npos);
  EXPECT_NE(refusal_after([](EditableCheckpoint& c) { c.x[3] = INFINITY; }).find("not finite"),
            std::string::npos);
  EXPECT_NE(refusal_after([](EditableCheckpoint& c) { c.memories.emplace_back(33, 0.0f); })
                .find("agent memories"),
            std::string::npos);
  EXPECT_NE(refusal_after([](EditableCheckpoint&) {}, 0, 16).find("bytes follow"),
            std::string::npos);
}

TEST_F(EditedCheckpoint, TheLastRunsDamageIsFoundBeforeTheFirstRunIsRecomputed) {
  const std::string message = refusal_after([](EditableCheckpoint& c) { c.row = 0; }, 2);
  EXPECT_NE(message.find("run-000002"), std::string::npos) << message;
}

}  // namespace
}  // namespace dsignsgd
