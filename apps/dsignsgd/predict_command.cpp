// `dsignsgd predict`: docs/THEORY.md §3's closed forms for a configuration, as JSON.
#include <iostream>

#include "commands.hpp"
#include "dsignsgd/theory/predict.hpp"

namespace dsignsgd::cli {

Runner add_predict_command(CLI::App& app) {
  struct State {
    TrainOptions options;
    PredictOptions predict;
    std::string config;
  };
  auto state = std::make_shared<State>();
  CLI::App* c = app.add_subcommand(
      "predict", "closed-form predictions (floors, regimes, stability limits) as JSON");
  add_train_options(*c, state->options);
  c->add_option("--epsilon", state->predict.epsilon, "target accuracy ε of [B] Theorem 4.2")
      ->capture_default_str();
  c->add_option("--config", state->config, "TOML file with the same keys as the flags");
  return [state]() {
    std::cout << prediction_json(predict(state->options, state->predict)).dump(2) << '\n';
    return 0;
  };
}

}  // namespace dsignsgd::cli
